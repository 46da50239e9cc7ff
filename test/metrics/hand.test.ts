// (1) Values derived by hand on tiny arrays; each derivation is written next to its check.
import t from 'tap';
import { tensor } from '../../lib/index.js';
import { reducedResolutionMetrics, fullResolutionMetrics } from '../../lib/metrics/index.js';
import { near } from './helpers.js';

const T = (d: number[], shape: number[]) => tensor(new Float64Array(d), shape);
const fill = (n: number, f: (k: number) => number) => Array.from({ length: n }, (_, k) => f(k));
// 32×32 checkerboard a ± d: mean exactly a (512 of each), population variance d².
const checker = (a: number, d: number) => fill(1024, (k) => a + (((k >> 5) + (k & 31)) % 2 ? d : -d));

t.test('SAM: 90°, 0° and an excluded zero pixel average to 45°', async (t) => {
  // 2 bands, 1×3 pixels. gt (1,0),(1,1),(0,0); fused (0,1),(2,2),(5,5).
  // pixel 1: <a,b> = 0 -> acos(0) = 90°; pixel 2: <a,b> = 4, |a||b| = sqrt(2·8) = 4 -> 0°;
  // pixel 3: |a| = 0 -> left out (SAM.m drops prod_norm == 0). Mean over 2 pixels: 45°.
  const gt = T([1, 1, 0, 0, 1, 0], [2, 1, 3]);
  const f = T([0, 2, 5, 1, 2, 5], [2, 1, 3]);
  const r = await reducedResolutionMetrics(f, gt, { metrics: ['SAM'] });
  near(t, r.SAM, 45, 1e-12, 'SAM');
  // Opposite spectra: <a,b>/(|a||b|) = -1 -> 180°.
  const r2 = await reducedResolutionMetrics(T([-1, -2], [2, 1, 1]), T([1, 2], [2, 1, 1]), { metrics: ['SAM'] });
  near(t, r2.SAM, 180, 1e-12, 'SAM of opposite spectra');
});

t.test('ERGAS: constant bands with a unit error', async (t) => {
  // gt band 0 = 10, band 1 = 20 (2×2 pixels); fused = gt + 1, so mean((gt-f)²) = 1 in both bands.
  // Σ_b MSE_b / mean(gt_b)² = 1/100 + 1/400 = 0.0125; /C = 0.00625; sqrt = 0.0790569415042...
  // ratio 4: (100/4)·0.0790569415 = 1.97642353760524; ratio 2: 3.95284707521047.
  const gt = T([10, 10, 10, 10, 20, 20, 20, 20], [2, 2, 2]);
  const f = gt.add(1);
  near(t, (await reducedResolutionMetrics(f, gt, { metrics: ['ERGAS'] })).ERGAS, 25 * Math.sqrt(0.00625), 1e-12, 'ERGAS ratio 4');
  near(t, (await reducedResolutionMetrics(f, gt, { metrics: ['ERGAS'], ratio: 2 })).ERGAS, 50 * Math.sqrt(0.00625), 1e-12, 'ERGAS ratio 2');
});

t.test('Q (UIQI): one 32×32 window', async (t) => {
  // gt = 100 ± 10 checkerboard: mean μ = 100, variance σ². One window (image = block), 1 band.
  // fused = 2·gt: σ_xy = 2σ², σ_y² = 4σ², μ_y = 2μ ->
  //   Q = 4·σ_xy·μ_x·μ_y / ((σ_x²+σ_y²)(μ_x²+μ_y²)) = 4·2σ²·2μ² / (5σ²·5μ²) = 16/25.
  const gt = T(checker(100, 10), [1, 32, 32]);
  near(t, (await reducedResolutionMetrics(gt.mul(2), gt, { metrics: ['Q'] })).Q, 16 / 25, 1e-12, 'Q(gt, 2·gt)');
  // fused = gt + 100: σ_xy = σ_y² = σ², μ_y = 200 -> Q = 2·100·200 / (100² + 200²) = 0.8.
  near(t, (await reducedResolutionMetrics(gt.add(100), gt, { metrics: ['Q'] })).Q, 0.8, 1e-12, 'Q(gt, gt + 100)');
  // Flat windows (img_qi.m's special case): gt = 5, fused = 7 everywhere: denominator1 = 0 and
  // (Σx)² + (Σy)² != 0 -> Q = 2·Σx·Σy / ((Σx)² + (Σy)²) = 2·35/74 = 35/37.
  const c5 = T(
      fill(1024, () => 5),
      [1, 32, 32],
    ),
    c7 = T(
      fill(1024, () => 7),
      [1, 32, 32],
    );
  near(t, (await reducedResolutionMetrics(c7, c5, { metrics: ['Q'] })).Q, 35 / 37, 1e-12, 'Q of flat windows');
  // Both all zero: every term 0 -> the map keeps its initial 1.
  const z = T(
    fill(1024, () => 0),
    [1, 32, 32],
  );
  near(t, (await reducedResolutionMetrics(z, z, { metrics: ['Q'] })).Q, 1, 0, 'Q of zero images');
});

t.test('SCC: a single bright pixel against a flat image', async (t) => {
  // 5×5 single band; SCC.m works on the 3×3 interior, Sobel-filtered with zero padding.
  // fused: interior centre v, zero elsewhere. gy(i,j) = K[2-i][2-j]·v for K = [1 2 1;0 0 0;-1 -2 -1],
  //   gx the same with Kᵀ: magnitude v·[√2 2 √2; 2 0 2; √2 2 √2].
  // gt: constant c. Inside the zero-padded 3×3: corners gy = gx = -3c (3√2 c), edge centres 4c,
  //   centre 0: magnitude c·[3√2 4 3√2; 4 0 4; 3√2 4 3√2].
  // SCC = Σ MF·MG / (‖MF‖‖MG‖) = (4·√2·3√2 + 4·2·4) vc / (v√(4·2+4·4) · c√(4·18+4·16)) = 56/√(24·136).
  const f = T(
    fill(25, (k) => (k === 12 ? 3 : 0)),
    [1, 5, 5],
  );
  const gt = T(
    fill(25, () => 2),
    [1, 5, 5],
  );
  near(t, (await reducedResolutionMetrics(f, gt, { metrics: ['SCC'] })).SCC, 56 / Math.sqrt(24 * 136), 1e-12, 'SCC');
});

t.test('Q2n: one band, one block, fused = 2·gt', async (t) => {
  // gt = 2 ± 1 checkerboard (values 1 and 3, uint16-exact), 32×32, one band (no band padding).
  // norm_blocco: s = 2, t = std2 = sqrt(1024/1023) (n - 1 normalisation). dat1 = z + 1 with z of
  // mean 0 and unbiased variance 1; dat2 = (2·gt - s)/t + 1 = 2z + k, k = 1 + s/t.
  // With one component the onion product is the plain product, so
  //   q = [n/(n-1)·(mean(dat1·dat2) - m1·m2)] · mean_bias · 2/termine3
  //     = cov(dat1, dat2) · (2·m1·m2/(m1² + m2²)) · 2/(var1 + var2) = 2 · 2k/(1+k²) · 2/5.
  const gt = T(checker(2, 1), [1, 32, 32]);
  const k = 1 + 2 / Math.sqrt(1024 / 1023);
  const want = (4 / 5) * ((2 * k) / (1 + k * k));
  near(t, (await reducedResolutionMetrics(gt.mul(2), gt, { metrics: ['Q2n'] })).Q2n, want, 1e-12, 'Q2n');
  // Identical flat 4-band blocks: std2 = 0 -> eps; dat1 = 1 and dat2 = ±1 everywhere, so
  // termine3 = 0 exactly and onions_quality returns [0 0 0 mean_bias] with mean_bias = 2N/2N = 1.
  const flat = T(
    fill(4 * 1024, (k) => 100 + 50 * (k >> 10)),
    [4, 32, 32],
  );
  near(t, (await reducedResolutionMetrics(flat, flat, { metrics: ['Q2n'] })).Q2n, 1, 1e-15, 'Q2n of identical flat blocks');
});

t.test('PSNR: per band on data / peak, then the mean', async (t) => {
  // gt = 0; fused band 0 = 0.1·peak, band 1 = 0.01·peak (peak = 2^11 - 1 = 2047 by default).
  // MSE on [0,1] data: 0.01 and 0.0001 -> 10·log10(1/MSE) = 20 dB and 40 dB -> mean 30 dB.
  const gt = T(
    fill(32, () => 0),
    [2, 4, 4],
  );
  const f = T(
    fill(32, (k) => (k < 16 ? 204.7 : 20.47)),
    [2, 4, 4],
  );
  near(t, (await reducedResolutionMetrics(f, gt, { metrics: ['PSNR'] })).PSNR, 30, 1e-9, 'PSNR');
  // The same with an explicit peak of 1000 and data 100 / 10.
  const f2 = T(
    fill(32, (k) => (k < 16 ? 100 : 10)),
    [2, 4, 4],
  );
  near(t, (await reducedResolutionMetrics(f2, gt, { metrics: ['PSNR'], peak: 1000 })).PSNR, 30, 1e-9, 'PSNR, peak 1000');
});

t.test('D_lambda, D_s, QNR, D_lambda_K, HQNR on one 32×32 block', async (t) => {
  // pan = 100 ± 10 checkerboard; panLP = pan; lms = [pan, pan]; fused = [2·pan, pan]; fusedMTF = lms.
  // D_s.m's uqi(2·pan, pan) = 4·cov·mx·my/(vx+vy)/(mx²+my²) = 4·2σ²·2μ²/(5σ²·5μ²) = 0.64.
  //   band 0: |Q(2·pan, pan) - Q(pan, panLP)| = |0.64 - 1| = 0.36; band 1: |1 - 1| = 0 -> D_s = 0.18.
  // D_lambda: one pair: |Q(F0, F1) - Q(MS0, MS1)| = |0.64 - 1| = 0.36.
  // QNR = (1 - 0.36)(1 - 0.18) = 0.5248. D_lambda_K = 1 - Q2n(lms, lms) = 0; HQNR = 1·(1 - 0.18) = 0.82.
  const pan = checker(100, 10);
  const panT = T(pan, [32, 32]);
  const lms = T([...pan, ...pan], [2, 32, 32]);
  const fused = T([...pan.map((v) => 2 * v), ...pan], [2, 32, 32]);
  const r = await fullResolutionMetrics(fused, { lms, pan: panT, panLP: panT, fusedMTF: lms });
  near(t, r.D_s, 0.18, 1e-12, 'D_s');
  near(t, r.D_lambda, 0.36, 1e-12, 'D_lambda');
  near(t, r.QNR, 0.64 * 0.82, 1e-12, 'QNR');
  near(t, r.D_lambda_K, 0, 1e-12, 'D_lambda_K');
  near(t, r.HQNR, 0.82, 1e-12, 'HQNR');
  // q = 2: D_s = ((0.36² + 0)/2)^(1/2) = 0.36/√2.
  const r2 = await fullResolutionMetrics(fused, { lms, pan: panT, panLP: panT, fusedMTF: lms, q: 2, metrics: ['D_s'] });
  near(t, r2.D_s, 0.36 / Math.SQRT2, 1e-12, 'D_s with q = 2');
  t.same(Object.keys(r2), ['D_s', 'conventions'], 'only the requested metric');
});

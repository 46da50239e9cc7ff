// MTF filter design (genMTF.m / MTF_PAN.m / LPfilterGauss.m): gains per sensor, kernel properties
// (41 taps, symmetry, sum, frequency response at the MS Nyquist) and equality with the NumPy oracle.
import t from 'tap';
import { lpGaussKernel, mtfGains, mtfKernel, mtfKernels } from '../../lib/protocol/index.js';
import { f64, maxDiff, pythonUnavailable, runOracle, type OracleTask } from './helpers.js';

const SENSORS = ['QB', 'IKONOS', 'GeoEye1', 'WV4', 'WV2', 'WV3', 'GF2'] as const;
const N = 41;

/** Real frequency response of a centred N×N kernel at (fy, fx) cycles/sample. */
function response(h: Float64Array, fy: number, fx: number): number {
  const half = (N - 1) / 2;
  let re = 0;
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) re += h[i * N + j]! * Math.cos(2 * Math.PI * (fy * (i - half) + fx * (j - half)));
  return re;
}

t.test('gains per sensor (conventions B3)', async (t) => {
  t.same(mtfGains('QB').ms, [0.34, 0.32, 0.3, 0.22]);
  t.equal(mtfGains('QB').pan, 0.15);
  t.same(mtfGains('IKONOS').ms, [0.26, 0.28, 0.29, 0.28]);
  t.equal(mtfGains('IKONOS').pan, 0.17);
  t.same(mtfGains('GeoEye1').ms, [0.23, 0.23, 0.23, 0.23]);
  t.equal(mtfGains('GeoEye1').pan, 0.16);
  t.same(mtfGains('WV2').ms, [0.35, 0.35, 0.35, 0.35, 0.35, 0.35, 0.35, 0.27]);
  t.equal(mtfGains('WV2').pan, 0.11);
  t.same(mtfGains('WV3').ms, [0.325, 0.355, 0.36, 0.35, 0.365, 0.36, 0.335, 0.315]);
  t.equal(mtfGains('WV3').pan, 0.14);
  t.same(mtfGains('GF2').ms, [0.3, 0.3, 0.3, 0.3]);
  t.equal(mtfGains('GF2').pan, 0.15);
  t.same(mtfGains('none', 6).ms, [0.3, 0.3, 0.3, 0.3, 0.3, 0.3]);
  t.equal(mtfGains('worldview-3').sensor, 'wv3', 'aliases of lib/data are accepted');
  t.equal(mtfGains('qb').sensor, 'qb');
});

t.test('kernel properties', async (t) => {
  for (const s of SENSORS) {
    const g = mtfGains(s);
    for (let b = 0; b < g.bands; b++) {
      const k = mtfKernel(s, b, 4);
      t.same(k.shape, [N, N]);
      t.equal(k.dtype, 'float64');
      const h = k.dataSync() as Float64Array;
      k.dispose();
      let sum = 0,
        asym = 0,
        maxAt = 0;
      for (let i = 0; i < N; i++) {
        for (let j = 0; j < N; j++) {
          const v = h[i * N + j]!;
          sum += v;
          asym = Math.max(asym, Math.abs(v - h[j * N + i]!), Math.abs(v - h[(N - 1 - i) * N + j]!), Math.abs(v - h[i * N + (N - 1 - j)]!));
          if (v > h[maxAt]!) maxAt = i * N + j;
        }
      }
      if (b === 0) {
        t.ok(asym < 1e-15, `${s}: symmetric (transpose, flips) ${asym}`);
        t.equal(maxAt, 20 * N + 20, `${s}: peak at the centre`);
        // MATLAB's fwind1 does not renormalise: the Kaiser window trims the sum to just under 1
        t.ok(sum > 0.995 && sum < 1.0005, `${s}: sum ${sum} ≈ 1 (not renormalised, as MATLAB)`);
        t.ok(Math.abs(response(h, 0, 0) - sum) < 1e-12, 'DC gain = sum');
      }
      // The design puts GNyq at bin (N-1)/(2 ratio) = 5 of the 41-point grid (5/41 cycles/sample);
      // the MS Nyquist 1/(2 ratio) = 0.125 sits at 5.125, so the gain there is GNyq^(1.05) or so.
      const atBin = response(h, 0, 5 / N);
      const atNyq = response(h, 0, 1 / 8);
      t.ok(Math.abs(atBin - g.ms[b]!) < 0.01, `${s} band ${b}: |H(5/41)| = ${atBin.toFixed(4)} ≈ GNyq ${g.ms[b]}`);
      t.ok(Math.abs(atNyq - g.ms[b]!) < 0.03, `${s} band ${b}: |H(Nyquist/4)| = ${atNyq.toFixed(4)} ≈ GNyq ${g.ms[b]}`);
      t.ok(Math.abs(response(h, 5 / N, 0) - atBin) < 1e-12, 'same response along both axes');
    }
    const kp = mtfKernel(s, 'pan', 4);
    const hp = kp.dataSync() as Float64Array;
    kp.dispose();
    t.ok(Math.abs(response(hp, 0, 5 / N) - mtfGains(s).pan) < 0.01, `${s}: PAN kernel gain ≈ ${mtfGains(s).pan}`);
  }
  // ratio 2: fcut = 1/2, design bin 10
  const k2 = mtfKernel('WV3', 0, 2);
  t.ok(Math.abs(response(k2.dataSync() as Float64Array, 0, 10 / N) - 0.325) < 0.01, 'ratio 2 design');
  k2.dispose();
  const stack = mtfKernels('WV3', 8, 4);
  t.same(stack.shape, [8, N, N]);
  stack.dispose();
});

t.test('kernels equal the NumPy oracle (fspecial + fsamp2 + Huang/Kaiser window)', { skip: pythonUnavailable() }, async (t) => {
  const tasks: OracleTask[] = [];
  for (const s of SENSORS) {
    const id = mtfGains(s).sensor;
    tasks.push({ op: 'mtf_kernels', params: { sensor: id, bands: mtfGains(s).bands, ratio: 4 }, out: `ms_${id}` });
    tasks.push({ op: 'pan_kernel', params: { sensor: id, ratio: 4 }, out: `pan_${id}` });
  }
  tasks.push({ op: 'mtf_kernels', params: { sensor: 'wv2', bands: 8, ratio: 2 }, out: 'ms_wv2_r2' });
  tasks.push({ op: 'lp_gauss', params: { ratio: 4 }, out: 'lpg' });
  const ref = await runOracle({}, tasks);
  let worst = 0;
  for (const s of SENSORS) {
    const id = mtfGains(s).sensor;
    const k = mtfKernels(s, mtfGains(s).bands, 4);
    const p = mtfKernel(s, 'pan', 4);
    const a = await f64(k),
      b = await f64(p);
    k.dispose();
    p.dispose();
    t.same(a.shape, ref[`ms_${id}`]!.shape);
    worst = Math.max(worst, maxDiff(a.data, ref[`ms_${id}`]!.data).abs, maxDiff(b.data, ref[`pan_${id}`]!.data).abs);
  }
  const k2 = mtfKernels('WV2', 8, 2);
  worst = Math.max(worst, maxDiff((await f64(k2)).data, ref.ms_wv2_r2!.data).abs);
  k2.dispose();
  const lg = lpGaussKernel(4);
  worst = Math.max(worst, maxDiff((await f64(lg)).data, ref.lpg!.data).abs);
  lg.dispose();
  t.ok(worst < 1e-12, `max |C++ − NumPy| over every kernel = ${worst.toExponential(2)} (< 1e-12; spec 1e-6)`);
});

t.test('bad arguments', async (t) => {
  t.throws(() => mtfGains('Landsat'), RangeError, 'unknown sensor');
  t.throws(() => mtfGains(42 as unknown as string), TypeError, 'non-string sensor');
  t.throws(() => mtfGains('none'), TypeError, "'none' needs a band count");
  t.throws(() => mtfGains('WV3', 4), RangeError, 'band count mismatch');
  t.throws(() => mtfKernel('QB', 4), RangeError, 'band index out of range');
  t.throws(() => mtfKernel('QB', 0, 1), RangeError, 'ratio < 2');
  t.throws(() => mtfKernel('QB', 0, 2.5), RangeError, 'fractional ratio');
  t.throws(() => mtfKernels('QB', 8), RangeError, '8 kernels for a 4-band sensor');
});

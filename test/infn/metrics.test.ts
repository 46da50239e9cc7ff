// MHIF indices (PSNR, SAM, ERGAS, SSIM): a hand-computed 2-band example and a NumPy/SciPy oracle
// written from the definitions (fixtures/hs_metrics.py) on 20-band cubes.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { hyperspectralMetricsBatch, meanMetrics, tensor } from '../../lib/index.js';
import { pythonWith, REPO } from '../data/fixtures/helpers.js';

const PY = pythonWith('numpy', 'scipy');

t.test('hand-computed: 2 bands, columns alternating two pixels, ratio 4', async (t) => {
  // gt pixels A = (1, 0.2), B = (0.5, 0.5); fused A = (1, 0.4), B = (0.4, 0.5), in alternating columns
  // of a 12×12 image (SSIM needs at least its 11×11 window): every mean is that of the pair.
  const H = 12,
    W = 12;
  const image = (a: [number, number], b: [number, number]) => {
    const d = new Float64Array(2 * H * W);
    for (let c = 0; c < 2; c++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) d[(c * H + y) * W + x] = (x % 2 ? b : a)[c]!;
    return tensor(d, [1, 2, H, W]);
  };
  const gt = image([1, 0.2], [0.5, 0.5]);
  const fu = image([1, 0.4], [0.4, 0.5]);
  const [m] = await hyperspectralMetricsBatch(fu, gt, { ratio: 4 });
  const mse0 = (0 + 0.01) / 2,
    mse1 = (0.04 + 0) / 2;
  t.ok(Math.abs(m!.PSNR - (10 * Math.log10(1 / mse0) + 10 * Math.log10(1 / mse1)) / 2) < 1e-9, `PSNR ${m!.PSNR}`);
  const ang = (a: number[], b: number[]) =>
    (Math.acos((a[0]! * b[0]! + a[1]! * b[1]!) / (Math.hypot(a[0]!, a[1]!) * Math.hypot(b[0]!, b[1]!))) * 180) / Math.PI;
  t.ok(Math.abs(m!.SAM - (ang([1, 0.2], [1, 0.4]) + ang([0.5, 0.5], [0.4, 0.5])) / 2) < 1e-9, `SAM ${m!.SAM}°`);
  const mu0 = 0.75,
    mu1 = 0.35;
  t.ok(Math.abs(m!.ERGAS - (100 / 4) * Math.sqrt((mse0 / mu0 ** 2 + mse1 / mu1 ** 2) / 2)) < 1e-9, `ERGAS ${m!.ERGAS}`);
  const [same] = await hyperspectralMetricsBatch(gt, gt, { ratio: 4 });
  t.equal(same!.SSIM, 1, 'SSIM of an image with itself is 1');
  t.equal(same!.SAM, 0);
  t.same(
    meanMetrics([
      { PSNR: 1, SAM: 2, ERGAS: 3, SSIM: 0.5 },
      { PSNR: 3, SAM: 4, ERGAS: 5, SSIM: 1 },
    ]),
    { PSNR: 2, SAM: 3, ERGAS: 4, SSIM: 0.75 },
  );
  await t.rejects(hyperspectralMetricsBatch(fu, gt, {} as never), /options\.ratio/);
  gt.dispose();
  fu.dispose();
});

t.test('20-band cubes against the NumPy/SciPy oracle', { skip: PY ? false : 'no python with numpy and scipy' }, async (t) => {
  const N = 2,
    C = 20,
    H = 24,
    W = 20,
    n = N * C * H * W;
  const g = new Float64Array(n),
    f = new Float64Array(n);
  let s = 12345;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < n; i++) {
    g[i] = 0.05 + 0.9 * rnd();
    f[i] = Math.min(1, Math.max(0, g[i]! + 0.05 * (rnd() - 0.5)));
  }
  const dir = mkdtempSync(join(tmpdir(), 'specfuse-hsm-'));
  try {
    writeFileSync(join(dir, 'f.f64'), Buffer.from(f.buffer));
    writeFileSync(join(dir, 'g.f64'), Buffer.from(g.buffer));
    for (const ratio of [4, 8]) {
      const want = JSON.parse(
        execFileSync(PY!, [resolve(REPO, 'test/infn/fixtures/hs_metrics.py'), join(dir, 'f.f64'), join(dir, 'g.f64'), `${N},${C},${H},${W}`, String(ratio)], {
          encoding: 'utf8',
        }),
      );
      const got = await hyperspectralMetricsBatch(tensor(f, [N, C, H, W]), tensor(g, [N, C, H, W]), { ratio });
      for (let i = 0; i < N; i++) {
        for (const k of ['PSNR', 'SAM', 'ERGAS', 'SSIM'] as const) {
          const a = got[i]![k],
            b = want[i][k] as number;
          t.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `ratio ${ratio}, image ${i}: ${k} ${a} vs oracle ${b}`);
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// (2) Identities and known transformations; conventions recorded with results; summarize().
import t from 'tap';
import { Tensor, tensor, stack } from '../../lib/index.js';
import {
  reducedResolutionMetrics,
  reducedResolutionMetricsBatch,
  fullResolutionMetrics,
  summarize,
  formatSummary,
  reducedMetricNames,
  fullMetricNames,
} from '../../lib/metrics/index.js';
import { native } from '../../lib/native.js';
import * as R from './reference.js';
import { close, near, rejectsWith, toTensor } from './helpers.js';

for (const c of [4, 8]) {
  t.test(`identical ${c}-band images: SAM 0, ERGAS 0, Q = Q2n = SCC = SSIM = 1, PSNR = ∞`, async (t) => {
    const g = toTensor(R.scene(c, 64, 64, 100 + c));
    const r = await reducedResolutionMetrics(g, g);
    near(t, r.SAM, 0, 1e-6, 'SAM'); // acos of a ratio rounded just below 1 can leave ~1e-8 rad, as in MATLAB
    t.equal(r.ERGAS, 0, 'ERGAS');
    near(t, r.Q, 1, 1e-12, 'Q');
    near(t, r.Q2n, 1, 1e-12, 'Q2n');
    near(t, r.SCC, 1, 1e-12, 'SCC');
    near(t, r.SSIM, 1, 1e-12, 'SSIM');
    t.equal(r.PSNR, Infinity, 'PSNR');
  });
}

t.test('SAM ignores a per-pixel positive scaling of the fused spectra', async (t) => {
  const gt = R.scene(4, 40, 40, 1);
  const f = R.perturb(gt, 2, 80);
  const scaled = R.img(
    4,
    40,
    40,
    f.d.map((v, k) => v * (0.5 + ((k % 1600) % 7) / 3)),
  ); // the same factor for all bands of a pixel
  const a = await reducedResolutionMetrics(toTensor(f), toTensor(gt), { metrics: ['SAM'] });
  const b = await reducedResolutionMetrics(toTensor(scaled), toTensor(gt), { metrics: ['SAM'] });
  close(t, b.SAM, a.SAM, 1e-9, 'SAM(w·F, G) = SAM(F, G)');
});

t.test('ERGAS of a constant offset: (100/ratio)·sqrt(mean_b c²/mean(GT_b)²)', async (t) => {
  const gt = R.scene(4, 32, 32, 3);
  const c = 25;
  const means = [0, 1, 2, 3].map((b) => R.band(gt, b).d.reduce((p, v) => p + v, 0) / 1024);
  const want = 25 * Math.sqrt(means.reduce((p, m) => p + (c * c) / (m * m), 0) / 4);
  const r = await reducedResolutionMetrics(toTensor(gt).add(c), toTensor(gt), { metrics: ['ERGAS'] });
  close(t, r.ERGAS, want, 1e-12, 'ERGAS');
});

t.test('Q, SAM, ERGAS and SCC do not change when both images are scaled alike', async (t) => {
  const gt = toTensor(R.scene(4, 48, 48, 4));
  const f = toTensor(R.perturb(R.scene(4, 48, 48, 4), 5, 50));
  const a = await reducedResolutionMetrics(f, gt, { metrics: ['Q', 'SAM', 'ERGAS', 'SCC'] });
  const b = await reducedResolutionMetrics(f.mul(3), gt.mul(3), { metrics: ['Q', 'SAM', 'ERGAS', 'SCC'] });
  for (const k of ['Q', 'SAM', 'ERGAS', 'SCC'] as const) close(t, b[k], a[k], 1e-9, k);
});

t.test('dimCut is MATLAB I(d:end-d, d:end-d) = Python [d-1:-d]', async (t) => {
  const gt = toTensor(R.scene(4, 80, 80, 6));
  const f = toTensor(R.perturb(R.scene(4, 80, 80, 6), 7, 60));
  const d = 21;
  const cut = await reducedResolutionMetrics(f, gt, { dimCut: d });
  const sliced = (x: typeof gt) => x.slice(1, d - 1, 80 - d).slice(2, d - 1, 80 - d);
  const manual = await reducedResolutionMetrics(sliced(f), sliced(gt));
  for (const k of reducedMetricNames) close(t, cut[k], manual[k], 1e-12, k);
  t.same(cut.conventions.evaluatedSize, [39, 39], '80 - 2·21 + 1 = 39 pixels');
  t.equal(cut.conventions.flagCutBounds, true);
  t.equal(cut.conventions.dimCut, 21);
  const none = await reducedResolutionMetrics(f, gt, { dimCut: null, metrics: ['SAM'] });
  t.equal(none.conventions.flagCutBounds, false);
  t.equal(none.conventions.dimCut, null);
});

t.test('thValues clips the fused image to [0, 2^L] only', async (t) => {
  const gt = R.scene(4, 40, 40, 8);
  const f = R.perturb(gt, 9, 60);
  for (let k = 0; k < f.d.length; k += 31) f.d[k] = k % 2 ? -100 : 5000;
  const a = await reducedResolutionMetrics(toTensor(f), toTensor(gt), { thValues: true, bits: 11 });
  const b = await reducedResolutionMetrics(toTensor(R.clip(f, 2048)), toTensor(gt));
  for (const k of reducedMetricNames) close(t, a[k], b[k], 1e-12, k);
  const c = await reducedResolutionMetrics(toTensor(f), toTensor(gt), { metrics: ['ERGAS'] });
  t.not(c.ERGAS, a.ERGAS, 'without thValues the outliers count');
  t.equal(a.conventions.dataRange, 2048);
});

t.test('full resolution: fused = lms gives D_lambda 0; fusedMTF = lms gives D_lambda_K 0', async (t) => {
  const lms = toTensor(R.scene(4, 64, 64, 10));
  const pan = toTensor(R.scene(1, 64, 64, 11));
  const r = await fullResolutionMetrics(lms, { lms, pan, panLP: pan, fusedMTF: lms });
  t.equal(r.D_lambda, 0);
  near(t, r.D_lambda_K, 0, 1e-12, 'D_lambda_K');
  t.equal(r.QNR, 1 - r.D_s);
  near(t, r.HQNR, 1 - r.D_s, 1e-12, 'HQNR');
});

t.test('full resolution: missing inputs are derived with the toolbox recipe', async (t) => {
  t.equal(native.metricNames().resample, true, 'this build has ops/resample');
  const ms = toTensor(R.scene(4, 16, 16, 12));
  const pan = toTensor(R.scene(1, 64, 64, 13));
  const fused = toTensor(R.perturb(R.scene(4, 64, 64, 12), 14, 30));
  const r = await fullResolutionMetrics(fused, { ms, pan, sensor: 'QB' });
  for (const k of fullMetricNames) t.ok(Number.isFinite(r[k]) && r[k] > -1e-9 && r[k] <= 1, `${k} = ${r[k]}`);
  t.same(r.conventions.inputs, { lms: 'computed', panLP: 'computed', fusedMTF: 'computed' });
  t.equal(r.conventions.sensor, 'QB');
  // lms given: D_lambda uses it instead of interp23tap(ms).
  const r2 = await fullResolutionMetrics(fused, { lms: fused, ms, pan, sensor: 'QB', metrics: ['D_lambda', 'HQNR'] });
  t.equal(r2.D_lambda, 0);
  t.same(Object.keys(r2), ['D_lambda', 'HQNR', 'conventions']);
  // A derived panLP equals one passed explicitly when both are the same tensor's values: run twice.
  const r3 = await fullResolutionMetrics(fused, { ms, pan, sensor: 'QB', metrics: ['D_s'] });
  t.equal(r3.D_s, r.D_s, 'deterministic');
  t.same(r3.conventions.inputs, { lms: 'computed', panLP: 'computed', fusedMTF: null });
});

t.test(
  'derived inputs equal the toolbox recipe run through the resampling API',
  {
    skip: typeof native.interp23tap === 'function' ? false : 'no resampling bindings in this build',
  },
  async (t) => {
    const ms = toTensor(R.scene(8, 16, 32, 16));
    const pan = toTensor(R.scene(1, 64, 128, 17));
    const fused = toTensor(R.perturb(R.scene(8, 64, 128, 16), 18, 40));
    const lms = new Tensor(await native.interp23tap(ms.native, 4, 'float64'));
    const panLP = new Tensor(await native.interp23tap(await native.imresize(pan.native, 1 / 4, true, 'float64'), 4, 'float64'));
    const fusedMTF = new Tensor(await native.mtfFilter(fused.native, 'WV3', 4, 'float64'));
    const derived = await fullResolutionMetrics(fused, { ms, pan, sensor: 'WV3' });
    const given = await fullResolutionMetrics(fused, { lms, pan, panLP, fusedMTF });
    for (const k of fullMetricNames) close(t, derived[k], given[k], 1e-12, k);
  },
);

t.test('conventions are recorded with every result', async (t) => {
  const g = toTensor(R.scene(4, 40, 40, 15));
  const r = await reducedResolutionMetrics(g, g, { ratio: 4, bits: 10, blockSize: 16, dimCut: 3, metrics: ['Q2n', 'SAM'] });
  t.same(Object.keys(r), ['SAM', 'Q2n', 'conventions'], 'the canonical order');
  t.match(r.conventions, {
    kind: 'reduced-resolution',
    layout: 'CHW',
    computeDtype: 'float64',
    device: 'cpu',
    bands: 4,
    evaluatedSize: [35, 35],
    ratio: 4,
    bits: 10,
    dataRange: 1024,
    blockSize: 16,
    q2nShift: 16,
    flagCutBounds: true,
    dimCut: 3,
    thValues: false,
    scale: 1,
    peak: 1023,
  });
  t.match(r.conventions.reference, /DLPan-Toolbox/);
  t.match(r.conventions.definitions.Q2n, /uint16/);
});

t.test('summarize: mean ± sample std over a set, conventions checked', async (t) => {
  const pairs = [30, 31, 32].map((s) => [R.scene(4, 32, 32, s), R.perturb(R.scene(4, 32, 32, s), s + 100, 40)] as const);
  const F = stack(pairs.map(([, f]) => toTensor(f))),
    G = stack(pairs.map(([g]) => toTensor(g)));
  const list = await reducedResolutionMetricsBatch(F, G, { metrics: ['SAM', 'ERGAS'] });
  const s = summarize(list);
  t.equal(s.count, 3);
  t.equal(s.ddof, 1);
  const xs = list.map((r) => r.SAM);
  const mean = (xs[0]! + xs[1]! + xs[2]!) / 3;
  const std = Math.sqrt(xs.reduce((p, x) => p + (x - mean) ** 2, 0) / 2);
  close(t, s.metrics.SAM.mean, mean, 1e-15, 'mean');
  close(t, s.metrics.SAM.std, std, 1e-15, 'std (N-1)');
  t.equal(s.metrics.ERGAS.min, Math.min(...list.map((r) => r.ERGAS)));
  t.same(Object.keys(s.metrics), ['SAM', 'ERGAS']);
  t.equal(s.conventions.blockSize, 32);
  const p = summarize(list, { ddof: 0 });
  close(t, p.metrics.SAM.std, std * Math.sqrt(2 / 3), 1e-12, 'population std');
  t.match(formatSummary(s).SAM, /^\d+\.\d{4}±\d+\.\d{4}$/);
  const other = await reducedResolutionMetrics(toTensor(pairs[0]![1]), toTensor(pairs[0]![0]), { metrics: ['SAM', 'ERGAS'], dimCut: 2 });
  t.throws(() => summarize([...list, other]), { name: 'RangeError', message: /list\[3\]: computed with different conventions/ });
  t.throws(() => summarize([]), { name: 'RangeError', message: /list: empty/ });
  t.throws(() => summarize([list[0]!, { SAM: 1, conventions: list[0]!.conventions } as never]), { name: 'RangeError', message: /list\[1\]: has metrics SAM/ });
});

t.test('concurrent calls may share inputs, which stay pinned until both finish', async (t) => {
  const g = toTensor(R.scene(8, 256, 256, 40));
  const f = toTensor(R.perturb(R.scene(8, 256, 256, 40), 41, 50));
  const p = [reducedResolutionMetrics(f, g), reducedResolutionMetrics(f, g, { dimCut: 21 })];
  await rejectsWith(t, 'dispose while busy', async () => f.dispose(), Error, /busy|in use|async/);
  const [a, b] = await Promise.all(p);
  t.ok(a.Q2n > 0 && b.Q2n > 0);
  f.dispose();
  g.dispose();
  await rejectsWith(t, 'disposed tensor', () => reducedResolutionMetrics(f, tensor(new Float64Array(1), [1, 1, 1])), Error, /fused: tensor was disposed/);
});

// Wald's-protocol resampling vs the NumPy oracle (oracle.py, written from the toolbox formulas):
// MTF filtering, nearest decimation, MATLAB bicubic imresize (with / without antialiasing, down and
// up), PyTorch bicubic, interp23tap, LPfilterPlusDec, the full degradation (synthetic and the real
// WV2 scene); shapes on the real WV2 / IKONOS scenes; batching, dtypes, errors.
import t, { type Test } from 'tap';
import {
  bicubicDownsample,
  decimate,
  degrade,
  imresize,
  interp23tap,
  lpFilterPlusDec,
  mtfFilter,
  mtfKernels,
  filterReplicate,
} from '../../lib/protocol/index.js';
import { stack, tensor, type Tensor } from '../../lib/tensor.js';
import { dataUnavailable, f64, loadVitale, maxDiff, pythonUnavailable, runOracle, smoothImage, toTensor, type F64, type OracleTask } from './helpers.js';

const TOL = 1e-6;

/** |a − b| ≤ TOL · max(1, max|b|) (values are DN ~ 1e3: an absolute 1e-6 is a relative 1e-9). */
function close(t: Test, got: F64, want: F64 | undefined, what: string, tol = TOL): void {
  if (!want) {
    t.fail(`${what}: oracle gave nothing`);
    return;
  }
  t.same(got.shape, want.shape, `${what}: shape`);
  const d = maxDiff(got.data, want.data);
  t.ok(d.abs <= tol * Math.max(1, d.ref), `${what}: max |diff| ${d.abs.toExponential(2)} (ref ${d.ref.toFixed(1)})`);
}

async function run(x: Promise<Tensor>): Promise<F64> {
  const y = await x;
  try {
    return await f64(y);
  } finally {
    y.dispose();
  }
}

t.test('synthetic images vs the NumPy oracle', { skip: pythonUnavailable() }, async (t) => {
  const a8 = smoothImage(8, 48, 40, 1); // non-square, 8 bands
  const a4 = smoothImage(4, 16, 20, 2); // small LR image
  const p1 = smoothImage(1, 64, 96, 3); // PAN-like
  const p2 = smoothImage(1, 128, 128, 4);
  const m2 = smoothImage(8, 32, 32, 5);
  const q4 = smoothImage(4, 40, 36, 6);
  const tasks: OracleTask[] = [
    { op: 'mtf_filter', inputs: ['a8'], params: { sensor: 'wv3', ratio: 4 }, out: 'mtf_wv3' },
    { op: 'mtf_filter', inputs: ['q4'], params: { sensor: 'qb', ratio: 2 }, out: 'mtf_qb_r2' },
    { op: 'decimate', inputs: ['a8'], params: { ratio: 4 }, out: 'dec4' },
    { op: 'decimate', inputs: ['a8'], params: { ratio: 2 }, out: 'dec2' },
    { op: 'imresize', inputs: ['p1'], params: { scale: 0.25 }, out: 'imr_q' },
    { op: 'imresize', inputs: ['p1'], params: { scale: 0.5 }, out: 'imr_h' },
    { op: 'imresize', inputs: ['p1'], params: { scale: 0.25, antialias: false }, out: 'imr_q_noaa' },
    { op: 'imresize', inputs: ['a4'], params: { scale: 2 }, out: 'imr_up' },
    { op: 'torch_bicubic', inputs: ['a4'], params: { ratio: 4 }, out: 'torch_bic' },
    { op: 'torch_aa_bicubic', inputs: ['p2'], params: { ratio: 4 }, out: 'torch_aa' },
    { op: 'interp23tap', inputs: ['a4'], params: { ratio: 4 }, out: 'i23_4' },
    { op: 'interp23tap', inputs: ['a4'], params: { ratio: 2 }, out: 'i23_2' },
    { op: 'interp23tap', inputs: ['a4'], params: { ratio: 8 }, out: 'i23_8' },
    { op: 'lp_plus_dec', inputs: ['p1_2d'], params: { ratio: 4 }, out: 'lpd4' },
    { op: 'lp_plus_dec', inputs: ['p1_2d'], params: { ratio: 2 }, out: 'lpd2' },
    { op: 'degrade_ms', inputs: ['m2', 'p2_2d'], params: { sensor: 'wv2', ratio: 4 }, out: 'deg_ms' },
    { op: 'degrade_pan', inputs: ['m2', 'p2_2d'], params: { sensor: 'wv2', ratio: 4 }, out: 'deg_pan' },
    { op: 'degrade_lms', inputs: ['m2', 'p2_2d'], params: { sensor: 'wv2', ratio: 4 }, out: 'deg_lms' },
    { op: 'degrade_pan', inputs: ['m2', 'p2_2d'], params: { sensor: 'wv2', ratio: 4, pan_mtf: true }, out: 'deg_pan_mtf' },
  ];
  const p1_2d = { shape: [64, 96], data: p1.data };
  const p2_2d = { shape: [128, 128], data: p2.data };
  const ref = await runOracle({ a8, a4, p1, p2, m2, q4, p1_2d, p2_2d }, tasks);

  const A8 = toTensor(a8),
    A4 = toTensor(a4),
    P1 = toTensor(p1),
    P2 = toTensor(p2),
    M2 = toTensor(m2),
    Q4 = toTensor(q4);
  close(t, await run(mtfFilter(A8, 'WV3', 4)), ref.mtf_wv3, 'mtfFilter WV3 (replicate borders)');
  close(t, await run(mtfFilter(Q4, 'QB', 2)), ref.mtf_qb_r2, 'mtfFilter QB ratio 2');
  close(t, await run(decimate(A8, 4)), ref.dec4, "decimate ×4 (imresize 'nearest': offset 2)");
  close(t, await run(decimate(A8, 2)), ref.dec2, 'decimate ×2');
  close(t, await run(imresize(P1, 0.25)), ref.imr_q, 'imresize 1/4 bicubic + antialiasing');
  close(t, await run(imresize(P1, 0.5)), ref.imr_h, 'imresize 1/2 bicubic + antialiasing');
  close(t, await run(imresize(P1, 0.25, { antialias: false })), ref.imr_q_noaa, 'imresize 1/4 without antialiasing');
  close(t, await run(imresize(A4, 2)), ref.imr_up, 'imresize ×2 (upsampling)');
  close(t, await run(bicubicDownsample(A4, 4)), ref.torch_bic, 'bicubicDownsample = torch interpolate(bicubic, align_corners=False)');
  close(t, await run(interp23tap(A4, 4)), ref.i23_4, 'interp23tap ×4');
  close(t, await run(interp23tap(A4, 2)), ref.i23_2, 'interp23tap ×2');
  close(t, await run(interp23tap(A4, 8)), ref.i23_8, 'interp23tap ×8 (log2 stages)');
  close(t, await run(lpFilterPlusDec(P1, 4)), { shape: [1, 16, 24], data: ref.lpd4!.data }, 'LPfilterPlusDec ×4 (ndwt2/indwt2 sym mode)');
  close(t, await run(lpFilterPlusDec(P1, 2)), { shape: [1, 32, 48], data: ref.lpd2!.data }, 'LPfilterPlusDec ×2');

  // The antialiased bicubic equals PIL/torch's antialias=True (a = -0.5) away from the borders,
  // where MATLAB mirrors and torch renormalises truncated weights: an oracle independent of ours.
  const aa = await run(imresize(P2, 0.25));
  let worst = 0;
  for (let y = 3; y < 29; y++) for (let x = 3; x < 29; x++) worst = Math.max(worst, Math.abs(aa.data[y * 32 + x]! - ref.torch_aa!.data[y * 32 + x]!));
  t.ok(worst < 1e-9, `antialiased imresize interior = torch antialias bicubic (${worst.toExponential(2)})`);

  const d = await degrade({ ms: M2, pan: P2, sensor: 'WV2', ratio: 4 });
  close(t, await f64(d.ms), ref.deg_ms, 'degrade: ms');
  close(t, await f64(d.pan), { shape: [1, 32, 32], data: ref.deg_pan!.data }, 'degrade: pan');
  close(t, await f64(d.lms), ref.deg_lms, 'degrade: lms');
  t.same((await f64(d.gt)).data, m2.data, 'degrade: gt is the original ms');
  const dm = await degrade({ ms: M2, pan: P2, sensor: 'WV2', ratio: 4, panMtf: true });
  close(t, await f64(dm.pan), { shape: [1, 32, 32], data: ref.deg_pan_mtf!.data }, 'degrade: pan with panMtf (MTF_PAN + decimation)');
  for (const x of [A8, A4, P1, P2, M2, Q4, d.gt, d.lms, d.ms, d.pan, dm.gt, dm.lms, dm.ms, dm.pan]) x.dispose();
});

t.test(
  'real WV2 scene: degradation equals the oracle; shapes of WV2 and IKONOS',
  { skip: dataUnavailable('wv2_vitale.mat', 'ikonos_vitale.mat') },
  async (t) => {
    const wv2 = loadVitale('wv2_vitale.mat');
    t.same(wv2.ms.shape, [8, 320, 320]);
    t.same(wv2.pan.shape, [1, 1280, 1280]);
    const started = Date.now();
    const d = await degrade({ ms: wv2.ms, pan: wv2.pan, sensor: 'WV2', ratio: 4 });
    t.comment(`WV2 degrade: ${Date.now() - started} ms`);
    t.same(d.ms.shape, [8, 80, 80], 'ms 80×80');
    t.same(d.pan.shape, [1, 320, 320], 'pan 320×320');
    t.same(d.lms.shape, [8, 320, 320], 'lms 320×320');
    t.same(d.gt.shape, [8, 320, 320], 'gt 320×320');
    t.equal(d.ms.dtype, 'float64');
    if (!pythonUnavailable()) {
      const ref = await runOracle({ ms: wv2.msHost, pan: { shape: [1280, 1280], data: wv2.panHost.data } }, [
        { op: 'degrade_ms', inputs: ['ms', 'pan'], params: { sensor: 'wv2', ratio: 4 }, out: 'ms_lr' },
        { op: 'degrade_pan', inputs: ['ms', 'pan'], params: { sensor: 'wv2', ratio: 4 }, out: 'pan_lr' },
        { op: 'degrade_lms', inputs: ['ms', 'pan'], params: { sensor: 'wv2', ratio: 4 }, out: 'lms' },
      ]);
      close(t, await f64(d.ms), ref.ms_lr, 'WV2 ms_LR');
      close(t, await f64(d.pan), { shape: [1, 320, 320], data: ref.pan_lr!.data }, 'WV2 pan_LR');
      close(t, await f64(d.lms), ref.lms, 'WV2 lms');
    }
    for (const x of [d.gt, d.lms, d.ms, d.pan, wv2.ms, wv2.pan]) x.dispose();

    const ik = loadVitale('ikonos_vitale.mat');
    t.same(ik.ms.shape, [4, 320, 320]);
    const di = await degrade({ ms: ik.ms, pan: ik.pan.squeeze(0), sensor: 'IKONOS' });
    t.same(
      [di.ms.shape, di.pan.shape, di.lms.shape, di.gt.shape],
      [
        [4, 80, 80],
        [1, 320, 320],
        [4, 320, 320],
        [4, 320, 320],
      ],
      'IKONOS shapes (2-D pan accepted)',
    );
    // The degraded MS keeps the band means (the filter's DC gain is 0.999)
    const gtMean = (await f64(di.gt.mean())).data[0]!,
      msMean = (await f64(di.ms.mean())).data[0]!;
    t.ok(Math.abs(msMean / gtMean - 1) < 0.01, `IKONOS: LR mean ${msMean.toFixed(1)} ≈ GT mean ${gtMean.toFixed(1)}`);
    for (const x of [di.gt, di.lms, di.ms, di.pan, ik.ms, ik.pan]) x.dispose();
  },
);

t.test('batching, dtypes, generic filtering', async (t) => {
  const a = toTensor(smoothImage(4, 32, 32, 11)),
    b = toTensor(smoothImage(4, 32, 32, 12));
  const pa = toTensor(smoothImage(1, 128, 128, 13)),
    pb = toTensor(smoothImage(1, 128, 128, 14));
  const ms = stack([a, b]),
    pan = stack([pa, pb]);
  const batch = await degrade({ ms, pan, sensor: 'QB' });
  t.same(batch.lms.shape, [2, 4, 32, 32]);
  t.same(batch.pan.shape, [2, 1, 32, 32]);
  const one = await degrade({ ms: b, pan: pb, sensor: 'QB' });
  for (const k of ['gt', 'lms', 'ms', 'pan'] as const) {
    const row = batch[k].select(0, 1);
    t.ok(row.allclose(one[k], 0, 1e-9), `batch row 1 = single image (${k})`);
    row.dispose();
  }
  // float32 in -> float32 out; dtype overrides
  const a32 = a.to('float32');
  const up32 = await interp23tap(a32, 4);
  t.equal(up32.dtype, 'float32');
  const up64 = await interp23tap(a32, 4, { dtype: 'float64' });
  t.equal(up64.dtype, 'float64');
  const ref = await interp23tap(a, 4);
  t.ok(up64.allclose(ref, 1e-6, 1e-3), 'float32 input computes in float64 internally');
  // uint16 input (as read from .mat) works and yields float64
  const u16 = tensor(new Uint16Array(4 * 32 * 32).fill(1000), [4, 32, 32], 'uint16');
  const f = await mtfFilter(u16, 'GF2');
  t.equal(f.dtype, 'float64');
  const v = (await f64(f)).data;
  t.ok(Math.abs(v[0]! - 1000 * 0.9988) < 1, `constant image keeps its level up to the kernel sum (${v[0]})`);
  // filterReplicate with the sensor kernels = mtfFilter
  const ks = mtfKernels('QB', 4, 4);
  const g1 = await filterReplicate(a, ks),
    g2 = await mtfFilter(a, 'QB', 4);
  t.ok(g1.allclose(g2, 0, 1e-12), 'filterReplicate(x, mtfKernels) = mtfFilter');
  for (const x of [a, b, pa, pb, ms, pan, batch.gt, batch.lms, batch.ms, batch.pan, one.gt, one.lms, one.ms, one.pan, a32, up32, up64, ref, u16, f, ks, g1, g2])
    x.dispose();
});

t.test('bad inputs', async (t) => {
  const ms8 = toTensor(smoothImage(8, 32, 32, 21));
  const ms4 = toTensor(smoothImage(4, 32, 32, 22));
  const ms30 = toTensor(smoothImage(4, 30, 30, 23));
  const pan = toTensor(smoothImage(1, 128, 128, 24));
  const pan120 = toTensor(smoothImage(1, 120, 120, 25));
  await t.rejects(degrade({ ms: ms8, pan, sensor: 'QB' }), RangeError, '8 bands for QB');
  await t.rejects(degrade({ ms: ms4, pan, sensor: 'WV3' }), { name: 'RangeError', message: /8 MS bands/ }, '4 bands for WV3');
  await t.rejects(degrade({ ms: ms4, pan, sensor: 'Pleiades' }), { name: 'RangeError', message: /unknown sensor/ }, 'unknown sensor');
  await t.rejects(degrade({ ms: ms4, pan, sensor: 3 as unknown as string }), TypeError, 'sensor not a string');
  await t.rejects(degrade({ ms: ms30, pan: pan120, sensor: 'QB' }), { name: 'RangeError', message: /divisible/ }, 'ms not divisible by the ratio');
  await t.rejects(degrade({ ms: ms4, pan: pan120, sensor: 'QB' }), { name: 'RangeError', message: /128x128/ }, 'pan not ratio × ms');
  await t.rejects(degrade({ ms: ms4, pan, sensor: 'QB', ratio: 3 }), RangeError, 'ratio 3');
  await t.rejects(degrade({ ms: 'x' as unknown as Tensor, pan, sensor: 'QB' }), TypeError, 'ms not a Tensor');
  await t.rejects(degrade({ ms: ms4.reshape([4, 1024]), pan, sensor: 'QB' }), RangeError, 'ms 2-D');
  await t.rejects(decimate(ms30, 4), { name: 'RangeError', message: /divisible/ }, 'decimate 30×30 by 4');
  await t.rejects(interp23tap(ms4, 3), { name: 'RangeError', message: /power of two/ }, 'interp23tap ratio 3');
  await t.rejects(imresize(ms4, -1), RangeError, 'negative scale');
  await t.rejects(mtfFilter(ms8, 'IKONOS'), RangeError, 'mtfFilter band mismatch');
  await t.rejects(interp23tap(ms4, 4, { dtype: 'int32' as 'float32' }), RangeError, 'bad dtype');
  // the native layer checks too: a wrong-sized PAN straight to the binding rejects with RangeError
  const { native } = await import('../../lib/native.js');
  await t.rejects(native.waldDegrade(ms4.native, pan120.native, 'qb', 4), RangeError, 'native shape check');
  await t.rejects(native.baselineGsa(ms4.native, pan.native, ms4.native, 4), RangeError, 'native baseline shape check');
  for (const x of [ms8, ms4, ms30, pan, pan120]) x.dispose();
});

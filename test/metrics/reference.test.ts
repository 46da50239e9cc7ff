// (3) Agreement to 1e-6 relative with the loop-based float64 reference of reference.ts (written
// from the toolbox's formulas, independent of the native code) on random images, for every metric:
// Q2n with 3, 4 and 8 bands, border cut, thresholding, overlapping Q2n blocks, dtypes, batches.
import t from 'tap';
import { cuda, stack, tensor } from '../../lib/index.js';
import {
  reducedResolutionMetrics,
  reducedResolutionMetricsBatch,
  fullResolutionMetrics,
  fullResolutionMetricsBatch,
  type ReducedMetricName,
} from '../../lib/metrics/index.js';
import * as R from './reference.js';
import { close, toTensor } from './helpers.js';

const REL = 1e-6;

interface RRCase {
  name: string;
  c: number;
  h: number;
  w: number;
  seed: number;
  dimCut?: number;
  thValues?: boolean;
  blockSize?: number;
  q2nShift?: number;
  ratio?: number;
  peak?: number;
  /** push some fused values outside [0, 2^11] (tests thValues) */
  outliers?: boolean;
}

function reducedReference(gt0: R.Img, f0: R.Img, c: RRCase): Record<ReducedMetricName, number> {
  const B = c.blockSize ?? 32;
  const gt = R.cutBounds(gt0, c.dimCut ?? 0);
  let f = R.cutBounds(f0, c.dimCut ?? 0);
  if (c.thValues) f = R.clip(f, 2 ** 11);
  const peak = c.peak ?? 2047;
  return {
    Q: R.qAvg(gt, f, B),
    SAM: R.sam(gt, f),
    ERGAS: R.ergas(gt, f, c.ratio ?? 4),
    SCC: R.scc(f, gt),
    Q2n: R.q2n(gt, f, B, c.q2nShift ?? B),
    PSNR: R.psnr(gt, f, peak),
    SSIM: R.ssim(gt, f, peak),
  };
}

function makePair(c: RRCase): [R.Img, R.Img] {
  const gt = R.scene(c.c, c.h, c.w, c.seed);
  const f = R.perturb(gt, c.seed + 1, 60, 80);
  if (c.outliers) {
    for (let k = 0; k < f.d.length; k += 97) f.d[k] = k % 2 ? -35.5 : 2300.25;
  }
  return [gt, f];
}

const cases: RRCase[] = [
  { name: '4 bands 70×70 (Q2n mirror-padded to 96×96)', c: 4, h: 70, w: 70, seed: 1 },
  { name: '8 bands 80×76, dimCut 5, thValues, outliers', c: 8, h: 80, w: 76, seed: 2, dimCut: 5, thValues: true, outliers: true },
  { name: '3 bands 48×40 (bands padded to 4), block 16, Q2n shift 8', c: 3, h: 48, w: 40, seed: 3, blockSize: 16, q2nShift: 8 },
  { name: '8 bands 64×64, ratio 2, peak 1000, outliers kept', c: 8, h: 64, w: 64, seed: 4, ratio: 2, peak: 1000, outliers: true },
];

for (const c of cases) {
  t.test(`reduced resolution: ${c.name}`, async (t) => {
    const [gt, f] = makePair(c);
    const want = reducedReference(gt, f, c);
    const got = await reducedResolutionMetrics(toTensor(f), toTensor(gt), {
      dimCut: c.dimCut,
      thValues: c.thValues,
      blockSize: c.blockSize,
      q2nShift: c.q2nShift,
      ratio: c.ratio,
      peak: c.peak,
    });
    for (const k of Object.keys(want) as ReducedMetricName[]) close(t, got[k], want[k], REL, k);
    t.ok(got.Q2n < 1 && got.Q2n > 0.3 && got.SAM > 0.1, 'the images are close but not equal (non-degenerate values)');
  });
}

t.test('float32 and uint16 inputs are evaluated on their own values', async (t) => {
  const [gt, f] = makePair({ name: '', c: 4, h: 40, w: 40, seed: 7 });
  // float32: the reference sees the float32-rounded values
  const f32 = R.img(4, 40, 40, new Float64Array(new Float32Array(f.d)));
  const g32 = R.img(4, 40, 40, new Float64Array(new Float32Array(gt.d)));
  const want32 = reducedReference(g32, f32, { name: '', c: 4, h: 40, w: 40, seed: 0 });
  const got32 = await reducedResolutionMetrics(toTensor(f, 'float32'), toTensor(gt, 'float32'));
  for (const k of Object.keys(want32) as ReducedMetricName[]) close(t, got32[k], want32[k], REL, `float32 ${k}`);
  // uint16 DN (as stored in the .mat test sets)
  const fu = R.img(
    4,
    40,
    40,
    f.d.map((v) => Math.round(v)),
  );
  const gu = R.img(
    4,
    40,
    40,
    gt.d.map((v) => Math.round(v)),
  );
  const wantU = reducedReference(gu, fu, { name: '', c: 4, h: 40, w: 40, seed: 0 });
  const gotU = await reducedResolutionMetrics(tensor(new Uint16Array(fu.d), [4, 40, 40]), tensor(new Uint16Array(gu.d), [4, 40, 40]));
  for (const k of Object.keys(wantU) as ReducedMetricName[]) close(t, gotU[k], wantU[k], REL, `uint16 ${k}`);
});

t.test('scale: [0, 1] data times 2047 equals DN data', async (t) => {
  const [gt, f] = makePair({ name: '', c: 4, h: 40, w: 40, seed: 8 });
  const want = reducedReference(R.scaled(gt, 2047 / 2047), R.scaled(f, 1), { name: '', c: 4, h: 40, w: 40, seed: 0 });
  const unit = (x: R.Img) =>
    R.img(
      x.c,
      x.h,
      x.w,
      x.d.map((v) => v / 2047),
    );
  const want2 = reducedReference(R.scaled(unit(gt), 2047), R.scaled(unit(f), 2047), { name: '', c: 4, h: 40, w: 40, seed: 0 });
  const got = await reducedResolutionMetrics(toTensor(unit(f)), toTensor(unit(gt)), { scale: 2047 });
  for (const k of Object.keys(want2) as ReducedMetricName[]) {
    close(t, got[k], want2[k], REL, `scaled ${k}`);
    close(t, got[k], want[k], 1e-4, `scaled ${k} ~ DN ${k}`);
  }
  t.equal(got.conventions.scale, 2047);
});

t.test('a batch gives the per-image results', async (t) => {
  const pairs = [1, 2, 3].map((s) => makePair({ name: '', c: 4, h: 36, w: 36, seed: 20 + s }));
  const F = stack(pairs.map(([, f]) => toTensor(f)));
  const G = stack(pairs.map(([g]) => toTensor(g)));
  const got = await reducedResolutionMetricsBatch(F, G, { dimCut: 2 });
  t.equal(got.length, 3);
  for (const [i, [g, f]] of pairs.entries()) {
    const want = reducedReference(g, f, { name: '', c: 4, h: 36, w: 36, seed: 0, dimCut: 2 });
    for (const k of Object.keys(want) as ReducedMetricName[]) close(t, got[i]![k], want[k], REL, `image ${i} ${k}`);
  }
});

// ---- full resolution ----------------------------------------------------------------------------

interface FRCase {
  name: string;
  c: number;
  h: number;
  w: number;
  seed: number;
  p?: number;
  q?: number;
  alpha?: number;
  beta?: number;
  thValues?: boolean;
  blockSize?: number;
}

function frData(c: FRCase) {
  const lms = R.scene(c.c, c.h, c.w, c.seed);
  const fused = R.perturb(lms, c.seed + 1, 120, 60);
  if (c.thValues) for (let k = 0; k < fused.d.length; k += 53) fused.d[k] = k % 2 ? -20 : 2500;
  const pan = R.scene(1, c.h, c.w, c.seed + 2);
  const panLp = R.perturb(pan, c.seed + 3, 40);
  const fusedMtf = R.perturb(lms, c.seed + 4, 30, 20);
  return { lms, fused, pan, panLp, fusedMtf };
}

function fullReference(d: ReturnType<typeof frData>, c: FRCase) {
  const S = c.blockSize ?? 32;
  const f = c.thValues ? R.clip(d.fused, 2 ** 11) : d.fused;
  const dl = R.dLambda(f, d.lms, S, c.p ?? 1);
  const ds = R.dS(f, d.lms, d.pan, d.panLp, S, c.q ?? 1);
  const dlk = R.dLambdaK(d.lms, d.fusedMtf, S);
  return {
    D_lambda: dl,
    D_s: ds,
    QNR: (1 - dl) ** (c.alpha ?? 1) * (1 - ds) ** (c.beta ?? 1),
    D_lambda_K: dlk,
    HQNR: (1 - dlk) * (1 - ds),
  };
}

const frCases: FRCase[] = [
  { name: '4 bands 64×64', c: 4, h: 64, w: 64, seed: 11 },
  { name: '8 bands 64×96, p 2, q 3, alpha 0.5, beta 2, thValues', c: 8, h: 64, w: 96, seed: 12, p: 2, q: 3, alpha: 0.5, beta: 2, thValues: true },
  { name: '3 bands 48×48, block 16', c: 3, h: 48, w: 48, seed: 13, blockSize: 16 },
];

for (const c of frCases) {
  t.test(`full resolution: ${c.name}`, async (t) => {
    const d = frData(c);
    const want = fullReference(d, c);
    const got = await fullResolutionMetrics(toTensor(d.fused), {
      lms: toTensor(d.lms),
      pan: toTensor(d.pan),
      panLP: toTensor(d.panLp),
      fusedMTF: toTensor(d.fusedMtf),
      p: c.p,
      q: c.q,
      alpha: c.alpha,
      beta: c.beta,
      thValues: c.thValues,
      blockSize: c.blockSize,
    });
    for (const k of Object.keys(want) as (keyof typeof want)[]) close(t, got[k], want[k], REL, k);
    t.same(got.conventions.inputs, { lms: 'given', panLP: 'given', fusedMTF: 'given' });
  });
}

t.test('full resolution batch, pan as N×1×H×W', async (t) => {
  const cs = [21, 22].map((seed) => ({ name: '', c: 4, h: 32, w: 64, seed }));
  const ds = cs.map(frData);
  const B = (k: 'fused' | 'lms' | 'pan' | 'panLp' | 'fusedMtf') => stack(ds.map((d) => toTensor(d[k])));
  const got = await fullResolutionMetricsBatch(B('fused'), { lms: B('lms'), pan: B('pan'), panLP: B('panLp'), fusedMTF: B('fusedMtf') });
  t.equal(got.length, 2);
  for (const [i, d] of ds.entries()) {
    const want = fullReference(d, cs[i]!);
    for (const k of Object.keys(want) as (keyof typeof want)[]) close(t, got[i]![k], want[k], REL, `image ${i} ${k}`);
  }
});

t.test('on CUDA the values match the CPU', { skip: cuda().available ? false : `no CUDA (${cuda().reason})` }, async (t) => {
  const [gt, f] = makePair({ name: '', c: 8, h: 70, w: 70, seed: 31 });
  const cpu = await reducedResolutionMetrics(toTensor(f), toTensor(gt), { dimCut: 3 });
  const gpu = await reducedResolutionMetrics(toTensor(f).to('cuda'), toTensor(gt).to('cuda'), { dimCut: 3 });
  t.equal(gpu.conventions.device, 'cuda:0');
  for (const k of ['Q', 'SAM', 'ERGAS', 'SCC', 'Q2n', 'PSNR', 'SSIM'] as const) close(t, gpu[k], cpu[k], 1e-9, `cuda ${k}`);
  const d = frData({ name: '', c: 8, h: 64, w: 64, seed: 32 });
  const args = { lms: toTensor(d.lms), pan: toTensor(d.pan), panLP: toTensor(d.panLp), fusedMTF: toTensor(d.fusedMtf) };
  const fc = await fullResolutionMetrics(toTensor(d.fused), args);
  const fg = await fullResolutionMetrics(toTensor(d.fused).to('cuda'), args);
  for (const k of ['D_lambda', 'D_s', 'QNR', 'D_lambda_K', 'HQNR'] as const) close(t, fg[k], fc[k], 1e-9, `cuda ${k}`);
});

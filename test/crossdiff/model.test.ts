// CrossDiff: the reference's parameter counts and names, the noise schedule's values, the stage
// mechanics (self-supervised stage 1 without a target, frozen encoders in stage 2), the samplers,
// the no-reference loss against an independent NumPy computation, and clear errors.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { createModel, fromHost, Trainer, type Module, type Tensor } from '../../lib/index.js';
import { pythonUnavailable, PYTHON } from '../protocol/helpers.js';

function rand(shape: number[], seed: number, lo = 0, hi = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    d[i] = lo + (hi - lo) * (s / 2 ** 32);
  }
  return fromHost({ dtype: 'float32', shape, data: d });
}
const tiny = (extra: Record<string, unknown> = {}) => createModel({ model: 'crossdiff', preset: 'tiny', ...extra } as never);

t.test('parameter counts equal the reference (M2P 1,086,318 / P2M 1,087,320 at 4 bands; 1,087,506 / 1,090,096 at 8; head 4,789,895)', async (t) => {
  for (const [bands, p2m, m2p, head] of [
    [4, 1_087_320, 1_086_318, 4_789_895],
    [8, 1_090_096, 1_087_506, 4_791_051],
  ] as const) {
    const m = createModel({ model: 'crossdiff', bands });
    const c = m.parameterCounts();
    t.equal(c.modules.p2m!.total, p2m, `P2M, ${bands} bands`);
    t.equal(c.modules.m2p!.total, m2p, `M2P, ${bands} bands`);
    t.equal(c.modules.head!.total, head, `head, ${bands} bands`);
    const shapes = new Map(m.namedParameters().map((p) => [p.name, p.shape]));
    // the reference's state-dict names and shapes
    t.same(shapes.get('p2m.embed.0.weight'), [256, 32]);
    t.same(shapes.get('p2m.conv1.weight'), [32, bands + 1, 3, 3]);
    t.same(shapes.get('p2m.res3.dense1.dense.weight'), [32, 256]);
    t.same(shapes.get('p2m.down2.conv20.weight'), [256, 128, 3, 3]);
    t.same(shapes.get('p2m.up1.conv20.weight'), [256, 128, 3, 3], 'ConvTranspose weight is (in, out, k, k)');
    t.same(shapes.get('p2m.up2.weight'), [256, 64, 3, 3]);
    t.same(shapes.get('p2m.final2.weight'), [bands, 32 + bands + 1, 3, 3]);
    t.same(shapes.get('m2p.final2.weight'), [1, 32 + bands + 1, 3, 3]);
    t.same(shapes.get('head.decoder.0.block.0.weight'), [512, 512, 3, 3]);
    t.same(shapes.get('head.decoder.1.block.2.cSE.fc1.weight'), [128, 256]);
    t.same(shapes.get('head.decoder.1.block.2.sSE.conv.weight'), [1, 256, 1, 1]);
    t.same(shapes.get('head.decoder.6.block.0.weight'), [64, 64, 3, 3], 'the finest block (36,928 parameters)');
    t.same(shapes.get('head.final2.weight'), [bands, 32, 3, 3]);
    t.equal(m.namedParameters().filter((p) => p.name.startsWith('p2m.')).length, 52, 'P2M tensors');
    m.dispose();
  }
  // 36,928 of the head sit in the finest block the released wiring leaves unused
  const m = createModel({ model: 'crossdiff', bands: 4 });
  t.equal(
    m
      .namedParameters()
      .filter((p) => p.name.startsWith('head.decoder.6.'))
      .reduce((a, p) => a + p.numel, 0),
    36_928,
  );
  m.setStage(2);
  t.equal(m.parameterCounts().trainable, 4_789_895, 'stage 2 trains the head only');
  m.setStage(1);
  t.equal(m.parameterCounts().trainable, 1_087_320 + 1_086_318, 'stage 1 trains both UNets');
  m.dispose();
});

t.test('cosine schedule: the reference values (β₁ ≈ 4.13e-5, √ᾱ₅₀ ≈ 0.9960, √ᾱ₁₀₀ ≈ 0.986, √ᾱ₅₀₀ ≈ 0.703)', async (t) => {
  const m = tiny();
  const ab = await m.call('schedule', {});
  const a = (await ab.data()) as Float64Array;
  t.equal(a.length, 1001);
  t.equal(a[0], 1);
  t.ok(Math.abs(1 - a[1]! - 4.13e-5) < 0.01e-5, `β₁ = ${(1 - a[1]!).toExponential(3)}`);
  t.ok(Math.abs(Math.sqrt(a[50]!) - 0.996) < 5e-5, `√ᾱ₅₀ = ${Math.sqrt(a[50]!).toFixed(5)}`);
  t.ok(Math.abs(Math.sqrt(1 - a[50]!) - 0.0894) < 5e-4, `noise σ at t = 50: ${Math.sqrt(1 - a[50]!).toFixed(4)}`);
  t.ok(Math.abs(Math.sqrt(a[100]!) - 0.986) < 5e-4, `√ᾱ₁₀₀ = ${Math.sqrt(a[100]!).toFixed(4)}`);
  t.ok(Math.abs(Math.sqrt(a[500]!) - 0.703) < 5e-4, `√ᾱ₅₀₀ = ${Math.sqrt(a[500]!).toFixed(4)}`);
  // closed form: ᾱ_t = Π (1 − β_i) with β_i = min(1 − f(i/T)/f((i−1)/T), 0.999), f(s) = cos²((s + 0.008)/1.008·π/2)
  const f = (s: number) => Math.cos((((s + 0.008) / 1.008) * Math.PI) / 2) ** 2;
  let prod = 1,
    worst = 0;
  for (let i = 1; i <= 1000; i++) {
    prod *= 1 - Math.min(1 - f(i / 1000) / f((i - 1) / 1000), 0.999);
    worst = Math.max(worst, Math.abs(prod - a[i]!));
  }
  t.ok(worst < 1e-12, `every ᾱ_t equals the closed form (max |diff| ${worst.toExponential(1)})`);
  ab.dispose();
  m.dispose();
});

t.test('stage 1 is self-supervised: no target, both UNets learn, the head does not', async (t) => {
  const m = tiny();
  const lms = rand([2, 4, 32, 32], 1),
    pan = rand([2, 1, 32, 32], 2);
  m.setStage(1);
  const tr = new Trainer(m, { optimizer: 'adamw', lr: 3e-4 });
  t.equal(tr.needsTarget, false);
  const before = m.stateDict();
  const r = await tr.step({ lms, pan });
  t.ok(Number.isFinite(r.loss) && r.loss > 0, `ε-MSE ${r.loss.toFixed(3)}`);
  const after = m.stateDict();
  for (const k of ['p2m.conv1.weight', 'm2p.final2.weight']) t.notOk(before[k]!.allclose(after[k]!, 0, 0), `${k} changed`);
  t.ok(before['head.final.weight']!.allclose(after['head.final.weight']!, 0, 0), 'head unchanged');
  await t.rejects(async () => m.forward({ lms, pan }, { stage: 1 }), /stage 1 has no fused output/);
  for (const x of [...Object.values(before), ...Object.values(after), lms, pan]) x.dispose();
  tr.dispose();
  m.dispose();
});

t.test('stage 2: the fused image, taps of both encoders, and frozen encoders stay bit-identical', async (t) => {
  const m = tiny();
  const lms = rand([2, 4, 32, 32], 3),
    pan = rand([2, 1, 32, 32], 4),
    gt = rand([2, 4, 32, 32], 5);
  const taps = await m.forwardTaps({ lms, pan });
  t.same(taps['p2m.h1']!.shape, [2, 8, 32, 32]);
  t.same(taps['m2p.h4']!.shape, [2, 64, 4, 4]);
  t.same(taps['head.d0']!.shape, [2, 128, 4, 4]);
  t.same(taps['head.d3']!.shape, [2, 16, 32, 32]);
  t.same(taps.out!.shape, [2, 4, 32, 32]);
  for (const x of Object.values(taps)) x.dispose();
  m.setStage(2);
  const tr = new Trainer(m, { loss: 'l1', optimizer: 'adamw', lr: 1e-3 });
  t.equal(tr.needsTarget, true);
  await t.rejects(async () => tr.step({ lms, pan }), /target/, 'stage 2 at reduced resolution needs gt');
  const before = m.stateDict();
  for (let i = 0; i < 3; i++) await tr.step({ lms, pan }, gt);
  const after = m.stateDict();
  let encoders = 0;
  for (const k of Object.keys(before)) {
    const same = before[k]!.allclose(after[k]!, 0, 0);
    if (k.startsWith('head.')) continue;
    t.ok(same, `${k} bit-identical`);
    encoders++;
  }
  t.equal(encoders, 104);
  t.notOk(before['head.final2.weight']!.allclose(after['head.final2.weight']!, 0, 0), 'the head trained');
  for (const x of [...Object.values(before), ...Object.values(after), lms, pan, gt]) x.dispose();
  tr.dispose();
  m.dispose();
});

t.test('featureNoise zero makes the forward deterministic; residualInit zero starts from LMS; useFinest changes the wiring', async (t) => {
  const lms = rand([1, 4, 16, 16], 6),
    pan = rand([1, 1, 16, 16], 7);
  const det = tiny({ featureNoise: 'zero' });
  const [a, b] = [await det.forward({ lms, pan }), await det.forward({ lms, pan })];
  t.ok(a.allclose(b, 0, 0), 'same output twice');
  const rnd = tiny();
  const [c, d] = [await rnd.forward({ lms, pan }), await rnd.forward({ lms, pan })];
  t.notOk(c.allclose(d, 0, 0), 'fresh feature noise on every call (the reference)');
  const z = tiny({ residualInit: 'zero' });
  const e = await z.forward({ lms, pan });
  t.ok(e.allclose(lms, 0, 0), 'untrained head with a zero last conv: output = LMS');
  // same weights, the released wiring (d3 dropped) gives another output
  const released = tiny({ featureNoise: 'zero', useFinest: false });
  released.loadTensors(det.stateDict());
  const f = await released.forward({ lms, pan });
  t.notOk(f.allclose(a, 1e-6, 1e-6), 'useFinest false reads x instead of d3');
  for (const x of [a, b, c, d, e, f, lms, pan]) x.dispose();
  for (const m of [det, rnd, z, released]) m.dispose();
});

t.test('samplers: DDIM and DDPM draw in [0, 1], reproducibly per seed', async (t) => {
  const m = tiny({ diffusionSteps: 20, featureStep: 5 });
  const lms = rand([1, 4, 16, 16], 8),
    pan = rand([1, 1, 16, 16], 9);
  const s1 = await m.call('sample', { lms, pan }, { net: 'p2m', sampler: 'ddim', steps: 5, seed: 3 });
  const s2 = await m.call('sample', { lms, pan }, { net: 'p2m', sampler: 'ddim', steps: 5, seed: 3 });
  const s3 = await m.call('sample', { lms, pan }, { net: 'p2m', sampler: 'ddim', steps: 5, seed: 4 });
  t.same(s1.shape, [1, 4, 16, 16]);
  t.ok(s1.allclose(s2, 0, 0), 'same seed, same sample');
  t.notOk(s1.allclose(s3, 0, 0), 'another seed, another sample');
  const p = await m.call('sample', { lms, pan }, { net: 'm2p', sampler: 'ddpm', guidance: 0 });
  t.same(p.shape, [1, 1, 16, 16]);
  const v = (await p.data()) as Float32Array;
  t.ok(
    v.every((x) => x >= 0 && x <= 1),
    'DDPM sample in [0, 1]',
  );
  await t.rejects(async () => m.call('sample', { lms, pan }, { net: 'x' }), /options.net/);
  await t.rejects(async () => m.call('sample', { lms, pan }, { sampler: 'ddim', steps: 0 }), /DDIM steps/);
  await t.rejects(async () => m.call('sample', { lms, pan }, { bogus: 1 }), /bogus/);
  await t.rejects(async () => m.call('nope', { lms, pan }), /no method 'nope' \(it has: denoise, sample, schedule\)/);
  t.same(m.methods(), ['denoise', 'sample', 'schedule']);
  for (const x of [s1, s2, s3, p, lms, pan]) x.dispose();
  m.dispose();
});

t.test('bad inputs and configs give clear errors', async (t) => {
  const m = tiny();
  const ok = { lms: rand([1, 4, 16, 16], 1), pan: rand([1, 1, 16, 16], 2) };
  await t.rejects(async () => m.forward({ lms: rand([1, 8, 16, 16], 1), pan: ok.pan }), /inputs.lms: expected \(B, 4, H, W\)/);
  await t.rejects(async () => m.forward({ lms: ok.lms, pan: rand([1, 1, 8, 8], 1) }), /inputs.pan: expected \(1, 1, 16, 16\)/);
  await t.rejects(async () => m.forward({ lms: rand([1, 4, 12, 12], 1), pan: rand([1, 1, 12, 12], 1) }), /multiples of 8/);
  await t.rejects(async () => m.forward({ lms: ok.lms }), /inputs.pan: missing/);
  t.throws(() => tiny({ featureNoise: 'maybe' }), /featureNoise/);
  t.throws(() => tiny({ condDropout: 2 }), /condDropout/);
  t.throws(() => tiny({ featureStep: 2000 }), /featureStep/);
  t.throws(() => tiny({ residualInit: 'ones' }), /residualInit/);
  t.throws(() => createModel({ model: 'crossdiff', preset: 'huge' } as never), /preset/);
  m.setStage(2);
  const tr = new Trainer(m, { loss: 'qnr' });
  t.equal(tr.needsTarget, false, 'the no-reference loss needs no target');
  await t.rejects(async () => tr.step(ok), /inputs.ms: missing/, 'but it needs ms');
  tr.dispose();
  for (const x of Object.values(ok)) x.dispose();
  m.dispose();
});

t.test('the no-reference loss equals an independent NumPy computation', { skip: pythonUnavailable() }, async (t) => {
  // A head whose last conv is zero outputs LMS exactly, so Trainer.evaluate gives the loss of a known image.
  const m = tiny({ residualInit: 'zero' });
  m.setStage(2);
  const lms = rand([2, 4, 32, 32], 11, 0.1, 0.9),
    pan = rand([2, 1, 32, 32], 12, 0.1, 0.9),
    ms = rand([2, 4, 8, 8], 13, 0.1, 0.9);
  const tr = new Trainer(m, { loss: 'qnr' });
  const got = (await tr.evaluate({ lms, pan, ms })).loss;
  const payload = JSON.stringify({
    f: Array.from((await lms.data()) as Float32Array),
    p: Array.from((await pan.data()) as Float32Array),
    m: Array.from((await ms.data()) as Float32Array),
  });
  const py = `
import json, sys, numpy as np
from scipy.signal import correlate2d
d = json.load(sys.stdin)
F = np.array(d['f'], np.float64).reshape(2, 4, 32, 32); P = np.array(d['p'], np.float64).reshape(2, 1, 32, 32)
M = np.array(d['m'], np.float64).reshape(2, 4, 8, 8); L = F.copy()
def q(a, b):
    ma, mb = a.mean(), b.mean(); va, vb = a.var(), b.var(); c = ((a - ma) * (b - mb)).mean()
    return 4 * c * ma * mb / ((va + vb) * (ma * ma + mb * mb) + 1e-12)
def area(x, r):  # mean over r×r blocks
    n, c, h, w = x.shape
    return x.reshape(n, c, h // r, r, w // r, r).mean(axis=(3, 5))
def gauss(k, s):
    g = np.exp(-((np.arange(k) - k // 2) ** 2) / (2 * s * s)); g /= g.sum(); return np.outer(g, g)
def blur(x, k):
    return np.stack([np.stack([correlate2d(x[i, c], k, mode='same') for c in range(x.shape[1])]) for i in range(x.shape[0])])
def ssim(x, y):
    w = gauss(5, 1.5); c1, c2 = 0.01 ** 2, 0.03 ** 2
    mx, my = blur(x, w), blur(y, w)
    sxx, syy, sxy = blur(x * x, w) - mx * mx, blur(y * y, w) - my * my, blur(x * y, w) - mx * my
    return (((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))).mean()
Pl = area(P, 4)
dl = np.mean([abs(q(F[b, i], F[b, j]) - q(M[b, i], M[b, j])) for b in range(2) for i in range(4) for j in range(i + 1, 4)])
ds = np.mean([abs(q(F[b, i], P[b, 0]) - q(M[b, i], Pl[b, 0])) for b in range(2) for i in range(4)])
qnr = (1 - dl) * (1 - ds)
G = blur(F, gauss(5, 2.0)); Gd = area(G, 4)
loss = (1 - qnr) + 1e-4 * (np.abs(Gd - M).mean() + 1 - ssim(Gd, M)) + 1e-5 * (np.abs(G - L).mean() + 1 - ssim(G, L))
print(json.dumps({'loss': loss, 'qnr': qnr}))
`;
  const r = spawnSync(PYTHON, ['-c', py], { input: payload, encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  const want = JSON.parse(r.stdout) as { loss: number; qnr: number };
  t.ok(Math.abs(got - want.loss) < 1e-5, `loss ${got.toFixed(7)} vs NumPy ${want.loss.toFixed(7)} (QNR ${want.qnr.toFixed(5)})`);
  for (const x of [lms, pan, ms]) x.dispose();
  tr.dispose();
  m.dispose();
});

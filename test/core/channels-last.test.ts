// Channels-last (NHWC): the layout each model is built in by default, and the guarantee that it is
// only a layout: the same outputs, the same training steps, the same seeded noise and the same saved
// weights as NCHW, also when the layout changes between optimizer steps.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { createModel, loadWeights, manualSeed, rand, saveWeights, Trainer, type Module, type Tensor } from '../../lib/index.js';

type Inputs = Record<string, Tensor>;
interface Case {
  config: Record<string, unknown>;
  inputs: () => Inputs;
  target: number[];
  stage: number;
  channelsLast: boolean; // the default
}
const pansharpening = (bands: number, size: number) => () => ({
  lms: rand([2, bands, size, size]),
  pan: rand([2, 1, size, size]),
  ms: rand([2, bands, size / 4, size / 4]),
});
const cases: Case[] = [
  { config: { model: 'panadapter', preset: 'tiny' }, inputs: pansharpening(8, 64), target: [8, 64, 64], stage: 2, channelsLast: true },
  ...['pnn', 'pannet', 'dicnn', 'fusionnet'].map((model) => ({
    config: { model, bands: 8 },
    inputs: pansharpening(8, 32),
    target: [8, 32, 32],
    stage: 1,
    channelsLast: true,
  })),
  // stage 2 draws diffusion noise in its forward: the seeded draw must not depend on the layout
  { config: { model: 'crossdiff', preset: 'tiny' }, inputs: pansharpening(4, 32), target: [4, 32, 32], stage: 2, channelsLast: false },
  {
    config: { model: 'infn', preset: 'tiny' },
    inputs: () => ({ lrhsi: rand([2, 31, 8, 8]), msi: rand([2, 3, 32, 32]), hsi_up: rand([2, 31, 32, 32]) }),
    target: [31, 32, 32],
    stage: 1,
    channelsLast: true,
  },
];

const disposeAll = (x: Record<string, Tensor>) => Object.values(x).forEach((v) => v.dispose());
/** max |a - b| over max |b|: rounding-level differences only (summation order of another layout). */
async function relDiff(a: Tensor, b: Tensor): Promise<number> {
  const x = await a.data(),
    y = await b.data();
  let d = 0,
    s = 0;
  for (let i = 0; i < y.length; i++) {
    d = Math.max(d, Math.abs(Number(x[i]) - Number(y[i])));
    s = Math.max(s, Math.abs(Number(y[i])));
  }
  return d / Math.max(s, 1e-12);
}
async function worstParamDiff(a: Module, b: Module): Promise<[string, number]> {
  const sa = a.stateDict(),
    sb = b.stateDict();
  let worst: [string, number] = ['', 0];
  for (const k of Object.keys(sa)) {
    if (sa[k]!.dtype !== 'float32') continue;
    const d = await relDiff(sb[k]!, sa[k]!);
    if (d > worst[1]) worst = [k, d];
  }
  disposeAll(sa);
  disposeAll(sb);
  return worst;
}
/** Two models with the same weights, `a` in NCHW and `b` channels-last. */
function pair(c: Case): [Module, Module] {
  manualSeed(0);
  const a = createModel(c.config as never);
  const b = createModel(c.config as never);
  const sd = a.stateDict();
  b.loadTensors(sd);
  disposeAll(sd);
  a.setChannelsLast(false);
  b.setChannelsLast(true);
  return [a, b];
}

t.test('the default layout of each model', async (t) => {
  for (const c of [...cases, { config: { model: 'mlp' }, channelsLast: false } as Case]) {
    using m = createModel(c.config as never);
    t.equal(m.channelsLast, c.channelsLast, `${String(c.config.model)}`);
  }
  using m = createModel({ model: 'pnn', bands: 4 });
  t.equal(m.setChannelsLast(false).channelsLast, false, 'setChannelsLast(false) turns it off');
});

/** torch's strides of a dense 4-D tensor in either layout. */
const denseStrides = ([n, c, h, w]: number[], channelsLast: boolean) => (channelsLast ? [c! * h! * w!, 1, w! * c!, c!] : [c! * h! * w!, h! * w!, w!, 1]);

t.test('every 4-D weight has the exact strides of the layout, 1x1 and depthwise kernels included', async (t) => {
  // contiguous(format) accepts NCHW strides for shapes whose size-1 dimensions make both layouts
  // the same bytes (O,I,1,1 and O,1,kh,kw); oneDNN reads the strides and then ran those
  // convolutions in a blocked NCHW layout, reordering every activation in and out.
  for (const c of cases.filter((x) => x.channelsLast)) {
    using m = createModel(c.config as never);
    for (const on of [true, false, true]) {
      m.setChannelsLast(on);
      const sd = m.stateDict();
      const bad = Object.entries(sd).filter(([, v]) => v.ndim === 4 && v.dtype === 'float32' && String(v.strides) !== String(denseStrides(v.shape, on)));
      const kernels1x1 = Object.values(sd).filter((v) => v.ndim === 4 && v.shape[2] === 1 && v.shape[3] === 1).length;
      t.same(
        bad.map(([k, v]) => `${k} ${v.shape} ${v.strides}`),
        [],
        `${String(c.config.model)} ${on ? 'channels-last' : 'NCHW'}: all 4-D tensors (${kernels1x1} 1x1 kernels among them)`,
      );
      disposeAll(sd);
    }
  }
  using x = rand([2, 3, 4, 5]);
  t.same(x.strides, [60, 20, 5, 1], 'strides of a plain tensor');
});

for (const c of cases) {
  t.test(`${String(c.config.model)}: the same forward and training steps in either layout`, async (t) => {
    const [a, b] = pair(c);
    manualSeed(1);
    const inputs = c.inputs();
    const target = rand([2, ...c.target]);
    a.eval();
    b.eval();
    manualSeed(5);
    const oa = await a.forward(inputs, { stage: c.stage });
    manualSeed(5);
    const ob = await b.forward(inputs, { stage: c.stage });
    t.same(ob.shape, oa.shape);
    t.ok((await relDiff(ob, oa)) < 1e-5, `forward: ${(await relDiff(ob, oa)).toExponential(2)}`);
    a.setStage(c.stage);
    b.setStage(c.stage);
    const ta = new Trainer(a, { lr: 1e-3, stage: c.stage }),
      tb = new Trainer(b, { lr: 1e-3, stage: c.stage });
    for (let step = 0; step < 2; step++) {
      manualSeed(10 + step);
      const la = (await ta.step(inputs, target)).loss;
      manualSeed(10 + step);
      const lb = (await tb.step(inputs, target)).loss;
      t.ok(Math.abs(la - lb) <= 1e-5 * Math.abs(la), `step ${step + 1} loss ${la} / ${lb}`);
    }
    const [name, d] = await worstParamDiff(a, b);
    t.ok(d < 1e-3, `weights after two Adam steps: worst ${name} ${d.toExponential(2)}`);
    ta.dispose();
    tb.dispose();
    for (const x of [oa, ob, target, a, b]) x.dispose();
    disposeAll(inputs);
  });
}

t.test('weights saved from a channels-last model load into an NCHW one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'specfuse-cl-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  manualSeed(2);
  using src = createModel({ model: 'fusionnet', bands: 8 });
  using dst = createModel({ model: 'fusionnet', bands: 8 });
  t.equal(src.channelsLast, true);
  dst.setChannelsLast(false);
  const file = join(dir, 'w.safetensors');
  await saveWeights(src, file);
  await loadWeights(dst, file);
  t.equal(dst.channelsLast, false, 'loading keeps the model layout');
  const [name, d] = await worstParamDiff(src, dst);
  t.equal(d, 0, `every tensor identical (worst ${name})`);
  const x = pansharpening(8, 32)();
  src.eval();
  dst.eval();
  using os = await src.forward(x);
  using od = await dst.forward(x);
  t.ok((await relDiff(od, os)) < 1e-5);
  disposeAll(x);
});

t.test('changing the layout between Adam steps keeps moments, gradients and weights matched', async (t) => {
  // The fused Adam kernel walks weight, gradient and moments as flat arrays: moments made in NCHW
  // and a weight turned NHWC afterwards would pair unrelated elements if nothing re-laid them out.
  const c = cases.find((x) => x.config.model === 'pnn')!;
  const [a, b] = pair(c); // a NCHW, b NHWC: b stays, a switches after two steps
  manualSeed(3);
  const inputs = c.inputs();
  const target = rand([2, ...c.target]);
  const ta = new Trainer(a, { lr: 1e-3 }),
    tb = new Trainer(b, { lr: 1e-3 });
  for (let step = 0; step < 5; step++) {
    if (step === 2) a.setChannelsLast(true);
    const la = (await ta.step(inputs, target)).loss,
      lb = (await tb.step(inputs, target)).loss;
    t.ok(Math.abs(la - lb) <= 1e-5 * Math.abs(la), `step ${step + 1} loss ${la} / ${lb}`);
  }
  const [name, d] = await worstParamDiff(a, b);
  t.ok(d < 1e-3, `weights after five steps: worst ${name} ${d.toExponential(2)}`);
  ta.dispose();
  tb.dispose();
  for (const x of [target, a, b]) x.dispose();
  disposeAll(inputs);
});

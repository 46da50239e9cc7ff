// PanAdapter "done" criteria, forward shapes and input errors (tiny preset, CPU):
//  - output [B, C, 64, 64] for B = 1 and 3, C = 8 and 4, stages 1 and 2 (and the default stage = 2);
//  - bad inputs (band count, spatial size, rank, batch, missing ms, dtype, non-Tensors, a device the
//    module is not on, a bad stage) reject with a TypeError / RangeError naming the input, through
//    Module.forward and Trainer.step alike; nothing leaks, the weights do not change, and the
//    process goes on computing the same outputs.
import t from 'tap';
import { createModel, cuda, full, manualSeed, memory, rand, tensor, Trainer, type Module, type Tensor } from '../../lib/index.js';

const P = 64;
const H = P / 4;

function inputs(batch: number, bands: number) {
  return { lms: rand([batch, bands, P, P]), pan: rand([batch, 1, P, P]), ms: rand([batch, bands, H, H]) };
}
const dispose = (o: Record<string, Tensor | undefined>) => {
  for (const v of Object.values(o)) v?.dispose();
};

function allFinite(x: Tensor): boolean {
  const d = x.dataSync() as Float32Array;
  for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i]!)) return false;
  return true;
}

t.test('output shapes: batch 1 and 3, 8 and 4 bands, stages 1 and 2', async (t) => {
  for (const bands of [8, 4]) {
    manualSeed(7);
    using m = createModel({ model: 'panadapter', preset: 'tiny', bands });
    const scale: Record<string, Tensor> = {};
    for (let a = 0; a < Number(m.config.nAdapters); a++) scale[`adapters.${a}.cti.scale`] = full([1], 0.5);
    m.loadTensors(scale);
    dispose(scale);
    for (const batch of [1, 3]) {
      const x = inputs(batch, bands);
      for (const stage of [1, 2]) {
        using y = await m.forward(x, { stage });
        t.same(y.shape, [batch, bands, P, P], `${bands} bands, batch ${batch}, stage ${stage}: [${y.shape.join(', ')}]`);
        t.ok(y.dtype === 'float32' && allFinite(y), '  float32, finite');
      }
      using d = await m.forward(x);
      using s2 = await m.forward(x, { stage: 2 });
      t.ok(d.equal(s2), `${bands} bands, batch ${batch}: no stage = stage 2`);
      if (batch === 3) {
        // every sample is computed on its own: row 1 of the batch equals the same sample alone
        const one = { lms: x.lms.slice(0, 1, 2), pan: x.pan.slice(0, 1, 2), ms: x.ms.slice(0, 1, 2) };
        using y1 = await m.forward(one);
        using row = s2.slice(0, 1, 2);
        t.ok(row.allclose(y1, 1e-5, 1e-6), `${bands} bands: batch row 1 == the sample alone`);
        dispose(one);
      }
      dispose(x);
    }
    // stage via setStage, and the bicubic-LMS variant that takes no ms
    m.setStage(1);
    const x = inputs(2, bands);
    using y1 = await m.forward(x);
    using y1b = await m.forward(x, { stage: 1 });
    t.ok(y1.equal(y1b), `${bands} bands: setStage(1) makes stage 1 the default`);
    using nb = createModel({ model: 'panadapter', preset: 'tiny', bands, spectralInput: 'bicubic_lms' });
    using yb = await nb.forward({ lms: x.lms, pan: x.pan });
    t.same(yb.shape, [2, bands, P, P], `${bands} bands, spectralInput 'bicubic_lms': no ms needed`);
    dispose(x);
  }
});

t.test('bad inputs name the input and leave the process working', async (t) => {
  manualSeed(11);
  using m: Module = createModel({ model: 'panadapter', preset: 'tiny' }); // 8 bands
  const good = inputs(2, 8);
  t.teardown(() => dispose(good));
  using ref = await m.forward(good);
  const w0 = m.getTensor('tail2.net.0.weight');
  t.teardown(() => w0.dispose());

  type Bad = [string, Record<string, unknown>, { name: string; message: RegExp }];
  const f64 = rand([2, 1, P, P], 'float64');
  const i32 = tensor(new Int32Array(2 * 8 * P * P), [2, 8, P, P]);
  const disposed = rand([2, 1, P, P]);
  disposed.dispose();
  const made: Tensor[] = [f64, i32];
  const mk = (s: number[]) => {
    const x = rand(s);
    made.push(x);
    return x;
  };
  const cases: Bad[] = [
    [
      'lms with 4 bands',
      { ...good, lms: mk([2, 4, P, P]) },
      { name: 'RangeError', message: /^inputs\.lms: expected shape \[B, 8, 64, 64\], got \[2, 4, 64, 64\]$/ },
    ],
    [
      'ms with 4 bands',
      { ...good, ms: mk([2, 4, H, H]) },
      { name: 'RangeError', message: /^inputs\.ms: expected shape \[B, 8, 16, 16\], got \[2, 4, 16, 16\]$/ },
    ],
    ['pan with 3 channels', { ...good, pan: mk([2, 3, P, P]) }, { name: 'RangeError', message: /^inputs\.pan: expected shape \[B, 1, 64, 64\]/ }],
    [
      'pan 32 x 32',
      { ...good, pan: mk([2, 1, 32, 32]) },
      { name: 'RangeError', message: /^inputs\.pan: expected shape \[B, 1, 64, 64\], got \[2, 1, 32, 32\]$/ },
    ],
    ['lms 128 x 128', { ...good, lms: mk([2, 8, 128, 128]) }, { name: 'RangeError', message: /^inputs\.lms: expected shape/ }],
    ['lms 64 x 32', { ...good, lms: mk([2, 8, 64, 32]) }, { name: 'RangeError', message: /^inputs\.lms: expected shape/ }],
    ['ms at full resolution', { ...good, ms: mk([2, 8, P, P]) }, { name: 'RangeError', message: /^inputs\.ms: expected shape \[B, 8, 16, 16\]/ }],
    [
      'lms without a batch axis',
      { ...good, lms: mk([8, P, P]) },
      { name: 'RangeError', message: /^inputs\.lms: expected shape \[B, 8, 64, 64\], got \[8, 64, 64\]$/ },
    ],
    ['pan 5-D', { ...good, pan: mk([2, 1, 1, P, P]) }, { name: 'RangeError', message: /^inputs\.pan: expected shape/ }],
    [
      'batch 3 pan with batch 2 lms',
      { ...good, pan: mk([3, 1, P, P]) },
      { name: 'RangeError', message: /^inputs\.pan: batch size 3 differs from inputs\.lms \(2\)$/ },
    ],
    ['batch 3 ms', { ...good, ms: mk([3, 8, H, H]) }, { name: 'RangeError', message: /^inputs\.ms: batch size 3/ }],
    ['empty batch', { lms: mk([0, 8, P, P]), pan: mk([0, 1, P, P]), ms: mk([0, 8, H, H]) }, { name: 'RangeError', message: /^inputs\.lms: .*B >= 1/ }],
    ['missing ms', { lms: good.lms, pan: good.pan }, { name: 'TypeError', message: /^inputs\.ms: missing$/ }],
    ['missing lms', { pan: good.pan, ms: good.ms }, { name: 'TypeError', message: /^inputs\.lms: missing$/ }],
    ['float64 pan', { ...good, pan: f64 }, { name: 'TypeError', message: /^inputs\.pan: expected dtype float32 \(the module's\), got float64$/ }],
    ['int32 lms', { ...good, lms: i32 }, { name: 'TypeError', message: /^inputs\.lms: expected dtype float32/ }],
    ['a typed array as pan', { ...good, pan: new Float32Array(2 * P * P) }, { name: 'TypeError', message: /^inputs\.pan: expected a Tensor$/ }],
    ['a number as ms', { ...good, ms: 1 }, { name: 'TypeError', message: /^inputs\.ms: expected a Tensor$/ }],
    ['a disposed pan', { ...good, pan: disposed }, { name: 'Error', message: /inputs\.pan.*disposed|disposed.*inputs\.pan/ }],
  ];
  t.teardown(() => {
    for (const x of made) x.dispose();
  });

  let live = memory().tensors;
  for (const [what, x, want] of cases) {
    await t.rejects(m.forward(x as Record<string, Tensor>), want, `forward, ${what}: ${want.name} ${want.message.source}`);
  }
  await t.rejects(m.forward(good, { stage: 3 }), { name: 'RangeError', message: /^options\.stage: / }, 'stage 3: RangeError options.stage');
  await t.rejects(m.forward(null as unknown as Record<string, Tensor>), { name: 'TypeError', message: /^inputs: / }, 'null inputs: TypeError');
  t.equal(memory().tensors, live, 'the failed forwards left no tensors behind');

  // a tensor on a device the module is not on
  const c = cuda();
  if (c.available) {
    using gpuLms = good.lms.to('cuda');
    await t.rejects(
      m.forward({ ...good, lms: gpuLms }),
      { name: 'RangeError', message: /^inputs\.lms: is on cuda(:0)?, the module is on cpu$/ },
      'lms on CUDA, module on CPU: RangeError naming inputs.lms',
    );
  } else {
    t.throws(() => good.lms.to('cuda'), Error, `no GPU (${c.reason}): making a CUDA tensor throws`);
  }

  // the same checks guard a training step; a rejected step changes nothing
  using trainer = new Trainer(m, { optimizer: 'adam', lr: 1e-3 });
  using gt = rand([2, 8, P, P]);
  using badGt = rand([2, 4, P, P]);
  live = memory().tensors;
  for (const [what, x, want] of cases.filter(([w]) => /bands|32 x 32|float64|missing ms|typed array/.test(w))) {
    await t.rejects(
      Promise.resolve().then(() => trainer.step(x as Record<string, Tensor>, gt)),
      want,
      `Trainer.step, ${what}: ${want.name}`,
    );
  }
  await t.rejects(
    trainer.step(good, badGt),
    { name: 'RangeError', message: /^target: shape \[2, 4, 64, 64\] does not match the model output \[2, 8, 64, 64\]/ },
    'Trainer.step, target with 4 bands: RangeError naming target',
  );
  t.equal(memory().tensors, live, 'the failed steps left no tensors behind');
  t.equal(trainer.steps, 0, 'no step was taken');
  using w1 = m.getTensor('tail2.net.0.weight');
  t.ok(w1.equal(w0), 'the weights did not change');

  t.notOk(m.native.busy, 'the module is not left busy');
  using again = await m.forward(good);
  t.ok(again.allclose(ref, 1e-6, 1e-7), 'the module still computes the same output');
  const r = await trainer.step(good, gt);
  t.ok(Number.isFinite(r.loss) && trainer.steps === 1, `and trains (loss ${r.loss.toFixed(4)})`);
});

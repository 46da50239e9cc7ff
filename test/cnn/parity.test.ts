// The four CNNs on the real WV3 PanCollection patch (first sample; inputs DN / 2047, outputs × 2047):
//  (a) each beats EXP on SAM and ERGAS with its released WV3 weights (toolbox metrics on DN, no border
//      cut), and the table of SAM / ERGAS / Q8 / Q / SCC is printed;
//  (b) parity with PyTorch references written from the same architectures (fixtures/dlpan_ref.py),
//      which read the patch with scipy and load the same checkpoints with strict=True: WV3 on the
//      8 bands and QB on bands 1-4, to 1e-5 relative (max |diff| / max |ref|);
//  (c) whole images of other sizes, and input errors that name the input;
//  (d) the one stage trains every parameter: a few Adam steps from a seeded init lower the loss.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ArrayDataset,
  baselines,
  createModel,
  loadDlpanWeights,
  manualSeed,
  reducedResolutionMetricsBatch,
  train,
  zeros,
  type Module,
  type Tensor,
} from '../../lib/index.js';
import { loadPansharpeningInput } from '../../lib/data/index.js';
import type { HostArray } from '../../lib/host.js';
import { readSafetensors } from '../../lib/checkpoint-formats/index.js';
import { FIXTURES, MODELS, PATCH, DLPAN, PYTHON, SENSORS, checkpoint, dataUnavailable, firstSample, pythonUnavailable, relError } from './fixtures/helpers.js';

const TOL = 1e-5;
const noData = dataUnavailable();

async function loaded(sensor: string, name: (typeof MODELS)[number], bands: number): Promise<Module> {
  const m = createModel({ model: name, bands: bands as 4 | 8 });
  await loadDlpanWeights(m, checkpoint(sensor, name));
  return m.eval();
}

function runPython(args: string[]): Promise<void> {
  return new Promise((ok, fail) => {
    const p = spawn(PYTHON, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (c) => {
      err += String(c);
    });
    p.on('error', fail);
    p.on('close', (code) => (code === 0 ? ok() : fail(new Error(`python ${args.join(' ')} failed (${code}):\n${err}`))));
  });
}

t.test('WV3 patch: every CNN beats EXP on SAM and ERGAS', { skip: noData }, async (t) => {
  const s = await firstSample();
  const expo = await baselines.exp({ ms: s.ms, dtype: 'float32' });
  const gt64 = s.gt.to('float64');
  const metrics = ['SAM', 'ERGAS', 'Q2n', 'Q', 'SCC'] as const;
  const score = async (x: Tensor) => {
    const x64 = x.to('float64');
    const [r] = await reducedResolutionMetricsBatch(x64, gt64, { ratio: 4, bits: 11, dimCut: 0, metrics });
    x64.dispose();
    return r!;
  };
  const rows: [string, Awaited<ReturnType<typeof score>>][] = [['EXP', await score(expo)]];
  const lms = await score(s.lms);
  for (const name of MODELS) {
    const m = await loaded('WV3', name, 8);
    const ins = { lms: s.lms.div(2047), pan: s.pan.div(2047), ms: s.ms.div(2047) };
    const y = await m.forward(ins);
    t.same(y.shape, [1, 8, 64, 64], `${name}: output [1, 8, 64, 64]`);
    const dn = y.mul(2047);
    const r = await score(dn);
    rows.push([name, r]);
    t.ok(r.SAM < rows[0]![1].SAM, `${name} SAM ${r.SAM.toFixed(4)} < EXP ${rows[0]![1].SAM.toFixed(4)}`);
    t.ok(r.ERGAS < rows[0]![1].ERGAS, `${name} ERGAS ${r.ERGAS.toFixed(4)} < EXP ${rows[0]![1].ERGAS.toFixed(4)}`);
    t.ok(r.SAM < lms.SAM && r.ERGAS < lms.ERGAS, `${name} also beats the file's lms (SAM ${lms.SAM.toFixed(4)}, ERGAS ${lms.ERGAS.toFixed(4)})`);
    for (const x of [...Object.values(ins), y, dn]) x.dispose();
    m.dispose();
  }
  t.comment('WV3 PanCollection patch, sample 0 (64x64); toolbox metrics on DN, ratio 4, 11 bits, no border cut, Q blocks 32; EXP = interp23tap(ms)');
  t.comment(`${'method'.padEnd(10)} ${metrics.map((k) => (k === 'Q2n' ? 'Q8' : k).padStart(8)).join(' ')}`);
  for (const [name, r] of rows) t.comment(`${name.padEnd(10)} ${metrics.map((k) => r[k].toFixed(4).padStart(8)).join(' ')}`);
  t.comment(`(the file's lms: SAM ${lms.SAM.toFixed(4)}, ERGAS ${lms.ERGAS.toFixed(4)}, Q8 ${lms.Q2n.toFixed(4)})`);
  for (const x of [...Object.values(s), expo, gt64]) x.dispose();
});

t.test('parity with the PyTorch references (WV3 and QB checkpoints)', { skip: noData || pythonUnavailable() }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'specfuse-cnn-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const refFile = join(dir, 'ref.safetensors');
  const python = runPython([join(FIXTURES, 'dlpan_ref.py'), PATCH, DLPAN, refFile]);
  const s = await firstSample();
  const ours = new Map<string, Float32Array>();
  for (const { sensor, bands } of SENSORS) {
    const cut = (x: Tensor) => x.slice(1, 0, bands).div(2047).contiguous();
    const ins = { lms: cut(s.lms), ms: cut(s.ms), pan: s.pan.div(2047) };
    for (const name of MODELS) {
      const m = await loaded(sensor, name, bands);
      const y = await m.forward(ins);
      ours.set(`${sensor}/${name}`, (await y.data()) as Float32Array);
      y.dispose();
      m.dispose();
    }
    for (const x of Object.values(ins)) x.dispose();
  }
  for (const x of Object.values(s)) x.dispose();
  await python;
  const ref = readSafetensors(readFileSync(refFile)).tensors;
  t.equal(ref.size, 8, 'the reference ran all eight checkpoints (strict=True)');
  for (const [key, want] of ref) {
    const got = ours.get(key)!;
    t.equal(got.length, want.data.length, `${key}: ${want.shape.join('x')}`);
    const { diff, rel } = relError(got, want.data as Float32Array);
    t.ok(rel <= TOL, `${key}: max |diff| ${diff.toExponential(2)}, relative ${rel.toExponential(2)} <= ${TOL}`);
  }
});

t.test('whole images and input errors', async (t) => {
  const make = (shape: number[]) => zeros(shape).add(0.25);
  for (const name of MODELS) {
    const m = createModel({ model: name, bands: 4 });
    const ins = { lms: make([2, 4, 96, 128]), pan: make([2, 1, 96, 128]), ms: make([2, 4, 24, 32]) };
    const y = await m.forward(ins);
    t.same(y.shape, [2, 4, 96, 128], `${name}: any size (2x4x96x128 in, same out)`);
    y.dispose();
    const err = (inputs: Record<string, Tensor>, msg: RegExp, what: string) => t.rejects(m.forward(inputs), { message: msg }, `${name}: ${what}`);
    const eight = make([2, 8, 96, 128]);
    await err({ ...ins, lms: eight }, /inputs\.lms: \w+ was built for 4 bands: expected 4 channels, got 8/, 'wrong band count');
    await err({ lms: ins.lms }, /inputs\.pan: missing/, 'missing pan');
    const pan = make([2, 1, 96, 120]);
    await err({ ...ins, pan }, /inputs\.pan: expected shape \[2, 1, 96, 128\] \(lms's batch and size\), got \[2, 1, 96, 120\]/, 'PAN of another size');
    const d64 = ins.lms.to('float64');
    await err({ ...ins, lms: d64 }, /inputs\.lms: expected dtype float32/, 'float64 input');
    await t.rejects(m.forward(ins, { stage: 2 }), { name: 'RangeError', message: /has one stage/ }, `${name}: no stage 2`);
    if (name === 'pannet') {
      await err({ lms: ins.lms, pan: ins.pan }, /inputs\.ms: missing/, 'PanNet needs ms');
      const ms = make([2, 4, 24, 30]);
      await err({ ...ins, ms }, /inputs\.ms: expected shape \[2, 4, 24, 32\]/, 'ms not a quarter of lms');
      const odd = { lms: make([1, 4, 30, 32]), pan: make([1, 1, 30, 32]), ms: make([1, 4, 7, 8]) };
      await err(odd, /multiples of 4/, 'sides not multiples of 4');
      for (const x of [ms, ...Object.values(odd)]) x.dispose();
    } else {
      const y2 = await m.forward({ lms: ins.lms, pan: ins.pan });
      t.same(y2.shape, [2, 4, 96, 128], `${name}: takes no ms`);
      y2.dispose();
    }
    for (const x of [...Object.values(ins), eight, pan, d64]) x.dispose();
    m.dispose();
  }
});

t.test('one stage trains every parameter (a few Adam steps from scratch lower the loss)', { skip: noData }, async (t) => {
  const d = await loadPansharpeningInput(PATCH, { dtype: 'float32' });
  const first8 = (a: HostArray): HostArray => {
    const size = a.shape.slice(1).reduce((x, y) => x * y, 1);
    const data = (a.data as Float32Array).slice(0, 8 * size).map((v) => v / 2047);
    return { dtype: 'float32', shape: [8, ...a.shape.slice(1)], data };
  };
  const data = new ArrayDataset({ gt: first8(d.gt!), lms: first8(d.lms!), ms: first8(d.ms!), pan: first8(d.pan) });
  for (const name of MODELS) {
    manualSeed(1);
    const m = createModel({ model: name, bands: 8 });
    const r = await train(m, { data, steps: 8, batchSize: 4, lr: 1e-4, optimizer: 'adam', seed: 1, shuffle: false });
    const first = r.losses[0]!.loss,
      last = r.losses.at(-1)!.loss;
    t.ok(last < first, `${name}: MSE ${first.toExponential(3)} -> ${last.toExponential(3)} in ${r.steps} steps`);
    t.equal(
      m.parameterCounts().trainable,
      m.parameterCounts().total,
      `${name}: stage 1 trains all ${m.parameterCounts().total.toLocaleString('en')} parameters`,
    );
    m.dispose();
  }
});

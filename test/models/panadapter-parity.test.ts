// PanAdapter C++ port vs the PyTorch reference (test/pyref/panadapter.py):
//  (a) parameter / buffer names, shapes and order equal the reference state dict (tiny 8 and 4 bands,
//      tiny with ViT features in the tail, full WV3 and QB);
//  (b) parameter counts of the full presets (spec section 3);
//  (c) numerical parity of stage-1 and stage-2 forwards at batch 1 and 3 for the tiny preset and its
//      variants, and of the full WV3 stage-2 forward at batch 1: Python saves a seeded state dict
//      (adapters.*.cti.scale = 0.5), fixed inputs and its outputs as safetensors; the C++ model loads
//      them and must match to 1e-5 relative (max |diff| / max |ref|); built with the same seed, the C++
//      model must also start from exactly the reference's initial weights;
//  (d) config and input validation errors name the key / input.
import t, { type Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createModel, fromHost, type ModelConfig, type Tensor } from '../../lib/index.js';
import { native, type ConfigValue, type NativeModule, type NativeTensor } from '../../lib/native.js';
import { readSafetensors } from '../../lib/checkpoint-formats/index.js';
import type { HostArray } from '../../lib/host.js';
import { PYTHON } from '../helpers/locations.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../..');
const GENERATOR = join(HERE, 'fixtures', 'panadapter_parity.py');
const TOL = 1e-5;

type Config = Record<string, ConfigValue>;
interface Layout {
  config: Config;
  tensors: [string, number[], boolean][];
  counts: { params_total: number; state_dict_tensors: number };
}
interface Case {
  config: Config;
  runs: [number, number][];
  seed: number;
  python_forward_s: Record<string, number>;
}

function pythonUnavailable(): string | false {
  if (!existsSync(PYTHON)) return `no Python at ${PYTHON} (set SPECFUSE_PYTHON)`;
  const r = spawnSync(PYTHON, ['-c', 'import torch, safetensors'], { encoding: 'utf8' });
  return r.status === 0 ? false : `Python lacks torch / safetensors: ${r.stderr.trim().split('\n').pop()}`;
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

/** The model through the TypeScript registry (lib/models), from a reference config in C++ keys. */
function build(config: Config, preset?: string): NativeModule {
  const { imgDim, ...rest } = config; // TypeScript derives the token grid from `patch`
  if (imgDim !== undefined && imgDim !== Number(rest.patch) / 4) throw new Error('imgDim != patch / 4');
  return createModel({ model: 'panadapter', ...(preset ? { preset } : {}), ...rest } as ModelConfig).native;
}

function readTensors(file: string): Map<string, HostArray> {
  return readSafetensors(readFileSync(file)).tensors;
}

/** Copies a name -> HostArray map into the module; returns how many tensors were written. */
function load(m: NativeModule, weights: Map<string, HostArray>): number {
  const tensors: Tensor[] = [];
  try {
    const named: Record<string, NativeTensor> = {};
    for (const [k, h] of weights) {
      const x = fromHost(h);
      tensors.push(x);
      named[k] = x.native;
    }
    return m.loadTensors(named);
  } finally {
    for (const x of tensors) x.dispose();
  }
}

/** max |got - want| / max |want|, and the same relative to the residual (want - lms) scale. */
function relError(got: ArrayLike<number>, want: ArrayLike<number>, lms: ArrayLike<number>) {
  let diff = 0;
  let ref = 0;
  let res = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
    ref = Math.max(ref, Math.abs(want[i]!));
    res = Math.max(res, Math.abs(want[i]! - lms[i]!));
  }
  return { diff, rel: diff / ref, relResidual: diff / res };
}

const skip = pythonUnavailable();

t.test('PanAdapter vs the PyTorch reference', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'specfuse-panadapter-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const t0 = Date.now();
  await runPython([GENERATOR, dir, '--full']);
  t.comment(`python fixtures: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const layouts = JSON.parse(readFileSync(join(dir, 'layouts.json'), 'utf8')) as Record<string, Layout>;
  const cases = JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8')) as Record<string, Case>;

  t.ok(native.modelNames().includes('panadapter'), 'registered as "panadapter"');

  // ---------------------------------------------------------------------------------------------
  // Parameters and buffers are compared as the module lists them, each in order. (PyTorch's state_dict
  // interleaves them: vit._position_encoding.position_ids, a buffer of that module, comes right before
  // its child's pe.weight; the bridge's stateDict() lists all parameters, then the buffer.)
  const checkLayout = (t: Test, m: NativeModule, ref: Layout) => {
    const params = m.namedParameters();
    const buffers = m.namedBuffers();
    const refParams = ref.tensors.filter(([, , b]) => !b).map(([n, s]) => [n, s]);
    const refBuffers = ref.tensors.filter(([, , b]) => b).map(([n, s]) => [n, s]);
    t.same(
      params.map((p) => [p.name, p.shape]),
      refParams,
      `${refParams.length} parameters: names, shapes, order`,
    );
    t.same(
      buffers.map((b) => [b.name, b.shape]),
      refBuffers,
      `${refBuffers.length} buffers: names, shapes, order`,
    );
    t.same(
      buffers.map((b) => b.dtype),
      refBuffers.map(() => 'int64'),
      'buffers are int64',
    );
    t.equal(params.length + buffers.length, ref.counts.state_dict_tensors, `${ref.counts.state_dict_tensors} state-dict tensors`);
    const total = params.reduce((a, p) => a + p.numel, 0);
    t.equal(total, ref.counts.params_total, `parameter count ${total.toLocaleString('en')}`);
    return total;
  };

  t.test('names, shapes and order (tiny presets)', async (t) => {
    for (const key of ['tiny8', 'tiny4', 'tiny8_vit']) {
      await t.test(key, async (t) => {
        const m = build(layouts[key]!.config);
        checkLayout(t, m, layouts[key]!);
        m.dispose();
      });
    }
  });

  t.test('names, shapes, order and counts (full QB, 4 bands)', async (t) => {
    const m = build({}, 'qb');
    t.equal(checkLayout(t, m, layouts.qb!), 159_774_954, 'QB total 159,774,954');
    m.dispose();
  });

  // ---------------------------------------------------------------------------------------------
  // m must have been built right after native.manualSeed(c.seed).
  const compare = async (t: Test, name: string, c: Case, m: NativeModule) => {
    const weights = readTensors(join(dir, `${name}.weights.safetensors`));
    // Same construction order and init functions as PyTorch: the seeded C++ init is the seeded
    // reference's, bit for bit (the reference then sets every cti.scale to 0.5).
    const differ: string[] = [];
    for (const [k, h] of weights) {
      if (k.endsWith('.cti.scale')) continue;
      using want = fromHost(h);
      const got = m.getTensor(k);
      if (!got.equal(want.native)) differ.push(k);
      got.dispose();
    }
    t.same(differ, [], `seed ${c.seed}: the C++ init equals the Python init (${weights.size} tensors, cti.scale aside)`);
    t.equal(load(m, weights), weights.size, `loaded all ${weights.size} reference tensors`);
    const io = readTensors(join(dir, `${name}.io.safetensors`));
    const spectralMs = (c.config.spectralInput ?? 'ms') === 'ms';
    for (const [stage, batch] of c.runs) {
      const lmsH = io.get(`lms_b${batch}`)!;
      using lms = fromHost(lmsH);
      using pan = fromHost(io.get(`pan_b${batch}`)!);
      using ms = fromHost(io.get(`ms_b${batch}`)!);
      const inputs: Record<string, NativeTensor> = { lms: lms.native, pan: pan.native };
      if (spectralMs) inputs.ms = ms.native;
      const t1 = Date.now();
      const out = await m.forward(inputs, { stage });
      const dt = (Date.now() - t1) / 1000;
      const want = io.get(`out_s${stage}_b${batch}`)!;
      t.same(out.shape, want.shape, `stage ${stage} batch ${batch}: shape [${want.shape.join(', ')}]`);
      const e = relError(out.dataSync() as Float32Array, want.data as Float32Array, lmsH.data as Float32Array);
      out.dispose();
      t.ok(
        e.rel < TOL,
        `stage ${stage} batch ${batch}: rel ${e.rel.toExponential(2)} (residual-relative ${e.relResidual.toExponential(2)}, ` +
          `max abs ${e.diff.toExponential(2)}; C++ ${dt.toFixed(2)} s, Python ${c.python_forward_s[`s${stage}_b${batch}`]} s)`,
      );
    }
  };

  for (const [name, c] of Object.entries(cases)) {
    if (name === 'wv3') continue;
    t.test(
      `parity: ${name} (${JSON.stringify(
        Object.fromEntries(Object.entries(c.config).filter(([k]) => ['bands', 'spectralInput', 'tailUsesVit', 'attentionRoles', 'posEvery'].includes(k))),
      )})`,
      async (t) => {
        native.manualSeed(c.seed);
        const m = build(c.config);
        await compare(t, name, c, m);
        if (name === 'tiny8') {
          // stage 0 = the default = stage 2
          const io = readTensors(join(dir, `${name}.io.safetensors`));
          using lms = fromHost(io.get('lms_b1')!);
          using pan = fromHost(io.get('pan_b1')!);
          using ms = fromHost(io.get('ms_b1')!);
          const a = await m.forward({ lms: lms.native, pan: pan.native, ms: ms.native });
          const b = await m.forward({ lms: lms.native, pan: pan.native, ms: ms.native }, { stage: 2 });
          t.ok(a.equal(b), 'no stage = stage 2');
          a.dispose();
          b.dispose();
        }
        m.dispose();
      },
    );
  }

  t.test('full WV3 (the C++ defaults): names, counts and stage-2 parity at batch 1', async (t) => {
    const t1 = Date.now();
    native.manualSeed(cases.wv3!.seed);
    const m = new native.NativeModule('panadapter', {}); // no keys: the C++ defaults must be the WV3 preset
    t.comment(`constructed in ${((Date.now() - t1) / 1000).toFixed(1)} s`);
    t.equal(checkLayout(t, m, layouts.wv3!), 159_802_606, 'WV3 total 159,802,606');
    await compare(t, 'wv3', cases.wv3!, m);
    m.dispose();
  });
});

// -------------------------------------------------------------------------------------------------
const TINY: Config = {
  nFeats: 48,
  heads: 4,
  encLayers: 4,
  decLayers: 4,
  hiddenDim: 96,
  edsrFeats: 16,
  edsrBlocks: 4,
  lpeCh: 4,
  priorCh: 16,
  k: 24,
  adapterHeads: 4,
  nAdapters: 2,
  injectEvery: 4,
  inrHidden: 48,
};

t.test('config validation names the key', async (t) => {
  const make = (c: Config) => () => new native.NativeModule('panadapter', { ...TINY, ...c });
  t.throws(make({ nAdapters: 3 }), new RangeError('config.nAdapters: must equal (encLayers + decLayers) / injectEvery = 2, got 3'));
  t.throws(make({ injectEvery: 3 }), { name: 'RangeError', message: /config\.injectEvery/ });
  t.throws(make({ heads: 5 }), { name: 'RangeError', message: /config\.nFeats: must be divisible by config\.heads/ });
  t.throws(make({ k: 26 }), { name: 'RangeError', message: /config\.k: must be divisible by config\.adapterHeads/ });
  t.throws(make({ queryIndex: 6 }), { name: 'RangeError', message: /config\.queryIndex: must be in \[0, 5\]/ });
  t.throws(make({ imgDim: 16 }), { name: 'RangeError', message: /^config\.imgDim: unknown option/ }); // `patch` is the one key for the token grid
  t.throws(make({ patch: 30 }), { name: 'RangeError', message: /config\.patch: must be a multiple of 4/ });
  t.throws(make({ spectralInput: 'pan' }), { name: 'RangeError', message: /config\.spectralInput: expected 'ms' or 'bicubic_lms'/ });
  t.throws(make({ attentionRoles: 'x' }), { name: 'RangeError', message: /config\.attentionRoles/ });
  t.throws(make({ bands: 0 }), { name: 'RangeError', message: /config\.bands/ });
  t.throws(make({ bands: 2.5 }), { name: 'RangeError', message: /config\.bands: expected an integer, got 2\.5/ });
  t.throws(make({ posEvery: 1 }), { name: 'TypeError', message: /config\.posEvery: expected a boolean/ });
  t.throws(make({ nFeat: 48 }), { name: 'RangeError', message: /^config\.nFeat: unknown option \(known: bands, nFeats, / });
  // Measured by memory, not time: the full-size model holds 640 MB of float32 weights.
  const rss0 = process.memoryUsage().rss;
  t.throws(() => new native.NativeModule('panadapter', { nAdapters: 5 }), /config\.nAdapters/);
  const grown = process.memoryUsage().rss - rss0;
  t.ok(grown < 100 * 2 ** 20, `full-size configs are rejected before any weight is built (RSS +${(grown / 2 ** 20).toFixed(1)} MB)`);
});

t.test('input validation names the input', async (t) => {
  const m = new native.NativeModule('panadapter', { ...TINY, bands: 4 });
  t.teardown(() => m.dispose());
  const rand = (s: number[], dtype: 'float32' | 'float64' = 'float32') => native.rand(s, dtype);
  const good = { lms: rand([2, 4, 64, 64]), pan: rand([2, 1, 64, 64]), ms: rand([2, 4, 16, 16]) };
  const out = await m.forward(good);
  t.same(out.shape, [2, 4, 64, 64], 'good inputs work');
  out.dispose();
  await t.rejects(m.forward({ ...good, pan: rand([2, 3, 64, 64]) }), new RangeError('inputs.pan: expected shape [B, 1, 64, 64], got [2, 3, 64, 64]'));
  await t.rejects(m.forward({ ...good, lms: rand([2, 8, 64, 64]) }), { name: 'RangeError', message: /inputs\.lms: expected shape \[B, 4, 64, 64\]/ });
  await t.rejects(m.forward({ ...good, ms: rand([2, 4, 64, 64]) }), { name: 'RangeError', message: /inputs\.ms: expected shape \[B, 4, 16, 16\]/ });
  await t.rejects(m.forward({ ...good, pan: rand([3, 1, 64, 64]) }), {
    name: 'RangeError',
    message: /inputs\.pan: batch size 3 differs from inputs\.lms \(2\)/,
  });
  await t.rejects(m.forward({ ...good, pan: rand([2, 1, 64, 64], 'float64') }), { name: 'TypeError', message: /inputs\.pan: expected dtype float32/ });
  t.throws(() => m.forward({ lms: good.lms, pan: good.pan }), { name: 'TypeError', message: /inputs\.ms: missing/ });
  await t.rejects(m.forward(good, { stage: 3 }), { name: 'RangeError', message: /options\.stage/ });
  const big = new native.NativeModule('panadapter', { ...TINY, patch: 96 }); // token grid 24 x 24
  t.same(
    big.namedBuffers().map((b) => b.shape),
    [[1, 576]],
    'patch 96: 576 position ids',
  );
  const x = { lms: rand([1, 8, 96, 96]), pan: rand([1, 1, 96, 96]), ms: rand([1, 8, 24, 24]) };
  for (const stage of [1, 2]) {
    const yb = await big.forward(x, { stage });
    t.same(yb.shape, [1, 8, 96, 96], `patch 96, stage ${stage}: output [1, 8, 96, 96]`);
    yb.dispose();
  }
  for (const v of Object.values(x)) v.dispose();
  big.dispose();
  const noMs = new native.NativeModule('panadapter', { ...TINY, bands: 4, spectralInput: 'bicubic_lms' });
  const y = await noMs.forward({ lms: good.lms, pan: good.pan }, { stage: 1 });
  t.same(y.shape, [2, 4, 64, 64], "spectralInput 'bicubic_lms' needs no ms");
  y.dispose();
  noMs.dispose();
  for (const v of Object.values(good)) v.dispose();
});

// PanAdapter throughput, specfuse (Node) next to PyTorch (Python) in one invocation, same weights,
// batch, precision and device:
//   training-step throughput (samples/s) for stage 1 and stage 2, inference throughput (64×64
//   tiles/s), at the given batches, fp32 and bf16; ratios, peak memory and model FLOPs utilisation
//   from FLOPs counted by PyTorch's FlopCounterMode.
// Usage: node benchmarks/panadapter.mjs [--preset wv3] [--device cpu|cuda] [--batches 4,32]
//        [--precisions fp32,bf16] [--steps 10] [--rounds 1] [--compile] [--torch-channels-last]
//        [--json out.json] [--only train|infer]
// specfuse runs in its defaults (PanAdapter is built channels-last; --no-channels-last for NCHW), the
// PyTorch side in eager defaults (NCHW); --torch-channels-last adds PyTorch with the module and inputs
// in torch.channels_last as a further column, in the same alternating rounds.
// --rounds N alternates the two sides N times (specfuse first in odd rounds, PyTorch first in even
// ones) and reports each side's median over the rounds and the median of the per-round ratios: on a
// machine whose speed drifts between minutes (a VM's steal time) one side measured minutes after
// the other compares two different machines.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createModel, devices, deviceMemory, loadWeights, rand, Trainer, getNumThreads, setCudnnBenchmark } from '../dist/index.js';
import { median, printTable } from './util.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values: a } = parseArgs({
  options: {
    preset: { type: 'string', default: 'wv3' },
    device: { type: 'string', default: 'cpu' },
    batches: { type: 'string', default: '4,32' },
    precisions: { type: 'string', default: 'fp32,bf16' },
    steps: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '1' },
    compile: { type: 'boolean', default: false },
    'torch-channels-last': { type: 'boolean', default: false },
    json: { type: 'string' },
    only: { type: 'string' },
    python: { type: 'string' },
    stages: { type: 'string', default: '1,2' },
    // specfuse's layout (its model default unless given) and cuDNN autotuning (on by default on CUDA)
    'channels-last': { type: 'boolean' },
    'no-channels-last': { type: 'boolean' },
    'no-cudnn-benchmark': { type: 'boolean' },
  },
});
const python = a.python ?? process.env.SPECFUSE_PYTHON ?? join(here, '..', '.venv', 'bin', 'python');
const py = (...args) => execFileSync(python, [join(here, 'py', 'panadapter.py'), ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
const device = a.device;
const steps = Number(a.steps),
  warmup = Number(a.warmup);
const batches = a.batches.split(',').map(Number);
const precisions = a.precisions.split(',');
const stages = a.stages.split(',').map(Number);
const rounds = Number(a.rounds);
if (!(Number.isInteger(rounds) && rounds >= 1)) throw new Error(`--rounds: a whole number >= 1, not '${a.rounds}'`);

const tmp = mkdtempSync(join(tmpdir(), 'specfuse-bench-'));
const weights = join(tmp, 'weights.pt');
py('init', a.preset, weights);
const flops = JSON.parse(py('flops', a.preset));

const spec = [];
for (const precision of precisions)
  for (const batch of batches) {
    if (a.only !== 'infer') for (const stage of stages) spec.push({ kind: 'train', stage, batch, precision, steps, warmup });
    if (a.only !== 'train') spec.push({ kind: 'infer', batch, precision, steps, warmup });
  }

// ---- specfuse ---------------------------------------------------------------------------------
const onGpu = device.startsWith('cuda');
const cudaPeak = () => (onGpu ? deviceMemory(device).peakAllocated : null);
const model = createModel({ model: 'panadapter', preset: a.preset });
await loadWeights(model, weights);
await model.to(device);
if (a['channels-last']) model.setChannelsLast(true);
if (a['no-channels-last']) model.setChannelsLast(false);
const channelsLast = model.channelsLast;
if (onGpu && !a['no-cudnn-benchmark']) setCudnnBenchmark(true);
/** One pass of every case on specfuse's side: per case the median step time and the peak memory. */
async function runOurs() {
  const out = [];
  for (const c of spec) {
    const cfgBands = model.config.bands;
    const lms = rand([c.batch, cfgBands, 64, 64], 'float32', device),
      pan = rand([c.batch, 1, 64, 64], 'float32', device);
    const ms = rand([c.batch, cfgBands, 16, 16], 'float32', device),
      gt = rand([c.batch, cfgBands, 64, 64], 'float32', device);
    const times = [];
    if (onGpu) deviceMemory(device, true);
    if (c.kind === 'train') {
      model.setStage(c.stage);
      const tr = new Trainer(model, { lr: 1e-5, autocast: c.precision === 'bf16' ? 'bf16' : 'none', stage: c.stage });
      for (let i = 0; i < c.warmup + c.steps; i++) {
        const t0 = performance.now();
        await tr.step({ lms, pan, ms }, gt); // resolves with the loss value: synchronised like loss.item()
        if (i >= c.warmup) times.push((performance.now() - t0) / 1000);
        if (onGpu && i === c.warmup - 1) deviceMemory(device, true); // steady-state peak: after cuDNN autotuning
      }
      tr.dispose();
    } else {
      model.eval();
      for (let i = 0; i < c.warmup + c.steps; i++) {
        const t0 = performance.now();
        const out = await model.forward({ lms, pan, ms }, { stage: 2, autocast: c.precision === 'bf16' ? 'bf16' : undefined });
        await out.data();
        out.dispose();
        if (i >= c.warmup) times.push((performance.now() - t0) / 1000);
        if (onGpu && i === c.warmup - 1) deviceMemory(device, true);
      }
    }
    for (const t of [lms, pan, ms, gt]) t.dispose();
    out.push({ ...c, seconds: median(times), peakBytes: cudaPeak() });
  }
  return out;
}

// ---- PyTorch ----------------------------------------------------------------------------------
const runTheirs = () => JSON.parse(py('run', a.preset, weights, device, JSON.stringify(spec)));
const torchCl = a['torch-channels-last'];
const runTheirsCl = () => JSON.parse(py('run', a.preset, weights, device, JSON.stringify(spec.map((c) => ({ ...c, channelsLast: true })))));

const ourRounds = [],
  theirRounds = [],
  theirClRounds = [];
for (let r = 0; r < rounds; r++) {
  if (r % 2 === 0) {
    ourRounds.push(await runOurs());
    theirRounds.push(runTheirs());
    if (torchCl) theirClRounds.push(runTheirsCl());
  } else {
    if (torchCl) theirClRounds.push(runTheirsCl());
    theirRounds.push(runTheirs());
    ourRounds.push(await runOurs());
  }
}
model.dispose();
// Each side's median over the rounds; the ratio is the median of the per-round ratios (paired).
const ours = spec.map((c, i) => ({
  ...ourRounds[0][i],
  seconds: median(ourRounds.map((o) => o[i].seconds)),
  roundSeconds: ourRounds.map((o) => o[i].seconds),
  ratio: median(ourRounds.map((o, r) => theirRounds[r].rows[i].seconds / o[i].seconds)),
  ratioTorchChannelsLast: torchCl ? median(ourRounds.map((o, r) => theirClRounds[r].rows[i].seconds / o[i].seconds)) : null,
}));
const theirsCl = torchCl
  ? spec.map((_, i) => ({ seconds: median(theirClRounds.map((t) => t.rows[i].seconds)), roundSeconds: theirClRounds.map((t) => t.rows[i].seconds) }))
  : null;
const theirs = {
  ...theirRounds[0],
  rows: spec.map((_, i) => ({
    ...theirRounds[0].rows[i],
    seconds: median(theirRounds.map((t) => t.rows[i].seconds)),
    roundSeconds: theirRounds.map((t) => t.rows[i].seconds),
  })),
};
// torch.compile (a further reference row): stage-2 training and inference at the largest batch only,
// since every case compiles anew (about a minute each)
const compiledSpec = spec.map((c, i) => ({ ...c, compiled: true, i })).filter((c) => c.batch === Math.max(...batches) && (c.kind === 'infer' || c.stage === 2));
const compiledRun = a.compile ? JSON.parse(py('run', a.preset, weights, device, JSON.stringify(compiledSpec))) : null;
const compiled = compiledRun ? { rows: spec.map((_, i) => compiledRun.rows.find((r) => r.i === i) ?? null) } : null;
rmSync(tmp, { recursive: true, force: true });

// ---- table --------------------------------------------------------------------------------------
const peakFlops = (precision) => {
  const name = devices().find((d) => d.type === 'cuda')?.name ?? '';
  if (device === 'cpu') return null;
  // dense tensor-core peaks of the lent GPUs (H100 SXM / H200): 989 TFLOP/s bf16; fp32 rows run their
  // convolutions in TF32 (cuDNN's default in PyTorch and libtorch alike), so they are set against 495 TFLOP/s
  if (/H100|H200/.test(name)) return precision === 'bf16' ? 989e12 : 495e12;
  return null;
};
const rows = ours.map((o, i) => {
  const p = theirs.rows[i];
  const perSample = o.kind === 'train' ? flops[`train_stage${o.stage}`] : flops.forward;
  const ourRate = o.batch / o.seconds,
    pyRate = o.batch / p.seconds;
  const pk = peakFlops(o.precision);
  const mfu = (rate) => (pk ? `${((100 * rate * perSample) / pk).toFixed(1)}%` : '-');
  const row = [o.kind === 'train' ? `train stage ${o.stage}` : 'inference', o.batch, o.precision, ourRate.toFixed(2), pyRate.toFixed(2), o.ratio.toFixed(2)];
  if (theirsCl) row.push((o.batch / theirsCl[i].seconds).toFixed(2), o.ratioTorchChannelsLast.toFixed(2));
  if (compiled) {
    const r = compiled.rows[i];
    if (r) {
      const cr = o.batch / r.seconds;
      row.push(cr.toFixed(2), (ourRate / cr).toFixed(2));
    } else row.push('-', '-');
  }
  row.push(mfu(ourRate), mfu(pyRate));
  if (device !== 'cpu')
    row.push(o.peakBytes ? `${(o.peakBytes / 2 ** 30).toFixed(1)} GiB` : '-', p.peakBytes ? `${(p.peakBytes / 2 ** 30).toFixed(1)} GiB` : '-');
  return row;
});
const header = ['case', 'batch', 'precision', 'specfuse samples/s', 'PyTorch eager samples/s', 'ratio'];
if (torchCl) header.push('PyTorch channels-last samples/s', 'ratio vs channels-last');
if (compiled) header.push('torch.compile samples/s', 'ratio vs compile');
header.push('MFU specfuse', 'MFU PyTorch');
if (device !== 'cpu') header.push('specfuse peak mem', 'PyTorch peak mem');
printTable(header, rows);
console.log(
  `specfuse settings: channels-last ${channelsLast ? 'on' : 'off'}, cuDNN autotuning ${onGpu && !a['no-cudnn-benchmark'] ? 'on' : 'off'}; PyTorch side: eager defaults (NCHW)${torchCl ? ', and channels-last' : ''}`,
);
console.log(
  `preset ${a.preset}; device ${device === 'cpu' ? `cpu (${getNumThreads()} threads)` : theirs.device}; PyTorch ${theirs.torch}; ` +
    `medians of ${steps} steps after ${warmup} warm-up${rounds > 1 ? `, ${rounds} alternating rounds (ratio: median of the per-round ratios)` : ''}; counted FLOPs per sample: forward ${(flops.forward / 1e9).toFixed(1)} G, ` +
    `train stage 1 ${(flops.train_stage1 / 1e9).toFixed(1)} G, stage 2 ${(flops.train_stage2 / 1e9).toFixed(1)} G`,
);
if (a.json) writeFileSync(a.json, JSON.stringify({ ours, theirs, theirsChannelsLast: theirsCl, compiled, flops }, null, 2));

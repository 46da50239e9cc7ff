// PanAdapter throughput, specfuse (Node) next to PyTorch (Python) in one invocation, same weights,
// batch, precision and device:
//   training-step throughput (samples/s) for stage 1 and stage 2, inference throughput (64×64
//   tiles/s), at the given batches, fp32 and bf16; ratios, peak memory and model FLOPs utilisation
//   from FLOPs counted by PyTorch's FlopCounterMode.
// Usage: node benchmarks/panadapter.mjs [--preset wv3] [--device cpu|cuda] [--batches 4,32]
//        [--precisions fp32,bf16] [--steps 10] [--rounds 1] [--lockstep] [--compile]
//        [--torch-channels-last] [--json out.json] [--only train|infer]
// specfuse runs in its defaults (PanAdapter is built channels-last; --no-channels-last for NCHW), the
// PyTorch side in eager defaults (NCHW); --torch-channels-last adds PyTorch with the module and inputs
// in torch.channels_last as a further column, in the same alternating rounds.
// --rounds N alternates the two sides N times (specfuse first in odd rounds, PyTorch first in even
// ones) and reports each side's median over the rounds and the median of the per-round ratios: on a
// machine whose speed drifts between minutes (a VM's steal time) one side measured minutes after
// the other compares two different machines.
// --lockstep goes further: PyTorch runs as a server process and the sides take single steps in turn
// (order reversed every step), each ratio the median of per-pair ratios of steps timed within a
// second of each other; specfuse then runs a fixed team as wide as PyTorch's (setNumThreads).
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { createModel, devices, deviceMemory, loadWeights, getNumThreads, setNumThreads, setCudnnBenchmark } from '../dist/index.js';
import { specfuseStep } from './specfuse-step.mjs';
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
    lockstep: { type: 'boolean', default: false },
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
    const { step, dispose } = specfuseStep(model, c, device);
    const times = [];
    if (onGpu) deviceMemory(device, true);
    for (let i = 0; i < c.warmup + c.steps; i++) {
      const t = await step();
      if (i >= c.warmup) times.push(t);
      if (onGpu && i === c.warmup - 1) deviceMemory(device, true); // steady-state peak: after cuDNN autotuning
    }
    dispose();
    out.push({ ...c, seconds: median(times), peakBytes: cudaPeak() });
  }
  return out;
}

// ---- PyTorch ----------------------------------------------------------------------------------
const runTheirs = () => JSON.parse(py('run', a.preset, weights, device, JSON.stringify(spec)));
const torchCl = a['torch-channels-last'];
const lockstep = a.lockstep;
const runTheirsCl = () => JSON.parse(py('run', a.preset, weights, device, JSON.stringify(spec.map((c) => ({ ...c, channelsLast: true })))));

/** A PyTorch process that runs one step per request (`panadapter.py serve`), for the lockstep mode. */
async function torchServer() {
  const child = spawn(python, [join(here, 'py', 'panadapter.py'), 'serve', a.preset, weights, device], { stdio: ['pipe', 'pipe', 'inherit'] });
  const answers = [];
  let exited = null;
  createInterface({ input: child.stdout }).on('line', (line) => answers.shift()?.resolve(JSON.parse(line)));
  child.on('exit', (code) => {
    exited = new Error(`the PyTorch side (panadapter.py serve) exited with code ${code}`);
    for (const w of answers.splice(0)) w.reject(exited);
  });
  const next = () => new Promise((resolve, reject) => (exited ? reject(exited) : answers.push({ resolve, reject })));
  const ask = (req) => {
    const p = next();
    child.stdin.write(`${JSON.stringify(req)}\n`);
    return p;
  };
  const hello = await next(); // {torch, device, threads}
  return { hello, ask, close: () => (exited ? Promise.resolve() : (child.stdin.end(), once(child, 'exit'))) };
}

/**
 * One lockstep pass: per case every side is set up, then the sides take single steps in turn (the
 * order reversed every step), so each pair of steps is timed within a second of each other and the
 * ratio (median of the per-pair ratios) compares the two on the same machine state; a VM whose speed
 * drifts between minutes moves both sides of a pair alike. specfuse runs a fixed team as wide as
 * PyTorch's: its adaptive default would count the partner's last step as other load.
 */
async function runLockstep(servers) {
  const [theirsSrv, theirsClSrv] = servers;
  const ours = [],
    theirs = [],
    theirsCl = [];
  for (const c of spec) {
    const mine = specfuseStep(model, c, device);
    await theirsSrv.ask({ case: c });
    if (theirsClSrv) await theirsClSrv.ask({ case: { ...c, channelsLast: true } });
    const sides = [
      { step: mine.step, t: [] },
      { step: async () => (await theirsSrv.ask({ step: true })).seconds, t: [] },
    ];
    if (theirsClSrv) sides.push({ step: async () => (await theirsClSrv.ask({ step: true })).seconds, t: [] });
    if (onGpu) deviceMemory(device, true);
    for (let i = 0; i < c.warmup + c.steps; i++) {
      for (const side of i % 2 === 0 ? sides : [...sides].reverse()) {
        const t = await side.step();
        if (i >= c.warmup) side.t.push(t);
      }
      if (onGpu && i === c.warmup - 1) deviceMemory(device, true);
    }
    mine.dispose();
    const [o, p, q] = sides.map((side) => side.t);
    ours.push({
      ...c,
      seconds: median(o),
      peakBytes: cudaPeak(),
      pairRatio: median(p.map((t, k) => t / o[k])),
      pairRatioCl: q ? median(q.map((t, k) => t / o[k])) : null,
    });
    theirs.push({ ...c, seconds: median(p), peakBytes: null });
    if (q) theirsCl.push({ ...c, seconds: median(q), peakBytes: null });
  }
  const info = { torch: theirsSrv.hello.torch, device: theirsSrv.hello.device };
  return { ours, theirs: { ...info, rows: theirs }, theirsCl: theirsClSrv ? { ...info, rows: theirsCl } : null };
}

const ourRounds = [],
  theirRounds = [],
  theirClRounds = [];
if (lockstep) {
  const servers = [await torchServer()];
  if (torchCl) servers.push(await torchServer());
  setNumThreads(servers[0].hello.threads); // fixed and equal on both sides, see runLockstep
  try {
    for (let r = 0; r < rounds; r++) {
      const res = await runLockstep(servers);
      ourRounds.push(res.ours);
      theirRounds.push(res.theirs);
      if (torchCl) theirClRounds.push(res.theirsCl);
    }
  } finally {
    await Promise.all(servers.map((srv) => srv.close()));
  }
} else
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
  // lockstep: a round's ratio is the median of its per-pair ratios
  ratio: median(ourRounds.map((o, r) => o[i].pairRatio ?? theirRounds[r].rows[i].seconds / o[i].seconds)),
  ratioTorchChannelsLast: torchCl ? median(ourRounds.map((o, r) => o[i].pairRatioCl ?? theirClRounds[r].rows[i].seconds / o[i].seconds)) : null,
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
  `specfuse settings: channels-last ${channelsLast ? 'on' : 'off'}, ${lockstep || process.env.SPECFUSE_NUM_THREADS ? 'fixed' : 'default (adaptive)'} intra-op team, cuDNN autotuning ${onGpu && !a['no-cudnn-benchmark'] ? 'on' : 'off'}; PyTorch side: eager defaults (NCHW)${torchCl ? ', and channels-last' : ''}`,
);
console.log(
  `preset ${a.preset}; device ${device === 'cpu' ? `cpu (${getNumThreads()} threads)` : theirs.device}; PyTorch ${theirs.torch}; ` +
    `medians of ${steps} steps after ${warmup} warm-up${lockstep ? ', lockstep (ratio: median of the per-pair ratios)' : ''}${rounds > 1 ? `, ${rounds} ${lockstep ? '' : 'alternating '}rounds (ratio: median of the per-round ratios)` : ''}; counted FLOPs per sample: forward ${(flops.forward / 1e9).toFixed(1)} G, ` +
    `train stage 1 ${(flops.train_stage1 / 1e9).toFixed(1)} G, stage 2 ${(flops.train_stage2 / 1e9).toFixed(1)} G`,
);
if (a.json) writeFileSync(a.json, JSON.stringify({ lockstep, ours, theirs, theirsChannelsLast: theirsCl, compiled, flops }, null, 2));

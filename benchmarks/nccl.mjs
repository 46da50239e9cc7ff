// backend 'nccl' on one GPU (a GPU machine: scripts/gpu-nccl-check.sh builds and runs this), in one
// invocation:
//  1. correctness at world size 1: all-reduce (sum, max, mean) / broadcast / barrier values on
//     cuda:0, a CPU tensor refused, and N training steps through the NCCL group equal to N steps
//     without one (same weights and batches);
//  2. the cost of NCCL data parallelism in a PanAdapter training step: median step time alone and
//     in a world-size-1 NCCL group (every gradient bucket all-reduced), specfuse next to PyTorch
//     alone and under DDP on NCCL (same weights, stage, batch, fp32), each in a fresh process.
// Usage: node benchmarks/nccl.mjs [--preset tiny] [--stage 2] [--batch 4] [--steps 20] [--warmup 5]
//        [--python PY] [--json out.json]
// Exits 1 when a correctness check fails (the timings are still printed).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median, printTable } from './util.mjs';

const here = dirname(fileURLToPath(import.meta.url));

if (process.argv[2] === '--worker') {
  const job = JSON.parse(process.argv[3]);
  console.log(JSON.stringify(job.mode === 'check' ? await check(job) : await timeSteps(job)));
  process.exit(0);
}

const { values: a } = parseArgs({
  options: {
    preset: { type: 'string', default: 'tiny' },
    stage: { type: 'string', default: '2' },
    batch: { type: 'string', default: '4' },
    steps: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '5' },
    python: { type: 'string' },
    json: { type: 'string' },
  },
});
const python = a.python ?? process.env.SPECFUSE_PYTHON ?? join(here, '..', '.venv', 'bin', 'python');
const tmp = mkdtempSync(join(tmpdir(), 'specfuse-bench-nccl-'));
const weights = join(tmp, 'weights.pt');
execFileSync(python, [join(here, 'py', 'panadapter.py'), 'init', a.preset, weights]);
const job = { preset: a.preset, weights, stage: Number(a.stage), batch: Number(a.batch), steps: Number(a.steps), warmup: Number(a.warmup) };
// torchrun's variables for a world-size-1 job (Python's DDP reads them; specfuse's workers get a file store)
const env = { RANK: '0', WORLD_SIZE: '1', LOCAL_RANK: '0', LOCAL_WORLD_SIZE: '1', MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(29500 + (process.pid % 1000)) };

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
    let out = '';
    p.stdout.on('data', (c) => {
      out += c;
    });
    p.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop())) : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}`))));
  });
}
const ours = (j) =>
  run(process.execPath, [fileURLToPath(import.meta.url), '--worker', JSON.stringify({ ...job, ...j, store: join(tmp, `${j.mode}-${j.nccl}.store`) })]);
const theirs = (ddp) =>
  run(python, [join(here, 'py', 'distributed_ddp.py'), a.preset, weights, a.stage, a.batch, a.steps, a.warmup, '1', 'cuda', ddp ? 'ddp' : 'plain']);

const checked = await ours({ mode: 'check' });
console.log(`NCCL world size 1 on ${checked.device}: ${checked.failures.length ? `FAILED: ${checked.failures.join('; ')}` : 'every check passed'}`);
for (const [name, value] of Object.entries(checked.observed)) console.log(`  ${name}: ${JSON.stringify(value)}`);

const timings = {
  alone: await ours({ mode: 'time', nccl: false }),
  nccl: await ours({ mode: 'time', nccl: true }),
  torchAlone: await theirs(false),
  torchDdp: await theirs(true),
};
const ms = (s) => (s * 1000).toFixed(2);
const overhead = (x, base) => `${(((x - base) / base) * 100).toFixed(1)} %`;
console.log(`PanAdapter ${a.preset}, stage ${a.stage} training on cuda:0, batch ${a.batch}, fp32, median of ${a.steps} steps after ${a.warmup} warm-up`);
printTable(
  ['', 'alone ms/step', 'NCCL world 1 ms/step', 'NCCL overhead', 'comm ms/step'],
  [
    ['specfuse', ms(timings.alone.seconds), ms(timings.nccl.seconds), overhead(timings.nccl.seconds, timings.alone.seconds), ms(timings.nccl.commSeconds)],
    ['PyTorch (DDP)', ms(timings.torchAlone.seconds), ms(timings.torchDdp.seconds), overhead(timings.torchDdp.seconds, timings.torchAlone.seconds), '-'],
  ],
);
if (a.json) writeFileSync(a.json, JSON.stringify({ args: a, checked, timings }, null, 2));
rmSync(tmp, { recursive: true, force: true });
process.exit(checked.failures.length ? 1 : 0);

async function panAdapter(lib, j) {
  const model = lib.createModel({ model: 'panadapter', preset: j.preset });
  await lib.loadWeights(model, j.weights);
  await model.to('cuda:0');
  model.setStage(j.stage);
  return model;
}

function batchOf(lib, model, batch, seed) {
  lib.manualSeed(seed);
  const b = model.config.bands;
  const t = (shape) => lib.rand(shape).to('cuda:0');
  return { inputs: { lms: t([batch, b, 64, 64]), pan: t([batch, 1, 64, 64]), ms: t([batch, b, 16, 16]) }, target: t([batch, b, 64, 64]) };
}

async function check(j) {
  const lib = await import('../dist/index.js');
  const failures = [],
    observed = {};
  const expect = (name, got, want) => {
    observed[name] = got;
    if (JSON.stringify(got) !== JSON.stringify(want)) failures.push(`${name}: ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
  };
  const info = await lib.initDistributed({ backend: 'nccl', rank: 0, worldSize: 1, localRank: 0, store: { kind: 'file', path: j.store }, timeoutMs: 120000 });
  expect('group', { backend: info.backend, device: info.device }, { backend: 'nccl', device: 'cuda:0' });
  const on = (values, dtype) => lib.tensor(values, [values.length], dtype).to(info.device);
  const x = on(new Float32Array([1, 2, 3]));
  await lib.allReduce(x);
  expect('all-reduce sum', Array.from(x.dataSync()), [1, 2, 3]);
  const m = on(new Float64Array([0.5]));
  await lib.allReduce(m, 'max');
  expect('all-reduce max (float64)', Array.from(m.dataSync()), [0.5]);
  const mean = on(new Float32Array([2, 4]));
  await lib.allReduce(mean, 'mean');
  expect('all-reduce mean', Array.from(mean.dataSync()), [2, 4]);
  const b = on(new Int32Array([7, 0]));
  await lib.broadcast(b, 0);
  expect('broadcast int32', Array.from(b.dataSync()), [7, 0]);
  await lib.barrier();
  const cpu = await lib.allReduce(lib.tensor(new Float32Array(2), [2])).then(
    () => 'accepted',
    (e) => `${e.name}/${e.code}`,
  );
  expect('a CPU tensor', cpu, 'DistributedError/unsupported');

  // the same steps without and with the group: at world size 1 the averaged gradient is the rank's own
  const trained = [];
  for (const distributed of [false, true]) {
    const model = await panAdapter(lib, j);
    const tr = new lib.Trainer(model, { lr: 1e-4, stage: j.stage });
    if (distributed) await tr.setDistributed();
    const losses = [];
    for (let s = 0; s < 3; s++) {
      const { inputs, target } = batchOf(lib, model, j.batch, 10 + s);
      losses.push((await tr.step(inputs, target)).loss);
    }
    const sd = model.stateDict();
    const flat = Object.keys(sd)
      .sort()
      .map((k) => Array.from(sd[k].to('float32').dataSync()));
    trained.push({ losses, flat });
    tr.dispose();
  }
  let diff2 = 0,
    ref2 = 0;
  trained[0].flat.forEach((ref, i) =>
    ref.forEach((r, k) => {
      diff2 += (trained[1].flat[i][k] - r) ** 2;
      ref2 += r * r;
    }),
  );
  const rel = Math.sqrt(diff2 / ref2);
  observed['training: losses alone / through NCCL'] = trained.map((t) => t.losses);
  observed['training: ‖Δw‖/‖w‖ after 3 steps'] = rel;
  // cuDNN's backward kernels may sum in another order from run to run: equal to 1e-5, not bit for bit
  if (!(rel <= 1e-5)) failures.push(`training through NCCL differs from training alone: ‖Δw‖/‖w‖ = ${rel}`);
  await lib.destroyDistributed();
  return { device: info.device, failures, observed };
}

async function timeSteps(j) {
  const lib = await import('../dist/index.js');
  if (j.nccl) await lib.initDistributed({ backend: 'nccl', rank: 0, worldSize: 1, localRank: 0, store: { kind: 'file', path: j.store }, timeoutMs: 120000 });
  const model = await panAdapter(lib, j);
  const tr = new lib.Trainer(model, { lr: 1e-5, stage: j.stage });
  if (j.nccl) await tr.setDistributed();
  const { inputs, target } = batchOf(lib, model, j.batch, 1);
  const times = [],
    comms = [];
  for (let i = 0; i < j.warmup + j.steps; i++) {
    const c0 = lib.distributedStats()?.commSeconds ?? 0;
    const t0 = performance.now();
    await tr.step(inputs, target);
    if (i >= j.warmup) {
      times.push((performance.now() - t0) / 1000);
      comms.push((lib.distributedStats()?.commSeconds ?? 0) - c0);
    }
  }
  if (j.nccl) await lib.destroyDistributed();
  return { seconds: median(times), commSeconds: median(comms) };
}

// Data-parallel scaling on the CPU: PanAdapter training samples/s with 1 process × T threads and
// with 2 processes × T/2 threads (equal total threads, the same global batch), specfuse (c10d Gloo,
// gradients averaged in buckets after backward) next to PyTorch DDP on Gloo, same weights, stage,
// batch and threads; plus the communication time per step.
// Usage: node benchmarks/distributed.mjs [--preset tiny] [--stage 2] [--batch 8] [--steps 10]
//        [--warmup 3] [--threads 2] [--json out.json]
// (each process is started by this script; the specfuse ranks run `--worker`, the Python ranks
// benchmarks/py/distributed_ddp.py with torchrun's variables)
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median, printTable } from './util.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const python = process.env.SPECFUSE_PYTHON ?? join(here, '..', '.venv', 'bin', 'python');

if (process.argv[2] === '--worker') {
  await worker(JSON.parse(process.argv[3]));
  process.exit(0);
}

const { values: a } = parseArgs({
  options: {
    preset: { type: 'string', default: 'tiny' },
    stage: { type: 'string', default: '2' },
    batch: { type: 'string', default: '8' },
    steps: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    threads: { type: 'string', default: '2' },
    json: { type: 'string' },
  },
});
const stage = Number(a.stage),
  batch = Number(a.batch),
  steps = Number(a.steps),
  warmup = Number(a.warmup),
  threads = Number(a.threads);
if (batch % 2 || threads % 2) throw new RangeError('--batch and --threads must be even (they are split between 2 processes)');

const tmp = mkdtempSync(join(tmpdir(), 'specfuse-bench-dist-'));
const weights = join(tmp, 'weights.pt');
execFileSync(python, [join(here, 'py', 'panadapter.py'), 'init', a.preset, weights]);

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}
function run(cmd, args, env) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
    let out = '';
    p.stdout.on('data', (c) => {
      out += c;
    });
    p.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop())) : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}`))));
  });
}
/** Starts `world` ranks at once; returns their JSON lines. */
async function ranks(world, start) {
  const port = await freePort();
  return Promise.all(
    Array.from({ length: world }, (_, rank) =>
      start(rank, {
        RANK: String(rank),
        WORLD_SIZE: String(world),
        LOCAL_WORLD_SIZE: String(world),
        MASTER_ADDR: '127.0.0.1',
        MASTER_PORT: String(port),
        OMP_NUM_THREADS: String(threads / world),
        SPECFUSE_NUM_THREADS: String(threads / world),
      }),
    ),
  );
}

const rows = [],
  raw = [];
for (const world of [1, 2]) {
  const perRank = batch / world,
    t = threads / world;
  const job = { preset: a.preset, weights, stage, batch: perRank, steps, warmup, world };
  const ours = await ranks(world, (rank, env) => run(process.execPath, [fileURLToPath(import.meta.url), '--worker', JSON.stringify({ ...job, rank })], env));
  const theirs = await ranks(world, (rank, env) =>
    run(python, [join(here, 'py', 'distributed_ddp.py'), a.preset, weights, String(stage), String(perRank), String(steps), String(warmup), String(t)], env),
  );
  // a step ends when the slowest rank's does: the max of the ranks' medians
  const sec = (rs) => Math.max(...rs.map((r) => r.seconds));
  const comm = (rs) => Math.max(...rs.map((r) => r.commSeconds));
  raw.push({ world, ours, theirs });
  rows.push([
    `${world} × ${t} thread${t > 1 ? 's' : ''}`,
    `${world} × ${perRank}`,
    (batch / sec(ours)).toFixed(2),
    (batch / sec(theirs)).toFixed(2),
    (sec(theirs) / sec(ours)).toFixed(2),
    world > 1 ? (comm(ours) * 1000).toFixed(1) : '-',
    world > 1 ? (comm(theirs) * 1000).toFixed(1) : '-',
  ]);
}
const s1 = (i) => Number(rows[i][2]),
  p1 = (i) => Number(rows[i][3]);
console.log(
  `PanAdapter ${a.preset}, stage ${stage} training, global batch ${batch}, ${threads} threads in all, median of ${steps} steps after ${warmup} warm-up`,
);
printTable(['processes', 'batch per rank', 'specfuse samples/s', 'PyTorch samples/s', 'ratio', 'specfuse comm ms/step', 'DDP all-reduce ms/step'], rows);
console.log(`scaling 1 → 2 processes: specfuse ${(s1(1) / s1(0)).toFixed(2)}×, PyTorch DDP ${(p1(1) / p1(0)).toFixed(2)}×`);
if (a.json) writeFileSync(a.json, JSON.stringify({ args: a, raw }, null, 2));
rmSync(tmp, { recursive: true, force: true });

async function worker(j) {
  const lib = await import('../dist/index.js');
  const { createModel, loadWeights, Trainer, rand, manualSeed, initDistributed, destroyDistributed, distributedStats, barrier } = lib;
  const model = createModel({ model: 'panadapter', preset: j.preset });
  await loadWeights(model, j.weights);
  model.setStage(j.stage);
  const tr = new Trainer(model, { lr: 1e-5, stage: j.stage });
  if (j.world > 1) {
    await initDistributed({ timeoutMs: 120000 });
    await tr.setDistributed();
  }
  manualSeed(1 + j.rank);
  const b = model.config.bands;
  const lms = rand([j.batch, b, 64, 64]),
    pan = rand([j.batch, 1, 64, 64]),
    ms = rand([j.batch, b, 16, 16]),
    gt = rand([j.batch, b, 64, 64]);
  const times = [],
    comms = [];
  for (let i = 0; i < j.warmup + j.steps; i++) {
    const c0 = distributedStats()?.commSeconds ?? 0;
    const t0 = performance.now();
    await tr.step({ lms, pan, ms }, gt);
    if (i >= j.warmup) {
      times.push((performance.now() - t0) / 1000);
      comms.push((distributedStats()?.commSeconds ?? 0) - c0);
    }
  }
  console.log(JSON.stringify({ rank: j.rank, seconds: median(times), commSeconds: median(comms) }));
  if (j.world > 1) {
    await barrier();
    await destroyDistributed();
  }
}

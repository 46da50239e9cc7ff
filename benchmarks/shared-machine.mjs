// Throughput on a shared machine, specfuse and PyTorch side by side: the same model, weights, batch
// (4, 64×64) and precision (fp32, CPU) trained or run in a loop for a fixed time
//   - alone;
//   - beside one busy-loop process (`node -e 'for(;;){}'`);
//   - as one of two identical processes started together (two specfuse trainings, two PyTorch
//     trainings, ...): each one's rate is reported, and each must hold up, not just the first.
// Each side's rate in a condition is given as a fraction of its own rate alone. Models: the tiny
// PanAdapter (training = stage 2) and FusionNet (a DLPan-Toolbox CNN, WV3 checkpoint from ../shared/data).
// specfuse runs with its defaults (adaptive intra-op team), PyTorch with its own (one thread per core).
//
// Usage: node benchmarks/shared-machine.mjs [--models panadapter,fusionnet] [--cases train,infer]
//        [--conditions alone,busy,twin] [--seconds 12] [--json out.json]
//        [--env OMP_WAIT_POLICY=PASSIVE] (passed to the measured processes of both sides, not to the busy loop)
// Internal: node benchmarks/shared-machine.mjs --worker MODEL CASE WEIGHTS SECONDS (the specfuse loop).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median, printTable } from './util.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const BATCH = 4;
const FUSIONNET = join(here, '..', '..', 'shared', 'data', 'weights', 'dlpan', 'WV3', 'fusionnet.pth');

const { values: a, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    models: { type: 'string', default: 'panadapter,fusionnet' },
    cases: { type: 'string', default: 'train,infer' },
    conditions: { type: 'string', default: 'alone,busy,twin' },
    seconds: { type: 'string', default: '12' },
    env: { type: 'string', multiple: true, default: [] },
    json: { type: 'string' },
    worker: { type: 'boolean', default: false },
    python: { type: 'string' },
  },
});

if (a.worker) {
  // The specfuse loop: warm-up, then steps for `seconds`; the rate is batch / median step time.
  const [modelName, kind, weights, seconds] = positionals;
  const { createModel, loadWeights, rand, Trainer, getNumThreads } = await import('../dist/index.js');
  const model = createModel(modelName === 'panadapter' ? { model: 'panadapter', preset: 'tiny' } : { model: 'fusionnet', bands: 8 });
  await loadWeights(model, weights);
  const b = model.config.bands ?? 8;
  const x = { lms: rand([BATCH, b, 64, 64]), pan: rand([BATCH, 1, 64, 64]), ms: rand([BATCH, b, 16, 16]) };
  const gt = rand([BATCH, b, 64, 64]);
  const stage = model.defaultStage; // PanAdapter: 2, FusionNet: its single stage
  if (kind === 'train') model.setStage(stage); // the optimizer covers what the stage trains (PanAdapter: not the frozen ViT)
  const trainer = kind === 'train' ? new Trainer(model, { lr: 1e-5, stage }) : null;
  if (!trainer) model.eval();
  const step = trainer
    ? () => trainer.step(x, gt)
    : async () => {
        const out = await model.forward(x);
        await out.data();
        out.dispose();
      };
  for (let i = 0; i < 3; i++) await step();
  const times = [];
  const end = performance.now() + 1000 * Number(seconds);
  while (performance.now() < end || times.length < 5) {
    const t0 = performance.now();
    await step();
    times.push((performance.now() - t0) / 1000);
  }
  console.log(JSON.stringify({ samplesPerSecond: BATCH / median(times), steps: times.length, threads: getNumThreads() }));
  process.exit(0);
}

const python = a.python ?? process.env.SPECFUSE_PYTHON ?? join(here, '..', '.venv', 'bin', 'python');
const pyWorker = join(here, 'py', 'shared_machine.py');
const extraEnv = Object.fromEntries(a.env.map((kv) => kv.split('=', 2)));
const tmp = mkdtempSync(join(tmpdir(), 'specfuse-shared-'));
const weightsOf = {};
for (const m of a.models.split(',')) {
  if (m === 'fusionnet') {
    if (!existsSync(FUSIONNET)) throw new Error(`FusionNet needs ${FUSIONNET} (../shared/data)`);
    weightsOf[m] = FUSIONNET;
  } else {
    weightsOf[m] = join(tmp, `${m}.pt`);
    execFileSync(python, [pyWorker, 'init', m, weightsOf[m]]);
  }
}

/** Starts one measured loop; resolves its JSON result. */
function worker(side, model, kind) {
  const seconds = a.seconds;
  const [cmd, args] =
    side === 'specfuse'
      ? [process.execPath, [fileURLToPath(import.meta.url), '--worker', model, kind, weightsOf[model], seconds]]
      : [python, [pyWorker, 'run', model, weightsOf[model], kind, String(BATCH), seconds]];
  const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...extraEnv } });
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  return new Promise((resolve, reject) =>
    p.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop())) : reject(new Error(`${side} worker exited ${code}`)))),
  );
}

async function measure(condition, side, model, kind) {
  if (condition === 'twin') return Promise.all([worker(side, model, kind), worker(side, model, kind)]);
  const busy = condition === 'busy' ? spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }) : null;
  try {
    if (busy) await new Promise((r) => setTimeout(r, 2000)); // the competitor is running before we start
    return [await worker(side, model, kind)];
  } finally {
    busy?.kill();
  }
}

const results = [];
for (const model of a.models.split(','))
  for (const kind of a.cases.split(','))
    for (const condition of a.conditions.split(','))
      for (const side of ['specfuse', 'pytorch']) {
        const runs = await measure(condition, side, model, kind);
        results.push({ model, kind, condition, side, rates: runs.map((r) => r.samplesPerSecond), threads: runs.map((r) => r.threads) });
        console.error(`${model} ${kind} ${condition} ${side}: ${runs.map((r) => r.samplesPerSecond.toFixed(2)).join(' / ')} samples/s`);
      }
rmSync(tmp, { recursive: true, force: true });

const CONDITION = { alone: 'alone', busy: 'beside a busy loop', twin: 'two at once (each)' };
const rows = [];
for (const r of results) {
  if (r.side !== 'specfuse') continue;
  const theirs = results.find((x) => x.model === r.model && x.kind === r.kind && x.condition === r.condition && x.side === 'pytorch');
  const alone = (side) => results.find((x) => x.model === r.model && x.kind === r.kind && x.condition === 'alone' && x.side === side)?.rates[0];
  const kept = (rates, side) => (alone(side) ? rates.map((x) => `${((100 * x) / alone(side)).toFixed(0)}%`).join(' / ') : '-');
  rows.push([
    r.model === 'panadapter' ? 'PanAdapter tiny' : 'FusionNet',
    r.kind === 'train' ? 'training' : 'inference',
    CONDITION[r.condition],
    r.rates.map((x) => x.toFixed(2)).join(' / '),
    theirs.rates.map((x) => x.toFixed(2)).join(' / '),
    kept(r.rates, 'specfuse'),
    kept(theirs.rates, 'pytorch'),
  ]);
}
console.log(`\nbatch ${BATCH}, 64×64, fp32, CPU; ${a.seconds} s per loop; env ${JSON.stringify(extraEnv)}`);
printTable(['model', 'case', 'condition', 'specfuse samples/s', 'PyTorch samples/s', 'specfuse kept', 'PyTorch kept'], rows);
if (a.json) writeFileSync(a.json, JSON.stringify({ date: new Date().toISOString(), seconds: Number(a.seconds), env: extraEnv, results }, null, 2));

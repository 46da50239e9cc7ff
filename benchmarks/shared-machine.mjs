// Throughput on a shared machine: benchmarks/panadapter.mjs (specfuse and PyTorch, same tiny
// PanAdapter, weights, batch 4, fp32, CPU) run alone, beside one busy-loop process, and beside a
// second specfuse training (tiny PanAdapter stage 2 in a loop); each side's throughput beside the
// competitor as a fraction of its own throughput alone.
// Usage: node benchmarks/shared-machine.mjs [--steps 20] [--competitors none,busy,specfuse]
//        [--env OMP_WAIT_POLICY=PASSIVE] (passed to the measured processes, not the competitor)
// Internal: node benchmarks/shared-machine.mjs --train-forever (the specfuse competitor).
import { execFileSync, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values: a } = parseArgs({
  options: {
    steps: { type: 'string', default: '20' },
    competitors: { type: 'string', default: 'none,busy,specfuse' },
    env: { type: 'string', multiple: true, default: [] },
    'train-forever': { type: 'boolean', default: false },
  },
});

if (a['train-forever']) {
  const { createModel, rand, Trainer } = await import('../dist/index.js');
  const m = createModel({ model: 'panadapter', preset: 'tiny' });
  m.setStage(2);
  const b = m.config.bands;
  const x = { lms: rand([4, b, 64, 64]), pan: rand([4, 1, 64, 64]), ms: rand([4, b, 16, 16]) },
    gt = rand([4, b, 64, 64]);
  const tr = new Trainer(m, { lr: 1e-5, stage: 2 });
  for (;;) await tr.step(x, gt);
}

function startCompetitor(kind) {
  if (kind === 'none') return null;
  const args = kind === 'busy' ? ['-e', 'for (;;) {}'] : [fileURLToPath(import.meta.url), '--train-forever'];
  return spawn(process.execPath, args, { stdio: 'ignore' });
}

const extraEnv = Object.fromEntries(a.env.map((kv) => kv.split('=', 2)));
const results = {};
for (const kind of a.competitors.split(',')) {
  const competitor = startCompetitor(kind);
  try {
    if (competitor) await new Promise((r) => setTimeout(r, 3000)); // let it reach its steady state
    const json = join(here, 'results', `.shared-${kind}.json`);
    execFileSync(
      process.execPath,
      [join(here, 'panadapter.mjs'), '--preset', 'tiny', '--batches', '4', '--precisions', 'fp32', '--stages', '2', '--steps', a.steps, '--json', json],
      { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...extraEnv } },
    );
    const { ours, theirs } = JSON.parse((await import('node:fs')).readFileSync(json, 'utf8'));
    (await import('node:fs')).rmSync(json);
    results[kind] = ours.map((o, i) => ({
      case: o.kind === 'train' ? 'train stage 2' : 'inference',
      ours: o.batch / o.seconds,
      theirs: theirs.rows[i].batch / theirs.rows[i].seconds,
    }));
  } finally {
    competitor?.kill();
  }
}
const { printTable } = await import('./util.mjs');
const rows = [];
for (const kind of Object.keys(results)) {
  for (const [i, r] of results[kind].entries()) {
    const alone = results.none?.[i];
    rows.push([
      kind === 'none' ? 'alone' : kind === 'busy' ? 'beside a busy loop' : 'beside a specfuse training',
      r.case,
      r.ours.toFixed(2),
      r.theirs.toFixed(2),
      alone ? `${((100 * r.ours) / alone.ours).toFixed(0)}%` : '-',
      alone ? `${((100 * r.theirs) / alone.theirs).toFixed(0)}%` : '-',
    ]);
  }
}
console.log(
  `\ntiny PanAdapter, batch 4, fp32, CPU; env ${JSON.stringify(extraEnv)}; SPECFUSE_NUM_THREADS=${process.env.SPECFUSE_NUM_THREADS ?? 'unset (adaptive)'}`,
);
printTable(['condition', 'case', 'specfuse samples/s', 'PyTorch samples/s', 'specfuse kept', 'PyTorch kept'], rows);

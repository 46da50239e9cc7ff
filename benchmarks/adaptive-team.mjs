// What the adaptive intra-op team costs on an idle machine: one process alternates single steps with
// the default adaptive team (sized to the cores other processes leave free) and with a fixed team
// of the same width, the order reversed every pair; the ratio is the median of the per-pair ratios
// (fixed / adaptive time: above 1, the adaptive team is faster). Tiny PanAdapter, fp32, CPU:
// stage-1 and stage-2 training steps and inference. This is what `panadapter.mjs --lockstep`
// relies on when it fixes specfuse's team to compare with PyTorch.
// Usage: node benchmarks/adaptive-team.mjs [--batch 4] [--pairs 30] [--threads N (default: the cores)]
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { createModel } from '../dist/index.js';
import { native } from '../dist/native.js';
import { specfuseStep } from './specfuse-step.mjs';
import { median, printTable } from './util.mjs';

const { values: a } = parseArgs({
  options: { batch: { type: 'string', default: '4' }, pairs: { type: 'string', default: '30' }, threads: { type: 'string' } },
});
const b = Number(a.batch),
  pairs = Number(a.pairs),
  threads = Number(a.threads ?? availableParallelism());
const model = createModel({ model: 'panadapter', preset: 'tiny' });
const rows = [];
for (const kind of ['train stage 1', 'train stage 2', 'inference']) {
  const c = kind === 'inference' ? { kind: 'infer', batch: b } : { kind: 'train', stage: kind.endsWith('1') ? 1 : 2, batch: b };
  const { step, dispose } = specfuseStep(model, { ...c, precision: 'fp32' });
  for (let i = 0; i < 3; i++) await step(); // warm-up
  const adaptive = [],
    fixed = [];
  for (let i = 0; i < pairs; i++) {
    for (const mode of i % 2 ? ['adaptive', 'fixed'] : ['fixed', 'adaptive']) {
      // the adaptive flag has no public setter (the default sets it; setNumThreads fixes the team)
      native.setNumThreads(threads, mode === 'adaptive');
      (mode === 'adaptive' ? adaptive : fixed).push((await step()) * 1000); // ms
    }
  }
  dispose();
  rows.push([kind, median(adaptive).toFixed(1), median(fixed).toFixed(1), median(fixed.map((f, i) => f / adaptive[i])).toFixed(3)]);
}
printTable(['case', 'adaptive team ms', 'fixed team ms', 'fixed / adaptive (paired median)'], rows);
console.log(`tiny PanAdapter, batch ${b}, fp32, cpu, ${threads} threads at most, ${pairs} pairs after 3 warm-up steps`);
model.dispose();

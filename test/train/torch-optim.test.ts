// The optimizer state exported in torch.optim's layout loads into torch.optim.Adam and takes the
// same next step as specfuse resuming from the same checkpoint.
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createModel, manualSeed, readCheckpoint, saveWeights, train, writeTorchOptimizer, type Module } from '../../lib/index.js';
import { readSafetensors, writeSafetensors } from '../../lib/checkpoint-formats/index.js';
import { pythonUnavailable, runPython, tempDir } from '../checkpoint-formats/fixtures/helpers.js';
import { regression } from './fixtures/regression.js';

const ORACLE = fileURLToPath(new URL('./fixtures/torch_optim.py', import.meta.url));

function mlp(): Module {
  manualSeed(8);
  return createModel({ model: 'mlp', inFeatures: 6, hidden: 16, outFeatures: 3, layers: 1 });
}

t.test('specfuse resumes and torch.optim.Adam continues from the export: the same step', async (t) => {
  const skip = pythonUnavailable(['torch', 'safetensors']);
  if (skip) {
    t.skip(skip);
    return;
  }
  const dir = tempDir(t, 'specfuse-torchopt-');
  const data = regression(16, 6, 3, 31);
  const all = await data.batch([...Array(16).keys()]);
  writeFileSync(join(dir, 'data.safetensors'), writeSafetensors({ x: all.x!, gt: all.gt! }));
  const opts = {
    data,
    batchSize: 16,
    optimizer: 'adam' as const,
    lr: 5e-3,
    weightDecay: 0.01,
    noDecay: true,
    groups: [{ params: 'net.2.*', lr: 2e-2 }],
    checkpointDir: join(dir, 'ck'),
  };
  using a = mlp();
  await train(a, { ...opts, steps: 3 });
  const ck = readCheckpoint(join(dir, 'ck'))!;
  t.equal(ck.state.step, 3);
  writeTorchOptimizer(join(dir, 'optimizer.torch.safetensors'), ck);
  writeFileSync(join(dir, 'spec.json'), JSON.stringify({ optimizer: 'adam', state: join(dir, 'optimizer.torch.safetensors') }));
  const meta = readSafetensors(readFileSync(join(dir, 'optimizer.torch.safetensors'))).metadata;
  const groups = JSON.parse(meta.param_groups!);
  t.same(
    groups.map((g: { params: number[]; lr: number; weight_decay: number }) => [g.params, g.lr, g.weight_decay]),
    [
      [[0], 2e-2, 0.01],
      [[1], 2e-2, 0],
      [[2], 5e-3, 0.01],
      [[3], 5e-3, 0],
    ],
    "torch numbering, each group's lr and decay",
  );
  runPython([ORACLE, join(ck.dir, 'model.safetensors'), join(dir, 'data.safetensors'), join(dir, 'spec.json'), join(dir, 'torch.safetensors')]);
  await train(a, { ...opts, steps: 4, resume: true });
  await saveWeights(a, join(dir, 'ours.safetensors'));
  const ours = readSafetensors(readFileSync(join(dir, 'ours.safetensors'))).tensors;
  const theirs = readSafetensors(readFileSync(join(dir, 'torch.safetensors'))).tensors;
  for (const [k, x] of ours) {
    const y = theirs.get(k)!.data as Float32Array;
    let worst = 0;
    (x.data as Float32Array).forEach((v, i) => {
      worst = Math.max(worst, Math.abs(v - y[i]!));
    });
    t.ok(worst <= 1e-6, `${k}: step 4, max |specfuse - torch| = ${worst.toExponential(2)}`);
  }
});

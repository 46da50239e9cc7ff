// Parameter groups: each tensor gets its group's lr and weight decay (checked against
// torch.optim.AdamW with the same groups, one step, 1e-6), the no-decay rule, schedules per group,
// and typed errors for globs that match nothing.
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createModel, learningRate, manualSeed, resolveParamGroups, saveWeights, train, type Module } from '../../lib/index.js';
import { readSafetensors, writeSafetensors } from '../../lib/checkpoint-formats/index.js';
import { isNoDecay, parseGroupsOption } from '../../lib/train/groups.js';
import { pythonUnavailable, runPython, tempDir } from '../checkpoint-formats/fixtures/helpers.js';
import { regression } from './fixtures/regression.js';

const ORACLE = fileURLToPath(new URL('./fixtures/torch_optim.py', import.meta.url));

function mlp(): Module {
  manualSeed(5);
  return createModel({ model: 'mlp', inFeatures: 6, hidden: 16, outFeatures: 3, layers: 1 });
}

t.test('globs, the no-decay rule and the resolved groups', async (t) => {
  const params = [
    { name: 'body.0.weight', shape: [8, 4, 3, 3] },
    { name: 'body.0.bias', shape: [8] },
    { name: 'body.norm1.weight', shape: [8, 8] },
    { name: 'head.conv.weight', shape: [4, 8, 3, 3] },
    { name: 'head.gate', shape: [1] },
    { name: 'head.conv.bias', shape: [4] },
  ];
  const g = resolveParamGroups(params, [{ params: 'head.**', lr: 1e-3, weightDecay: 0.1, name: 'head' }], { lr: 1e-4, weightDecay: 0.01, noDecay: true });
  t.same(g, [
    { name: 'head', params: ['head.conv.weight'], lr: 1e-3, weightDecay: 0.1 },
    { name: 'head.no_decay', params: ['head.gate', 'head.conv.bias'], lr: 1e-3, weightDecay: 0 },
    { name: 'default', params: ['body.0.weight'], lr: 1e-4, weightDecay: 0.01 },
    { name: 'default.no_decay', params: ['body.0.bias', 'body.norm1.weight'], lr: 1e-4, weightDecay: 0 },
  ]);
  t.ok(isNoDecay('blocks.3.ln1.weight', [4, 4]), 'a norm by name');
  t.notOk(isNoDecay('blocks.3.attn.weight', [4, 4]));
  t.throws(
    () => resolveParamGroups(params, [{ params: 'tail.*', lr: 1 }], { lr: 1, weightDecay: 0 }),
    /groups\[0\]: 'tail\.\*' matches no trainable parameter/,
  );
  t.throws(() => resolveParamGroups(params, [{ params: 'head.**', lr: -1 }], { lr: 1, weightDecay: 0 }), /groups\[0\]\.lr: must be a finite number >= 0/);
  t.same(parseGroupsOption('head.**:lr=1e-3:wd=0.1;body.0.*,x.*:lr=2e-4'), [
    { params: ['head.**'], lr: 1e-3, weightDecay: 0.1 },
    { params: ['body.0.*', 'x.*'], lr: 2e-4 },
  ]);
  t.throws(() => parseGroupsOption('head.**:rate=3'), /unknown key 'rate'/);
});

t.test('one AdamW step with groups equals torch.optim.AdamW with the same groups', async (t) => {
  const skip = pythonUnavailable(['torch', 'safetensors']);
  if (skip) {
    t.skip(skip);
    return;
  }
  const dir = tempDir(t, 'specfuse-groups-');
  const data = regression(16, 6, 3, 21);
  const all = await data.batch([...Array(16).keys()]);
  writeFileSync(join(dir, 'data.safetensors'), writeSafetensors({ x: all.x!, gt: all.gt! }));
  using m = mlp();
  await saveWeights(m, join(dir, 'w0.safetensors'));
  const groups = [{ params: 'net.2.*', lr: 3e-2, weightDecay: 0.2, name: 'head' }];
  // the whole set in one batch: the step sees the same samples as the oracle's
  const r = await train(m, { data, steps: 1, batchSize: 16, optimizer: 'adamw', lr: 1e-2, weightDecay: 0.05, groups, noDecay: true });
  t.same(
    r.groups.map((g) => [g.name, g.params, g.lr, g.weightDecay]),
    [
      ['head', ['net.2.weight'], 3e-2, 0.2],
      ['head.no_decay', ['net.2.bias'], 3e-2, 0],
      ['default', ['net.0.weight'], 1e-2, 0.05],
      ['default.no_decay', ['net.0.bias'], 1e-2, 0],
    ],
  );
  await saveWeights(m, join(dir, 'w1.safetensors'));
  const spec = { optimizer: 'adamw', groups: r.groups.map((g) => ({ params: g.params, lr: g.lr, weight_decay: g.weightDecay })) };
  writeFileSync(join(dir, 'spec.json'), JSON.stringify(spec));
  const py = JSON.parse(
    runPython([ORACLE, join(dir, 'w0.safetensors'), join(dir, 'data.safetensors'), join(dir, 'spec.json'), join(dir, 'torch.safetensors')]),
  );
  t.ok(Math.abs(py.loss - r.losses[0]!.loss) < 1e-6, `same loss (${r.losses[0]!.loss} vs ${py.loss})`);
  const ours = readSafetensors(readFileSync(join(dir, 'w1.safetensors'))).tensors;
  const theirs = readSafetensors(readFileSync(join(dir, 'torch.safetensors'))).tensors;
  const start = readSafetensors(readFileSync(join(dir, 'w0.safetensors'))).tensors;
  for (const [k, a] of ours) {
    const b = theirs.get(k)!.data as Float32Array,
      s = start.get(k)!.data as Float32Array;
    let worst = 0,
      moved = 0;
    (a.data as Float32Array).forEach((x, i) => {
      worst = Math.max(worst, Math.abs(x - b[i]!));
      moved = Math.max(moved, Math.abs(x - s[i]!));
    });
    t.ok(worst <= 1e-6, `${k}: max |specfuse - torch| = ${worst.toExponential(2)} (the step moved it by up to ${moved.toExponential(2)})`);
  }
});

t.test("schedules apply per group, from each group's own rate", async (t) => {
  using m = mlp();
  const seen: number[][] = [];
  const schedule = { kind: 'cosine' as const, warmup: 2, minLr: 1e-4 };
  await train(m, {
    data: regression(16),
    steps: 6,
    batchSize: 4,
    lr: 1e-2,
    schedule,
    groups: [{ params: 'net.0.*', lr: 1e-3 }],
    callbacks: [
      {
        onStepEnd: (s) => {
          seen.push(s.lrs);
        },
      },
    ],
  });
  for (let b = 0; b < 6; b++) {
    t.same(seen[b], [learningRate({ ...schedule, minLr: 1e-5 }, 1e-3, b, 6), learningRate(schedule, 1e-2, b, 6)], `step ${b + 1}`);
  }
});

t.test('SGD with groups steps each group at its own rate', async (t) => {
  using a = mlp();
  using b = mlp();
  const data = regression(16);
  await train(a, { data, steps: 1, batchSize: 16, optimizer: 'sgd', momentum: 0, lr: 1e-2, groups: [{ params: 'net.2.*', lr: 0 }] });
  await train(b, { data, steps: 1, batchSize: 16, optimizer: 'sgd', momentum: 0, lr: 1e-2 });
  using c = mlp();
  for (const [name, frozen] of [
    ['net.2.weight', true],
    ['net.0.weight', false],
  ] as const) {
    const wa = a.getTensor(name),
      wb = b.getTensor(name),
      wc = c.getTensor(name);
    t.equal(wa.equal(wc), frozen, `${name} ${frozen ? 'kept (lr 0)' : 'moved'}`);
    if (!frozen) t.ok(wa.equal(wb), `${name} moved as without groups`);
    for (const w of [wa, wb, wc]) w.dispose();
  }
});

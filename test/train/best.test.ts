// Callbacks and the monitored best: the best weights (top-k files and bestWeights) equal the
// weights at the best monitored validation, any hook can stop training, and the hooks run in order.
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createModel, manualSeed, train, type Callback, type Module } from '../../lib/index.js';
import type { HostArray } from '../../lib/host.js';
import { readSafetensors } from '../../lib/checkpoint-formats/index.js';
import { tempDir } from '../checkpoint-formats/fixtures/helpers.js';
import { tiles } from './fixtures/tiles.js';
import { regression } from './fixtures/regression.js';

function pnn(): Module {
  manualSeed(2);
  return createModel({ model: 'pnn', bands: 4 });
}

async function snapshot(m: Module): Promise<Map<string, HostArray>> {
  const sd = m.stateDict();
  const out = new Map<string, HostArray>();
  for (const [k, v] of Object.entries(sd)) {
    out.set(k, await v.toHost());
    v.dispose();
  }
  return out;
}

function sameWeights(a: Map<string, HostArray>, b: Map<string, HostArray>): boolean {
  return (
    a.size === b.size &&
    [...a].every(([k, x]) => {
      const y = b.get(k);
      return !!y && x.data.length === y.data.length && (x.data as Float32Array).every((v, i) => v === (y.data as Float32Array)[i]);
    })
  );
}

for (const [metric, mode] of [
  ['valid.SAM', 'min'],
  ['valid.PSNR', 'max'],
] as const) {
  t.test(`the best weights are those of the best ${metric} (${mode}), top-2 kept`, async (t) => {
    const dir = tempDir(t, 'specfuse-best-');
    using m = pnn();
    const atValidation = new Map<number, Map<string, HostArray>>();
    const saved: string[] = [];
    const hooks: Callback = {
      onValidationEnd: async (v) => {
        atValidation.set(v.step, await snapshot(m));
      },
      onCheckpoint: (c) => {
        if (c.kind === 'best') saved.push(c.path);
      },
    };
    // a high lr makes the monitored value go up and down: the best is not simply the last
    const r = await train(m, {
      data: tiles(8),
      valid: tiles(4, 16, 9),
      steps: 24,
      batchSize: 4,
      lr: 2e-2,
      evalEvery: 2,
      seed: 4,
      validation: { metrics: ['SAM', 'PSNR'], scale: 2047 },
      monitor: { metric },
      saveTopK: 2,
      checkpointDir: join(dir, 'ck'),
      bestWeights: join(dir, 'best.safetensors'),
      callbacks: [hooks],
    });
    const key = metric.slice(6);
    const values = r.valid.map((v) => [v.step, v[key]!] as const);
    const sorted = [...values].sort((a, b) => (mode === 'min' ? a[1] - b[1] : b[1] - a[1]));
    t.equal(r.best!.step, sorted[0]![0], `best at step ${sorted[0]![0]} (${key} ${sorted[0]![1].toFixed(4)}; last ${values.at(-1)![1].toFixed(4)})`);
    t.equal(r.best!.value, sorted[0]![1]);
    t.equal(r.bestValid, sorted[0]![1]);
    const best = readSafetensors(readFileSync(join(dir, 'best.safetensors'))).tensors;
    t.ok(sameWeights(best, atValidation.get(r.best!.step)!), 'best.safetensors = the weights at the best step');
    t.notOk(sameWeights(best, await snapshot(m)), 'and not the final weights');
    t.same(
      r.topK.map((e) => e.step),
      sorted.slice(0, 2).map((e) => e[0]),
      'top-2 by the monitor, best first',
    );
    for (const e of r.topK) {
      t.ok(sameWeights(readSafetensors(readFileSync(e.path)).tensors, atValidation.get(e.step)!), `${e.path.split('/').pop()} = weights at step ${e.step}`);
    }
    t.ok(saved.length >= 2, 'onCheckpoint heard of the best files');
    t.equal(saved.filter((p) => existsSync(p) && p.includes('best-step-')).length, 2, 'only the top 2 remain on disk');
  });
}

t.test('early stopping follows the monitor', async (t) => {
  using m = pnn();
  const r = await train(m, {
    data: tiles(8),
    valid: tiles(4, 16, 9),
    steps: 400,
    batchSize: 4,
    lr: 1e-1,
    evalEvery: 2,
    validation: { metrics: ['ERGAS'], scale: 2047 },
    monitor: { metric: 'valid.ERGAS' },
    earlyStopping: { patience: 2 },
  });
  t.equal(r.stopped, 'early-stopping');
  const last = r.valid.slice(-2).map((v) => v.ERGAS!);
  t.ok(
    last.every((x) => x >= r.bestValid!),
    `the last two ERGAS (${last.map((x) => x.toFixed(3)).join(', ')}) did not beat ${r.bestValid!.toFixed(3)}`,
  );
});

t.test('hooks run in list order, every hook can stop training', async (t) => {
  const order: string[] = [];
  using m = createModel({ model: 'mlp', inFeatures: 6, hidden: 8, outFeatures: 3, layers: 1 });
  const r = await train(m, {
    data: regression(16),
    valid: regression(8, 6, 3, 5),
    steps: 20,
    batchSize: 4,
    evalEvery: 4,
    callbacks: [
      {
        onStepEnd: (s) => {
          order.push(`a${s.step}`);
        },
        onEpochEnd: (e) => {
          order.push(`epoch${e.epoch}`);
        },
        onTrainEnd: (e) => {
          order.push(`end:${e.stopped}`);
        },
      },
      {
        onStepEnd: (s) => {
          order.push(`b${s.step}`);
        },
        onValidationEnd: (v, c) => {
          order.push(`valid${v.step}`);
          if (v.step === 8) c.stop('enough');
        },
      },
    ],
  });
  t.equal(r.stopped, 'callback');
  t.equal(r.stopReason, 'enough');
  t.equal(r.steps, 8, 'stopped after the step whose validation asked');
  t.same(order, [
    'a1',
    'b1',
    'a2',
    'b2',
    'a3',
    'b3',
    'a4',
    'b4',
    'valid4',
    'epoch1',
    'a5',
    'b5',
    'a6',
    'b6',
    'a7',
    'b7',
    'a8',
    'b8',
    'valid8',
    'epoch2',
    'end:callback',
  ]);
  for (const hook of ['onStepEnd', 'onEpochEnd', 'onCheckpoint'] as const) {
    using m2 = createModel({ model: 'mlp', inFeatures: 6, hidden: 8, outFeatures: 3, layers: 1 });
    const dir = tempDir(t, 'specfuse-stop-');
    const r2 = await train(m2, {
      data: regression(16),
      steps: 20,
      batchSize: 4,
      checkpointDir: dir,
      checkpointEvery: 3,
      callbacks: [{ [hook]: (_: unknown, c: { stop(r: string): void }) => c.stop(hook) }],
    });
    t.equal(r2.stopped, 'callback', `${hook} stopped it`);
    t.ok(r2.steps < 20, `after ${r2.steps} steps`);
  }
  await t.rejects(train(m, { data: regression(16), steps: 2, monitor: { metric: 'valid.SAM' } }), /'valid.SAM' is not computed/);
  await t.rejects(train(m, { data: regression(16), steps: 2, monitor: { metric: 'loss' } }), /expected 'valid.loss' or 'valid.<metric>'/);
  await t.rejects(train(m, { data: regression(16), steps: 2, validation: { metrics: ['SAMM' as 'SAM'] } }), /unknown metric 'SAMM'/);
});

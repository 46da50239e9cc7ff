// train() under faults: a dataset that throws at batch 1, 2 and N rejects with the dataset's error
// (no unhandled rejection) after writing a checkpoint of the last completed step; two runs on one
// checkpoint folder; resume with nothing to resume from, with changed options; the log trimmed on resume.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArrayDataset, CsvLogger, createModel, manualSeed, readCheckpoint, train, type Module } from '../../lib/index.js';
import { regression } from '../train/fixtures/regression.js';

const tmp = mkdtempSync(join(tmpdir(), 'specfuse-trainfaults-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => {
  unhandled.push(e);
};
process.on('unhandledRejection', onUnhandled);
t.teardown(() => {
  process.off('unhandledRejection', onUnhandled);
});

function mlp(): Module {
  manualSeed(3);
  return createModel({ model: 'mlp', inFeatures: 6, hidden: 16, outFeatures: 3, layers: 1 });
}

/** regression(40), whose batch() rejects on its `failAt`-th call (1-based: batches are fetched in order). */
function failing(failAt: number): ArrayDataset {
  const d = regression(40);
  let calls = 0;
  const batch = d.batch.bind(d);
  d.batch = async (indices) => {
    if (++calls === failAt) {
      await new Promise((r) => setTimeout(r, 5));
      throw new Error(`disk read failed at batch ${failAt}`);
    }
    return batch(indices);
  };
  return d;
}

const opts = { steps: 6, batchSize: 4, lr: 1e-2, seed: 2 };
for (const failAt of [1, 2, 6]) {
  t.test(`a dataset that throws at batch ${failAt}`, async (t) => {
    using m = mlp();
    const dir = join(tmp, `fail-${failAt}`);
    await t.rejects(
      train(m, { ...opts, data: failing(failAt), checkpointDir: dir }),
      { message: `disk read failed at batch ${failAt}` },
      "the promise rejects with the dataset's error",
    );
    const ck = readCheckpoint(dir);
    t.ok(ck, 'a checkpoint exists');
    t.equal(ck!.state.batches, failAt - 1, `of the last completed step (${failAt - 1})`);
    // and the run continues from it, to the same weights as a run that never failed
    using r = mlp();
    const done = await train(r, { ...opts, data: regression(40), checkpointDir: dir, resume: true });
    t.equal(done.steps, 6);
    using ref = mlp();
    await train(ref, { ...opts, data: regression(40) });
    t.ok(ref.getTensor('net.0.weight').equal(r.getTensor('net.0.weight')), "resumed weights equal an unbroken run's");
  });
}

t.test('two runs on one checkpoint folder: the second is refused', async (t) => {
  using a = mlp();
  using b = mlp();
  const dir = join(tmp, 'two');
  const first = train(a, { ...opts, steps: 40, data: regression(40), checkpointDir: dir });
  await t.rejects(train(b, { ...opts, data: regression(40), checkpointDir: dir }), /in use by another run/);
  t.equal((await first).steps, 40, 'the first run is not disturbed');
  using c = mlp();
  t.equal((await train(c, { ...opts, data: regression(40), checkpointDir: dir, resume: true, steps: 41 })).steps, 41, 'the folder is free again afterwards');
});

t.test('a stale lock (its process is gone) is taken over', async (t) => {
  using m = mlp();
  const dir = join(tmp, 'stale');
  await train(m, { ...opts, data: regression(40), checkpointDir: dir });
  writeFileSync(join(dir, '.lock'), JSON.stringify({ pid: 2 ** 22 + 12345 }) + '\n'); // no such process
  t.equal((await train(m, { ...opts, steps: 8, data: regression(40), checkpointDir: dir, resume: true })).steps, 8);
});

t.test('resume with nothing to resume from is an error, unless if-present', async (t) => {
  using m = mlp();
  const dir = join(tmp, 'empty');
  await t.rejects(train(m, { ...opts, data: regression(40), checkpointDir: dir, resume: true }), /nothing to resume from/);
  t.equal((await train(m, { ...opts, data: regression(40), checkpointDir: dir, resume: 'if-present' })).steps, 6);
});

t.test('resume refuses changed options unless allowed', async (t) => {
  using m = mlp();
  const dir = join(tmp, 'changed');
  await train(m, { ...opts, data: regression(40), checkpointDir: dir });
  await t.rejects(train(m, { ...opts, steps: 8, lr: 5e-3, data: regression(40), checkpointDir: dir, resume: true }), /other options \(lr: 0\.01 → 0\.005\)/);
  await t.rejects(train(m, { ...opts, steps: 8, batchSize: 8, data: regression(40), checkpointDir: dir, resume: true }), /batchSize: 4 → 8/);
  const r = await train(m, { ...opts, steps: 8, lr: 5e-3, data: regression(40), checkpointDir: dir, resume: true, allowOptionChanges: true });
  t.equal(r.steps, 8, 'allowOptionChanges: true resumes');
});

t.test('the log is trimmed to the resumed step', async (t) => {
  using m = mlp();
  const dir = join(tmp, 'log'),
    logFile = join(tmp, 'log.jsonl');
  await train(m, { ...opts, data: regression(40), checkpointDir: dir, checkpointEvery: 3, logFile });
  writeFileSync(join(dir, 'latest'), 'step-00000003\n'); // as if the run had died after step 5
  await train(m, { ...opts, data: regression(40), checkpointDir: dir, resume: true, logFile });
  const steps = readFileSync(logFile, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((e) => e.event === 'step')
    .map((e) => e.step);
  t.same(steps, [1, 2, 3, 4, 5, 6], 'every step once');
});

t.test('a resumed run continues the CSV log: every step once', async (t) => {
  using m = mlp();
  const dir = join(tmp, 'csv'),
    file = join(tmp, 'metrics.csv');
  await train(m, { ...opts, data: regression(40), checkpointDir: dir, checkpointEvery: 3, loggers: [new CsvLogger(file)] });
  writeFileSync(join(dir, 'latest'), 'step-00000003\n'); // as if the run had died after step 5
  await train(m, { ...opts, data: regression(40), checkpointDir: dir, resume: true, loggers: [new CsvLogger(file)] });
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  const col = lines[0]!.split(',').indexOf('step');
  t.same(
    lines.slice(1).map((l) => Number(l.split(',')[col])),
    [1, 2, 3, 4, 5, 6],
    'steps 1-3 kept, 4-6 written once by the resumed run',
  );
});

t.test('no unhandled rejection anywhere', async (t) => {
  await new Promise((r) => setTimeout(r, 50));
  t.same(unhandled, []);
});

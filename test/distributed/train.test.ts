// Data-parallel training on 2 processes (one intra-op thread each, FileStore or TCPStore on
// loopback): after N steps both ranks hold bit-identical weights, equal to one process training on
// the global batch (2 × batchSize) to 1e-6 relative; a NaN in one rank's shard makes both follow
// the NaN policy at the same step; a resumed 2-rank run equals the uninterrupted one; a rank killed
// mid-run makes the other fail with a clear error.
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { epochOrder } from '../../lib/index.js';
import { freePort, runRanks, type RankOutput } from './ranks.js';
import { bitIdentical, read, relativeDifference } from './weights.js';

const dir = mkdtempSync(join(tmpdir(), 'specfuse-dist-train-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let jobs = 0;

type Job = Record<string, unknown>;
async function distributed(job: Job, kind: 'file' | 'tcp' = 'file'): Promise<{ outs: RankOutput[]; weights: Float32Array[] }> {
  const id = ++jobs;
  const store = kind === 'file' ? { kind, path: join(dir, `store-${id}`) } : { kind, host: '127.0.0.1', port: await freePort() };
  const outs = await runRanks(
    'train-rank.ts',
    [0, 1].map((rank) => ({ ...job, rank, worldSize: 2, store, out: join(dir, `w-${id}-${rank}.bin`) })),
  );
  return { outs, weights: outs.map((o, r) => (o.json?.error ? new Float32Array() : read(join(dir, `w-${id}-${r}.bin`)))) };
}
async function single(job: Job): Promise<{ out: RankOutput; weights: Float32Array }> {
  const id = ++jobs;
  const batchSize = 2 * (job.batchSize as number);
  const [out] = await runRanks('train-rank.ts', [{ ...job, batchSize, rank: 0, worldSize: 0, out: join(dir, `w-${id}.bin`) }]);
  return { out: out!, weights: out!.json?.error ? new Float32Array() : read(join(dir, `w-${id}.bin`)) };
}
function matchesReference(t: Test, a: Float32Array, b: Float32Array, sizes: number[], what: string): void {
  const r = relativeDifference(a, b, sizes);
  t.ok(
    a.length === b.length && r.normwise <= 1e-6,
    `${what} to 1e-6 relative (‖Δw‖/‖w‖ = ${r.normwise.toExponential(2)}; largest element-wise ${r.elementwise.toExponential(2)} of its tensor's max)`,
  );
}

const cases: Array<{ name: string; job: Job; kind: 'file' | 'tcp' }> = [
  { name: 'DLPan PanNet', kind: 'file', job: { model: { model: 'pannet', bands: 4 }, bands: 4, samples: 16, batchSize: 2, steps: 6 } },
  {
    name: 'tiny PanAdapter stage 2',
    kind: 'tcp',
    job: { model: { model: 'panadapter', preset: 'tiny' }, stage: 2, bands: 8, size: 64, samples: 8, batchSize: 2, steps: 3 },
  },
  // SGD: under Adam, tensors whose exact gradient is zero (biases that a GroupNorm cancels) take
  // lr-sized steps driven by rounding noise, which no split of a batch reproduces bit for bit
  {
    name: 'tiny CrossDiff stage 1 (in-step noise)',
    kind: 'file',
    job: { model: { model: 'crossdiff', preset: 'tiny' }, stage: 1, bands: 4, samples: 8, batchSize: 2, steps: 3, optimizer: 'sgd', lr: 0.05 },
  },
  // stage 2: the frozen denoisers' features are taken from noised inputs, a fresh draw every step
  {
    name: 'tiny CrossDiff stage 2 (feature noise)',
    kind: 'tcp',
    job: { model: { model: 'crossdiff', preset: 'tiny' }, stage: 2, bands: 4, samples: 8, batchSize: 2, steps: 3, optimizer: 'sgd', lr: 0.05 },
  },
];

for (const c of cases) {
  t.test(`${c.name}: 2 ranks (${c.kind} store) match one process on the global batch`, async (t) => {
    const [{ outs, weights }, ref] = await Promise.all([distributed(c.job, c.kind), single(c.job)]);
    for (const o of outs) t.notOk(o.json?.error, `rank ${o.json?.rank}: ${String(o.json?.error ?? 'trained')} ${o.stderr.slice(-400)}`);
    t.notOk(ref.out.json?.error, `reference: ${String(ref.out.json?.error ?? 'trained')}`);
    t.ok(bitIdentical(weights[0]!, weights[1]!), 'both ranks hold bit-identical weights');
    t.same(outs[0]!.json?.losses, outs[1]!.json?.losses, 'and logged the same (global) losses');
    matchesReference(t, weights[0]!, ref.weights, ref.out.json!.sizes as number[], 'weights equal the single-process run');
    const lossesRef = ref.out.json!.losses as number[],
      losses = outs[0]!.json!.losses as number[];
    t.ok(
      losses.every((l, i) => Math.abs(l - lossesRef[i]!) <= 1e-5 * Math.abs(lossesRef[i]!)),
      "the reduced losses match the global batch's",
    );
  });
}

t.test('validation: each rank scores its share, the sums are reduced, every rank logs the global means', async (t) => {
  // 10 validation tiles: batches of 2 per rank (rank 0: tiles 0-1, 4-5, 8-9; rank 1: 2-3, 6-7), batches of 4 alone
  const job = { ...base, steps: 4, validSamples: 10, evalEvery: 2, metrics: ['SAM', 'ERGAS'] };
  const [{ outs }, ref] = await Promise.all([distributed(job), single(job)]);
  const valid = outs.map((o) => o.json?.valid as Array<Record<string, number>>);
  t.same(valid[0], valid[1], 'both ranks hold the same validation results');
  const want = ref.out.json?.valid as Array<Record<string, number>>;
  t.equal(valid[0]?.length, 2, 'two validations');
  for (const [i, v] of (valid[0] ?? []).entries()) {
    for (const k of ['loss', 'SAM', 'ERGAS']) {
      t.ok(
        Math.abs(v[k]! - want[i]![k]!) <= 1e-5 * Math.abs(want[i]![k]!),
        `step ${v.step}: ${k} ${v[k]} equals the single process's ${want[i]![k]} over all 10 tiles`,
      );
    }
  }
});

// where sample k of rank r's shard of step s lies: order[(s · 2 + r) · batch + k] (lib/train/loop.ts)
const nanSample = epochOrder(16, 3, 0, true)[(1 * 2 + 1) * 2]!; // step 2, rank 1, first sample
const base = { model: { model: 'pannet', bands: 4 }, bands: 4, samples: 16, batchSize: 2, steps: 4 };

t.test("a NaN in one rank's shard: both ranks skip the same step (nanPolicy skip)", async (t) => {
  const job = { ...base, nanAt: [nanSample], nanPolicy: 'skip' };
  const [{ outs, weights }, ref] = await Promise.all([distributed(job), single(job)]);
  for (const o of outs) t.match(o.json, { steps: 4, skipped: 1 }, `rank ${o.json?.rank} skipped one step`);
  t.ok(Number.isNaN((outs[0]!.json!.losses as Array<number | null>)[1] ?? NaN), 'the skipped step logs a non-finite loss on rank 0');
  t.ok(bitIdentical(weights[0]!, weights[1]!), 'the ranks stay bit-identical');
  t.match(ref.out.json, { skipped: 1 }, 'the single process skips it too');
  matchesReference(t, weights[0]!, ref.weights, ref.out.json!.sizes as number[], 'and ends with the same weights');
});

t.test("a NaN in one rank's shard: both ranks stop at the same step (nanPolicy error)", async (t) => {
  const { outs } = await distributed({ ...base, nanAt: [nanSample], nanPolicy: 'error' });
  for (const o of outs)
    t.match(o.json?.error, /non-finite loss on 1 of 2 ranks \(loss .* here\) at step 2: the weights were not updated/, `rank ${o.json?.rank}`);
});

t.test('a 2-rank run resumed from its checkpoint equals the uninterrupted 2-rank run', async (t) => {
  const whole = await distributed({ ...base, steps: 4 });
  const ck = join(dir, 'resume-ck');
  const first = await distributed({ ...base, steps: 2, checkpointDir: ck });
  t.match(first.outs[0]!.json, { steps: 2, checkpoint: /step-00000002/ }, 'rank 0 wrote the checkpoint');
  t.equal(first.outs[1]!.json?.checkpoint, null, 'rank 1 wrote none');
  const resumed = await distributed({ ...base, steps: 4, checkpointDir: ck, resume: true });
  for (const o of resumed.outs) t.match(o.json, { steps: 4 }, `rank ${o.json?.rank} resumed to step 4 ${String(o.json?.error ?? '')}`);
  t.ok(bitIdentical(resumed.weights[0]!, whole.weights[0]!), 'rank 0: bit-identical to the uninterrupted run');
  t.ok(bitIdentical(resumed.weights[1]!, whole.weights[1]!), 'rank 1 too');
  t.same(resumed.outs[0]!.json!.losses as number[], (whole.outs[0]!.json!.losses as number[]).slice(2), 'with the same losses');
  // the world size is part of the run: one process cannot continue a 2-rank run's data order
  const alone = await single({ ...base, batchSize: 2, steps: 6, checkpointDir: ck, resume: true });
  t.match(alone.out.json?.error, /was trained with other options \(.*worldSize: 2 → unset/, 'a resume with another world size is refused');
});

t.test('a rank killed mid-run: the other fails with peer-lost within the timeout', async (t) => {
  const ids = ++jobs;
  const store = { kind: 'tcp', host: '127.0.0.1', port: await freePort() };
  const outs = await runRanks(
    'train-rank.ts',
    [0, 1].map((rank) => ({
      ...base,
      steps: 50,
      rank,
      worldSize: 2,
      store,
      timeoutMs: 30000,
      out: join(dir, `k-${ids}-${rank}.bin`),
      ...(rank === 1 ? { killAfterSteps: 2 } : {}),
    })),
  );
  t.equal(outs[1]!.signal, 'SIGKILL', 'rank 1 was killed after its second step');
  t.match(outs[0]!.json, { code: 'peer-lost', error: /^distributed \(peer-lost\): all-reduce \(rank 0 of 2\)/ });
  t.ok((outs[0]!.json?.seconds as number) < 30, `rank 0 failed before the 30 s timeout (after ${(outs[0]!.json?.seconds as number).toFixed(1)} s)`);
});

// The inference queue: bounded, back-pressured and cancellable; a request owns its inputs, so a
// cancelled or refused request frees its tensors at once.
import t from 'tap';
import { createInferenceQueue, createModel, memory, rand, QueueFullError, QueueClosedError, type Tensor } from '../../lib/index.js';

const model = () => createModel({ model: 'mlp', inFeatures: 64, hidden: 64, outFeatures: 8, layers: 2 });

t.test('results equal a direct forward; never more than `concurrency` forwards in flight', async (t) => {
  const m = model();
  const q = createInferenceQueue(m, { concurrency: 2, maxQueued: 8 });
  const xs = Array.from({ length: 6 }, () => rand([16, 64]));
  const direct = await Promise.all(xs.map((x) => m.forward({ x })));
  let most = 0;
  const outs = xs.map((x) => {
    const p = q.forward({ x: x.clone() });
    most = Math.max(most, q.running);
    return p;
  });
  t.equal(q.queued, 4, 'four wait behind two running');
  for (const [i, y] of (await Promise.all(outs)).entries()) {
    t.ok(y.equal(direct[i]!), `request ${i}`);
    y.dispose();
  }
  t.equal(most, 2);
  for (const d of [...xs, ...direct, m]) d.dispose();
  t.equal(memory().tensors, 0, 'the queue disposed every input it was given');
});

t.test('a full queue refuses at once and frees the refused inputs; ready() says when there is room', async (t) => {
  const m = model();
  const q = createInferenceQueue(m, { concurrency: 1, maxQueued: 2 });
  const first = [q.forward({ x: rand([8, 64]) }), q.forward({ x: rand([8, 64]) }), q.forward({ x: rand([8, 64]) })];
  const before = memory().tensors;
  const refused = rand([8, 64]);
  await t.rejects(q.forward({ x: refused }), QueueFullError);
  t.equal(refused.disposed, true, 'refused inputs are disposed');
  t.equal(memory().tensors, before);
  await q.ready();
  t.ok(q.queued < 2, 'room after ready()');
  const late = q.forward({ x: rand([8, 64]) });
  for (const y of await Promise.all([...first, late])) y.dispose();
  m.dispose();
  t.equal(memory().tensors, 0);
});

t.test('cancelling a queued request frees its tensors at once and rejects with the abort reason', async (t) => {
  const m = model();
  const q = createInferenceQueue(m, { concurrency: 1, maxQueued: 4 });
  const running = q.forward({ x: rand([8, 64]) });
  const ac = new AbortController();
  const big: Tensor = rand([256, 64]);
  const cancelled = q.forward({ x: big }, { signal: ac.signal });
  const bytesQueued = memory().bytes;
  ac.abort();
  t.equal(big.disposed, true, 'the queued input is disposed as soon as the signal fires');
  t.equal(memory().bytes, bytesQueued - 256 * 64 * 4, 'its bytes are freed');
  await t.rejects(cancelled, { name: 'AbortError' });
  t.equal(q.queued, 0);
  (await running).dispose();
  // an already-aborted signal never enters the queue
  const x = rand([8, 64]);
  await t.rejects(q.forward({ x }, { signal: AbortSignal.abort() }), { name: 'AbortError' });
  t.equal(x.disposed, true);
  m.dispose();
  t.equal(memory().tensors, 0);
});

t.test('cancelling a running request rejects at once; its inputs and output are freed when the forward ends', async (t) => {
  const m = model();
  const q = createInferenceQueue(m);
  const ac = new AbortController();
  const p = q.forward({ x: rand([4096, 64]) }, { signal: ac.signal });
  t.equal(q.running, 1);
  ac.abort(new Error('caller gave up'));
  await t.rejects(p, /caller gave up/);
  const after = q.forward({ x: rand([8, 64]) }); // waits for the running one, then runs
  (await after).dispose();
  m.dispose();
  t.equal(memory().tensors, 0, 'nothing left behind');
});

t.test('close() cancels waiting requests and refuses new ones; bad options are refused', async (t) => {
  const m = model();
  const q = createInferenceQueue(m);
  const a = q.forward({ x: rand([8, 64]) });
  const b = q.forward({ x: rand([8, 64]) });
  q.close();
  await t.rejects(b, QueueClosedError);
  (await a).dispose();
  const x = rand([8, 64]);
  await t.rejects(q.forward({ x }), QueueClosedError);
  t.equal(x.disposed, true);
  t.throws(() => createInferenceQueue(m, { maxQueued: 0 }), RangeError);
  t.throws(() => createInferenceQueue(m, { concurrency: 1.5 }), RangeError);
  m.dispose();
  t.equal(memory().tensors, 0);
});

// The *Async tensor ops: same results as the sync ops, same argument errors, inputs pinned while in
// flight, and the event loop turning while they run.
import t from 'tap';
import { tensor, memory, type Tensor } from '../../lib/index.js';
import { turnsWhilePending } from '../helpers/event-loop.js';

// Small integers stored as floats: every partial sum is an integer well under 2^24, so any order of
// summation (any intra-op team width on either thread) gives the same bits, and "equal bit for bit"
// tests the op and its arguments rather than the thread settings.
function ints(shape: number[], seed: number, dtype: 'float32' | 'float64' | 'int32' = 'float32'): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = dtype === 'float64' ? new Float64Array(n) : dtype === 'int32' ? new Int32Array(n) : new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    data[i] = (s % 7) - 3;
  }
  return tensor(data, shape);
}

t.test('matmulAsync equals matmul bit for bit', async (t) => {
  const cases: [number[], number[], 'float32' | 'float64'][] = [
    [[64, 96], [96, 48], 'float32'],
    [[3, 17, 33], [33, 5], 'float32'],
    [[40], [40, 7], 'float64'],
  ];
  for (const [sa, sb, dtype] of cases) {
    const a = ints(sa, 1, dtype);
    const b = ints(sb, 2, dtype);
    const sync = a.matmul(b);
    const async = await a.matmulAsync(b);
    t.same(async.shape, sync.shape, `[${sa}] @ [${sb}] shape`);
    t.ok(async.equal(sync), `[${sa}] @ [${sb}] ${dtype}: equal`);
    for (const x of [a, b, sync, async]) x.dispose();
  }
  t.equal(memory().tensors, 0);
});

t.test('sumAsync / meanAsync / maxAsync / minAsync equal their sync forms bit for bit', async (t) => {
  const x = ints([6, 50, 70], 3);
  const i = ints([9, 31], 4, 'int32');
  const checks: [string, () => Tensor, () => Promise<Tensor>][] = [
    ['sum()', () => x.sum(), () => x.sumAsync()],
    ['sum(1)', () => x.sum(1), () => x.sumAsync(1)],
    ['sum([0, 2], keepdim)', () => x.sum([0, 2], true), () => x.sumAsync([0, 2], true)],
    ['int32 sum(0)', () => i.sum(0), () => i.sumAsync(0)],
    ['mean()', () => x.mean(), () => x.meanAsync()],
    ['mean([1, 2])', () => x.mean([1, 2]), () => x.meanAsync([1, 2])],
    ['max()', () => x.max(), () => x.maxAsync()],
    ['max(2, keepdim)', () => x.max(2, true), () => x.maxAsync(2, true)],
    ['min()', () => x.min(), () => x.minAsync()],
    ['int32 min(1)', () => i.min(1), () => i.minAsync(1)],
  ];
  for (const [name, sync, async] of checks) {
    const s = sync();
    const a = await async();
    t.same([a.shape, a.dtype], [s.shape, s.dtype], `${name}: shape and dtype`);
    t.ok(a.equal(s), `${name}: equal`);
    s.dispose();
    a.dispose();
  }
  x.dispose();
  i.dispose();
  t.equal(memory().tensors, 0);
});

// The error the sync form throws, for comparison with the async form's rejection.
function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the sync form to throw');
}

t.test('bad arguments reject with the sync form’s error, before anything is queued', async (t) => {
  const a = ints([4, 5], 5);
  const b = ints([6, 3], 6);
  const n = ints([4], 7, 'int32');
  const empty = ints([0, 3], 8);
  const bad: [string, () => unknown, () => Promise<Tensor>, ErrorConstructor][] = [
    ['matmul(number)', () => a.matmul(3 as unknown as Tensor), () => a.matmulAsync(3 as unknown as Tensor), TypeError],
    ['matmul(inner sizes differ)', () => a.matmul(b), () => a.matmulAsync(b), Error],
    ['sum(dims: string)', () => a.sum('x' as unknown as number), () => a.sumAsync('x' as unknown as number), TypeError],
    ['sum(dim out of range)', () => a.sum(5), () => a.sumAsync(5), RangeError],
    ['sum(keepdim: number)', () => a.sum(0, 1 as unknown as boolean), () => a.sumAsync(0, 1 as unknown as boolean), TypeError],
    ['mean(int32)', () => n.mean(), () => n.meanAsync(), TypeError],
    ['max(two dims)', () => a.max([0, 1] as unknown as number), () => a.maxAsync([0, 1] as unknown as number), RangeError],
    ['min(empty)', () => empty.min(), () => empty.minAsync(), RangeError],
  ];
  for (const [name, sync, async, want] of bad) {
    const expected = thrown(sync);
    t.ok(expected instanceof want, `${name}: sync throws a ${want.name}: ${expected.message.split('\n')[0]}`);
    const p = async();
    t.notOk(a.busy || b.busy || n.busy, `${name}: nothing pinned (rejected before queueing)`);
    const err = await p.then(
      () => null,
      (e: unknown) => e as Error,
    );
    t.ok(err, `${name}: rejects`);
    t.equal(err?.constructor, expected.constructor, `${name}: same error class as sync (${expected.constructor.name})`);
    t.equal(err?.message, expected.message, `${name}: same message`);
  }
  const d = ints([2, 2], 8);
  d.dispose();
  await t.rejects(d.sumAsync(), /disposed/, 'a disposed tensor rejects');
  await t.rejects(a.matmulAsync(d), /other: tensor was disposed/, 'a disposed operand rejects, naming it');
  for (const x of [a, b, n, empty]) x.dispose();
  t.equal(memory().tensors, 0);
});

t.test('inputs are pinned while in flight and usable afterwards', async (t) => {
  const a = ints([256, 256], 9);
  const b = ints([256, 256], 10);
  const p = a.matmulAsync(b);
  const q = b.sumAsync(0);
  t.ok(a.busy && b.busy, 'both operands busy while in flight');
  t.throws(() => a.dispose(), /in use by a pending async operation/, 'left operand cannot be disposed');
  t.throws(() => b.dispose(), /in use by a pending async operation/, 'right operand cannot be disposed');
  const [y, s] = await Promise.all([p, q]);
  t.notOk(a.busy || b.busy, 'released once settled');
  const again = a.matmul(b);
  t.ok(again.equal(y), 'inputs still usable, result equals the sync one');
  const sSync = b.sum(0);
  t.ok(sSync.equal(s));
  for (const x of [a, b, y, s, again, sSync]) x.dispose();
  t.equal(memory().tensors, 0);
});

// Counted, not timed: the matrices grow until the loop has turned MIN_TURNS times during one
// matmulAsync; a matmul on the JS thread lets no turn through at any size (second test).
const MIN_TURNS = 10;
const MAX_SIDE = 4096;

t.test('the event loop keeps turning during a large matmulAsync', async (t) => {
  let best = 0;
  let side = 256;
  for (; side <= MAX_SIDE; side *= 2) {
    const a = ints([side, side], 11);
    const { turns, value } = await turnsWhilePending(() => a.matmulAsync(a));
    value.dispose();
    a.dispose();
    best = Math.max(best, turns);
    if (turns >= MIN_TURNS) break;
  }
  t.ok(best >= MIN_TURNS, `${best} event-loop turns during one ${Math.min(side, MAX_SIDE)}² matmulAsync`);
  t.equal(memory().tensors, 0);
});

t.test('the same count is zero for the sync matmul (the check above can fail)', async (t) => {
  const a = ints([512, 512], 12);
  const { turns, value } = await turnsWhilePending(async () => a.matmul(a));
  t.equal(turns, 0);
  value.dispose();
  a.dispose();
});

// Bad inputs give typed errors naming the argument, and the process lives on.
import t from 'tap';
import ndarray from 'ndarray';
import { createModel, fromNdarray, memory, rand, scope, tensor, zeros, cuda, type Tensor } from '../../lib/index.js';
import { native } from '../../lib/native.js';

type Ctor = typeof Error | typeof TypeError | typeof RangeError;
const cases: Array<[string, () => unknown, Ctor, RegExp]> = [
  ['data not a TypedArray', () => native.fromTypedArray({} as ArrayBufferView, [1]), TypeError, /data: expected a TypedArray/],
  ['Uint32Array unsupported', () => tensor(new Uint32Array(2) as never), TypeError, /unsupported TypedArray/],
  ['dtype needs another array kind', () => tensor(new Float32Array(2), [2], 'int32'), TypeError, /int32 needs a Int32Array/],
  ['bool needs Uint8Array', () => tensor(new Float32Array(2), [2], 'bool'), TypeError, /bool needs a Uint8Array/],
  ['unknown dtype', () => tensor(new Float32Array(2), [2], 'float8' as never), RangeError, /unknown dtype 'float8'/],
  ['length/shape mismatch', () => tensor(new Float32Array(5), [2, 3]), RangeError, /length 5 does not match shape/],
  ['negative dim', () => tensor(new Float32Array(0), [-1]), RangeError, /shape\[0\]: dimension must be >= 0/],
  ['non-integer dim', () => tensor(new Float32Array(2), [1.5]), RangeError, /expected an integer/],
  ['NaN dim', () => zeros([NaN]), RangeError, /expected an integer/],
  ['string dim', () => zeros(['2' as never]), TypeError, /shape\[0\]: expected an integer/],
  ['shape not an array', () => zeros(3 as never), TypeError, /shape: expected an array/],
  ['too many elements', () => zeros([1 << 30, 1 << 30]), RangeError, /too many elements/],
  ['unknown device', () => zeros([2], 'float32', 'tpu'), RangeError, /unknown device 'tpu'/],
  ['malformed cuda index', () => zeros([2], 'float32', 'cuda:x'), RangeError, /unknown device/],
  ['cpu with index', () => zeros([2], 'float32', 'cpu:1'), RangeError, /'cpu' takes no index/],
  ['to(unknown target)', () => rand([2]).to('metal'), RangeError, /unknown dtype 'metal'/],
  ['matmul shape mismatch', () => rand([2, 3]).matmul(rand([2, 3])), Error, /cannot be multiplied/],
  ['add shape mismatch', () => rand([2, 3]).add(rand([4])), Error, /must match/],
  ['reshape to wrong size', () => rand([6]).reshape([4, 2]), Error, /invalid for input of size 6/],
  ['select out of range', () => rand([2]).select(0, 5), RangeError, /out of range/],
  ['slice with step 0', () => rand([4]).slice(0, 0, 4, 0), RangeError, /step: must be > 0/],
  ['item on many elements', () => rand([3]).item(), RangeError, /3 elements, expected 1/],
  ['mean of an integer tensor', () => tensor(new Int32Array(3)).mean(), TypeError, /floating-point/],
  ['operand not a tensor', () => rand([2]).add({} as never), TypeError, /expected a Tensor or a number/],
  ['strided view outside data', () => fromNdarray(ndarray(new Float32Array(2), [3], [1], 0)), RangeError, /outside the data/],
  ['direct construction', () => new (native.NativeTensor as unknown as new () => unknown)(), TypeError, /cannot be constructed directly/],
  ['unknown model', () => createModel({ model: 'resnet' } as never), RangeError, /unknown model 'resnet'/],
  ['unknown config key', () => createModel({ model: 'mlp', width: 3 } as never), RangeError, /config.width: unknown option/],
  ['bad config type', () => createModel({ model: 'mlp', hidden: 'wide' } as never), TypeError, /config.hidden: expected an integer/],
  ['bad config range', () => createModel({ model: 'mlp', hidden: 0 }), RangeError, /config.hidden/],
  [
    'native config unknown key',
    () => new native.NativeModule('mlp', { depth: 2 }),
    RangeError,
    /^config\.depth: unknown option \(known: inFeatures, hidden, outFeatures, layers\)$/,
  ],
  ['seed negative', () => native.manualSeed(-1), RangeError, /seed: must be >= 0/],
  ['threads zero', () => native.setNumThreads(0), RangeError, /threads: must be in/],
];

for (const [name, fn, ctor, re] of cases) {
  t.test(`bad input: ${name}`, async (t) => {
    let caught: unknown = null;
    try {
      scope(fn);
    } catch (e) {
      caught = e;
    } // scope: free what the failed call made
    t.ok(caught instanceof ctor, `throws ${ctor.name}, got ${String(caught)}`);
    t.match((caught as Error)?.message, re);
    t.notMatch((caught as Error)?.message, /frame #|Exception raised from/, 'no C++ backtrace in the message');
  });
}

t.test('CUDA without a GPU is a clear error', { skip: cuda().available && 'a GPU is present' }, async (t) => {
  t.throws(() => zeros([2], 'float32', 'cuda'), /CUDA is not available: /);
  t.throws(() => rand([2]).to('cuda:0'), /CUDA is not available/);
});

t.test('use after dispose', async (t) => {
  const a = rand([2]);
  a.dispose();
  t.throws(() => a.shape, /tensor was disposed/);
  t.throws(() => a.dataSync(), /tensor was disposed/);
  t.throws(() => scope(() => rand([2]).add(a)), /other: tensor was disposed/);
  await t.rejects(async () => a.data(), /tensor was disposed/);
  const m = createModel({ model: 'mlp' });
  m.dispose();
  t.throws(() => m.namedParameters(), /module was disposed/);
  using x = rand([1, 8]);
  await t.rejects(m.forward({ x }), /module was disposed/);
});

t.test('dispose during async use is refused, and the work completes', async (t) => {
  const m = createModel({ model: 'mlp', inFeatures: 64, hidden: 256, outFeatures: 8 });
  const x = rand([4096, 64]);
  const pending = m.forward({ x });
  t.throws(() => x.dispose(), /in use by a pending async operation/);
  t.throws(() => m.dispose(), /in use by a pending async operation/);
  await t.rejects(m.to('cpu'), /in use by a pending async operation/);
  const y = await pending;
  t.same(y.shape, [4096, 8]);
  const live = memory().tensors;
  x.dispose(); // allowed now
  y.dispose();
  m.dispose();
  t.equal(memory().tensors, live - 2);
});

t.test('async errors reject with the typed error', async (t) => {
  const m = createModel({ model: 'mlp', inFeatures: 8 });
  const wrong: Tensor = rand([2, 5]);
  await t.rejects(m.forward({ x: wrong }), /cannot be multiplied/);
  await t.rejects(m.forward({}), TypeError);
  await t.rejects(m.forward({ y: wrong }), /inputs.x: missing/);
  await t.rejects(m.forward({ x: 'nope' as never }), /inputs.x: expected a Tensor/);
  wrong.dispose();
  m.dispose();
});

t.test('the process is still alive and working after all of the above', async (t) => {
  using a = tensor(new Float32Array([1, 2]));
  t.same(Array.from(a.dataSync()), [1, 2]);
});

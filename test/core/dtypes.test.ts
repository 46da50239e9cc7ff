// Every dtype crosses the boundary both ways bit for bit, including the awkward values.
import t from 'tap';
import { tensor, memory, type DType, type TensorData } from '../../lib/index.js';

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

const f32 = new Float32Array([0, -0, 1.5, -2.25, Infinity, -Infinity, 3.4028234663852886e38, 1.401298464324817e-45]);
const nanBits = new Uint32Array([0x7fc00001, 0xffc12345]); // NaNs with payloads must survive too
const f32WithNaN = new Float32Array(f32.length + 2);
f32WithNaN.set(f32);
new Uint32Array(f32WithNaN.buffer).set(nanBits, f32.length);

const cases: Array<[DType, TensorData]> = [
  ['float32', f32WithNaN],
  ['float64', new Float64Array([0, -0, Math.PI, -1e308, 5e-324, Infinity, NaN, Number.MAX_VALUE])],
  ['int32', new Int32Array([0, 1, -1, 2147483647, -2147483648, 123456])],
  ['int64', new BigInt64Array([0n, -1n, 9223372036854775807n, -9223372036854775808n, 1234567890123n])],
  ['int16', new Int16Array([0, -32768, 32767, 7])],
  ['int8', new Int8Array([0, -128, 127, -3])],
  ['uint8', new Uint8Array([0, 1, 128, 255])],
  ['uint16', new Uint16Array([0, 1, 2047, 65535, 40000, 1023])],
  ['bool', new Uint8Array([0, 1, 1, 0, 1, 0])],
  ['float16', new Uint16Array([0x0000, 0x8000, 0x3c00, 0x7bff, 0x0001, 0x7c00, 0xfc00, 0x7e01])],
  ['bfloat16', new Uint16Array([0x0000, 0x8000, 0x3f80, 0x7f7f, 0x0001, 0x7f80, 0xff80, 0x7fc1])],
];

for (const [dtype, data] of cases) {
  t.test(`${dtype} round-trips bit-exactly`, async (t) => {
    const shape = data.length % 2 === 0 ? [2, data.length / 2] : [data.length];
    const x = tensor(data, shape, dtype);
    t.equal(x.dtype, dtype);
    t.same(x.shape, shape);
    t.equal(x.device, 'cpu');
    const sync = x.dataSync();
    const async = await x.data();
    t.equal(sync.constructor, data.constructor, 'same TypedArray kind back');
    t.same(bytesOf(sync), bytesOf(data), 'dataSync bytes equal');
    t.same(bytesOf(async), bytesOf(data), 'data() bytes equal');
    x.dispose();
  });
}

t.test('dtype is inferred from the TypedArray kind', async (t) => {
  const kinds: Array<[TensorData, DType]> = [
    [new Float32Array(1), 'float32'],
    [new Float64Array(1), 'float64'],
    [new Int32Array(1), 'int32'],
    [new BigInt64Array(1), 'int64'],
    [new Uint8Array(1), 'uint8'],
    [new Uint16Array(1), 'uint16'],
    [new Int16Array(1), 'int16'],
    [new Int8Array(1), 'int8'],
  ];
  for (const [data, dtype] of kinds) {
    using x = tensor(data);
    t.equal(x.dtype, dtype);
  }
});

t.test('a subarray view copies only its own elements', async (t) => {
  const big = new Float64Array([9, 1, 2, 3, 9]);
  using x = tensor(big.subarray(1, 4));
  t.same(Array.from(x.dataSync()), [1, 2, 3]);
});

t.test('bool tensors read nonzero bytes as true', async (t) => {
  using x = tensor(new Uint8Array([0, 7, 255]), [3], 'bool');
  t.same(Array.from(x.dataSync()), [0, 1, 1]);
});

t.test('conversions between dtypes and item()', async (t) => {
  using x = tensor(new Uint16Array([1, 2047, 65535]));
  using y = x.to('float32');
  t.same(Array.from(y.dataSync()), [1, 2047, 65535]);
  using s = y.sum();
  t.equal(s.item(), 67583);
  using i = tensor(new BigInt64Array([5n]));
  t.equal(i.item(), 5n);
});

t.test('no tensors leak from this file', async (t) => {
  t.equal(memory().tensors, 0);
});

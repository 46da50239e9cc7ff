// scijs ndarray views (transposed, stepped, reversed, offset) come in as contiguous copies.
import t from 'tap';
import ndarray from 'ndarray';
import { fromNdarray, tensor } from '../../lib/index.js';

const base = ndarray(
  Float32Array.from({ length: 24 }, (_, i) => i),
  [2, 3, 4],
);

function reference(nd: ndarray.NdArray): number[] {
  const out: number[] = [];
  const rec = (idx: number[]) => {
    if (idx.length === nd.shape.length) {
      out.push(nd.get(...idx) as number);
      return;
    }
    for (let i = 0; i < nd.shape[idx.length]!; i++) rec([...idx, i]);
  };
  rec([]);
  return out;
}

const views: Array<[string, ndarray.NdArray]> = [
  ['plain', base],
  ['transposed', base.transpose(2, 0, 1)],
  ['stepped', base.step(1, 2, 2)],
  ['reversed', base.step(-1, 1, -1)],
  ['reversed and stepped', base.step(1, -2, -3)],
  ['offset window', base.lo(1, 1, 1).hi(1, 2, 2)],
  ['picked', base.pick(null, 1, null)],
  ['broadcast (stride 0)', ndarray(new Float32Array([1, 2, 3]), [4, 3], [0, 1], 0)],
];

for (const [name, view] of views) {
  t.test(`fromNdarray: ${name}`, async (t) => {
    using x = fromNdarray(view);
    t.same(x.shape, view.shape);
    t.same(Array.from(x.dataSync()), reference(view));
  });
}

t.test('toNdarray gives a row-major ndarray of the values', async (t) => {
  using x = tensor(
    Float64Array.from({ length: 6 }, (_, i) => i * 1.5),
    [2, 3],
  );
  const nd = x.toNdarray();
  t.same(nd.shape, [2, 3]);
  t.equal(nd.get(1, 2), 7.5);
  using back = fromNdarray(nd.transpose(1, 0));
  t.same(Array.from(back.dataSync()), [0, 4.5, 1.5, 6, 3, 7.5]);
});

t.test('uint16 ndarrays keep their dtype', async (t) => {
  using x = fromNdarray(ndarray(new Uint16Array([1, 2, 3, 4]), [2, 2]).transpose(1, 0));
  t.equal(x.dtype, 'uint16');
  t.same(Array.from(x.dataSync()), [1, 3, 2, 4]);
});

t.test('a view that reaches outside its data is refused', async (t) => {
  const bad = ndarray(new Float32Array(4), [3, 2], [2, 1], 1);
  t.throws(() => fromNdarray(bad), RangeError);
  const neg = ndarray(new Float32Array(4), [3], [-1], 1);
  t.throws(() => fromNdarray(neg), RangeError);
});

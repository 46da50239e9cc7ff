// (4) Bad inputs reject with a TypeError or RangeError that names the argument.
import t from 'tap';
import { tensor, zeros, rand, memory } from '../../lib/index.js';
import { reducedResolutionMetrics, reducedResolutionMetricsBatch, fullResolutionMetrics } from '../../lib/metrics/index.js';
import { rejectsWith } from './helpers.js';

const img = (c: number, h: number, w: number) => rand([c, h, w], 'float64').mul(1000).add(100);
const withValue = (c: number, h: number, w: number, v: number) => {
  const d = new Float64Array(c * h * w).map((_, k) => 100 + (k % 13));
  d[7] = v;
  return tensor(d, [c, h, w]);
};

const A = img(4, 64, 64),
  B = img(4, 64, 64);
const RR = reducedResolutionMetrics;

type Case = [string, () => Promise<unknown>, typeof TypeError | typeof RangeError, RegExp];
const reduced: Case[] = [
  ['fused not a Tensor', () => RR({} as never, A), TypeError, /fused: expected a Tensor/],
  ['gt missing', () => RR(A, undefined as never), TypeError, /gt: expected a Tensor/],
  ['spatial shape mismatch', () => RR(A, img(4, 64, 60)), RangeError, /gt: shape \[4, 64, 60\] does not match fused \[4, 64, 64\]/],
  ['band count mismatch', () => RR(A, img(8, 64, 64)), RangeError, /gt: has 8 bands but fused has 4/],
  ['rank mismatch', () => RR(A, rand([1, 4, 64, 64])), RangeError, /gt: shape/],
  ['2-D image', () => RR(rand([64, 64]), rand([64, 64])), RangeError, /fused: expected a C×H×W image or an N×C×H×W batch/],
  ['empty image', () => RR(zeros([4, 0, 64]), zeros([4, 0, 64])), RangeError, /fused: empty image/],
  ['bool dtype', () => RR(zeros([4, 64, 64], 'bool'), A), TypeError, /fused: expected a real-valued tensor/],
  ['NaN in fused', () => RR(withValue(4, 64, 64, NaN), B), RangeError, /fused: contains non-finite values/],
  ['Inf in gt', () => RR(A, withValue(4, 64, 64, Infinity)), RangeError, /gt: contains non-finite values/],
  ['image smaller than the Q block', () => RR(img(4, 20, 40), img(4, 20, 40)), RangeError, /fused: the evaluated image is 20×40, smaller than the 32×32 block/],
  ['Q2n alone still needs a whole block', () => RR(img(4, 31, 64), img(4, 31, 64), { metrics: ['Q2n'] }), RangeError, /smaller than the 32×32 block .* Q2n/],
  ['smaller than the block after the cut', () => RR(A, B, { dimCut: 20 }), RangeError, /25×25 after the border cut, smaller than the 32×32 block/],
  ['dimCut leaves nothing', () => RR(A, B, { dimCut: 40, metrics: ['SAM'] }), RangeError, /options.dimCut: 40 leaves no pixels/],
  ['negative dimCut', () => RR(A, B, { dimCut: -1 }), RangeError, /options.dimCut: must be in/],
  ['SSIM needs 11×11', () => RR(img(4, 8, 8), img(4, 8, 8), { metrics: ['SSIM'] }), RangeError, /11×11 Gaussian window that SSIM needs/],
  ['unknown metric', () => RR(A, B, { metrics: ['QQ' as never] }), RangeError, /options.metrics: unknown metric 'QQ'/],
  ['metrics not an array', () => RR(A, B, { metrics: 'SAM' as never }), TypeError, /options.metrics: expected an array/],
  ['unknown option', () => RR(A, B, { cut: 21 } as never), RangeError, /options.cut: unknown option/],
  ['ratio 0', () => RR(A, B, { ratio: 0 }), RangeError, /options.ratio: must be in \[1,/],
  ['fractional ratio', () => RR(A, B, { ratio: 2.5 }), RangeError, /options.ratio: expected an integer/],
  ['bits not a number', () => RR(A, B, { bits: '11' as never }), TypeError, /options.bits: expected a number/],
  ['block size 1', () => RR(A, B, { blockSize: 1 }), RangeError, /options.blockSize/],
  ['Q2n shift larger than the block', () => RR(A, B, { q2nShift: 40 }), RangeError, /options.q2nShift: must be in \[1, 32\]/],
  ['peak 0', () => RR(A, B, { peak: 0 }), RangeError, /options.peak: must be a finite number > 0/],
  ['scale NaN', () => RR(A, B, { scale: NaN }), RangeError, /options.scale/],
  ['thValues not boolean', () => RR(A, B, { thValues: 1 as never }), TypeError, /options.thValues: expected a boolean/],
  ['options not an object', () => RR(A, B, 5 as never), TypeError, /options: expected a plain object/],
  ['a batch to the single-image function', () => RR(rand([2, 4, 64, 64]), rand([2, 4, 64, 64])), RangeError, /use reducedResolutionMetricsBatch/],
  ['a single image to the batch function', () => reducedResolutionMetricsBatch(A, B), RangeError, /fused: expected an N×C×H×W batch/],
];

t.test('reduced resolution', async (t) => {
  for (const [what, fn, cls, re] of reduced) await rejectsWith(t, what, fn, cls, re);
});

const FR = fullResolutionMetrics;
const pan = rand([64, 64], 'float64').mul(1000).add(100);
const full: Case[] = [
  ['inputs missing', () => FR(A, undefined as never), TypeError, /inputs: expected an object/],
  ['unknown input', () => FR(A, { lms: B, pan, panLp: pan } as never), RangeError, /inputs.panLp: unknown input or option/],
  ['lms and ms missing', () => FR(A, { pan, panLP: pan, fusedMTF: B }), TypeError, /lms: required .* or give ms/],
  ['lms not a tensor', () => FR(A, { lms: [1, 2] as never, pan }), TypeError, /lms: expected a Tensor, got an array/],
  ['lms band count', () => FR(A, { lms: img(8, 64, 64), pan, panLP: pan, fusedMTF: B }), RangeError, /lms: has 8 bands but fused has 4/],
  ['fusedMTF band count', () => FR(A, { lms: B, pan, panLP: pan, fusedMTF: img(3, 64, 64) }), RangeError, /fusedMTF: has 3 bands but fused has 4/],
  [
    'not whole blocks',
    () => FR(img(4, 70, 64), { lms: img(4, 70, 64), pan: rand([70, 64]), panLP: rand([70, 64]) }),
    RangeError,
    /fused: 70×64 is not a whole number of 32×32 blocks/,
  ],
  ['smaller than a block', () => FR(img(4, 16, 16), { lms: img(4, 16, 16), metrics: ['D_lambda'] }), RangeError, /16×16 is not a whole number of 32×32 blocks/],
  [
    'one band for D_lambda',
    () => FR(img(1, 64, 64), { lms: img(1, 64, 64), metrics: ['D_lambda'] }),
    RangeError,
    /D_lambda compares band pairs and needs at least 2 bands/,
  ],
  ['pan missing', () => FR(A, { lms: B, fusedMTF: B }), TypeError, /pan: required for D_s/],
  ['pan of the wrong size', () => FR(A, { lms: B, pan: rand([32, 32]), panLP: pan, fusedMTF: B }), RangeError, /pan: expected 64×64/],
  ['panLP of the wrong size', () => FR(A, { lms: B, pan, panLP: rand([2, 64, 64]), fusedMTF: B }), RangeError, /panLP: expected 64×64/],
  ['sensor missing for the MTF', () => FR(A, { lms: B, pan, panLP: pan }), TypeError, /options.sensor: required to compute MTF/],
  ['unknown sensor', () => FR(A, { lms: B, pan, panLP: pan, sensor: 'Landsat' }), RangeError, /options.sensor: unknown sensor 'Landsat'/],
  [
    'sensor band count (Q2n of the MTF)',
    () => FR(img(8, 64, 64), { lms: img(8, 64, 64), pan, panLP: pan, sensor: 'QB' }),
    RangeError,
    /options.sensor: sensor 'qb' has 4 MS bands, but the image has 8/,
  ],
  [
    'ms of the wrong size',
    () => FR(A, { ms: img(4, 32, 32), pan, panLP: pan, fusedMTF: B }),
    RangeError,
    /ms: shape \[4, 32, 32\] does not match .*expected \[4, 16, 16\]/,
  ],
  ['NaN in pan', () => FR(A, { lms: B, pan: withValue(1, 64, 64, NaN), panLP: pan, fusedMTF: B }), RangeError, /pan: contains non-finite values/],
  ['NaN in lms', () => FR(A, { lms: withValue(4, 64, 64, NaN), pan, panLP: pan, fusedMTF: B }), RangeError, /lms: contains non-finite values/],
  ['p 0', () => FR(A, { lms: B, pan, panLP: pan, fusedMTF: B, p: 0 }), RangeError, /options.p: must be a finite number > 0/],
  ['unknown metric', () => FR(A, { lms: B, metrics: ['SAM' as never] }), RangeError, /options.metrics: unknown metric 'SAM'/],
  ['batch to single', () => FR(rand([2, 4, 64, 64]), { lms: rand([2, 4, 64, 64]) }), RangeError, /use fullResolutionMetricsBatch/],
];

t.test('full resolution', async (t) => {
  for (const [what, fn, cls, re] of full) await rejectsWith(t, what, fn, cls, re);
});

t.test('errors leave no pinned or leaked tensors behind', async (t) => {
  const before = memory().tensors;
  await rejectsWith(t, 'NaN', () => RR(withValue(4, 64, 64, NaN), B), RangeError, /non-finite/);
  t.equal(A.native.busy, false, 'A is not left pinned');
  t.ok(memory().tensors <= before + 1, 'only the NaN image itself was created');
});

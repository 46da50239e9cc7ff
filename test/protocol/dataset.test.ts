// makeWaldDataset: PanCollection-layout patches of the Wald-degraded WV2 scene (grid, flips, cap,
// seeded split), written with PanCollectionWriter and read back; argument errors.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PanCollectionWriter, openPanCollection } from '../../lib/data/index.js';
import { degrade, disposeSet, makeWaldDataset, toPanSamples, type WaldSet } from '../../lib/protocol/index.js';
import type { Tensor } from '../../lib/tensor.js';
import { crop, dataUnavailable, f64, loadVitale, maxDiff, smoothImage, toTensor, type F64 } from './helpers.js';

const why = dataUnavailable('wv2_vitale.mat');

/** Sample i of [N, C, H, W] as [C, H, W]. */
async function sample(x: Tensor, i: number): Promise<F64> {
  const s = x.select(0, i);
  try {
    return await f64(s);
  } finally {
    s.dispose();
  }
}

function flip(a: F64, axis: 1 | 2): F64 {
  const [c, h, w] = a.shape as [number, number, number];
  const out = new Float64Array(a.data.length);
  for (let b = 0; b < c; b++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const sy = axis === 1 ? h - 1 - y : y,
          sx = axis === 2 ? w - 1 - x : x;
        out[(b * h + y) * w + x] = a.data[(b * h + sy) * w + sx]!;
      }
  return { shape: a.shape, data: out };
}

t.test('patches of the degraded WV2 scene', { skip: why }, async (t) => {
  const scene = loadVitale('wv2_vitale.mat');
  const full = await degrade({ ms: scene.ms, pan: scene.pan, sensor: 'WV2' });
  const ref = { gt: await f64(full.gt), lms: await f64(full.lms), ms: await f64(full.ms), pan: await f64(full.pan) };
  disposeSet(full);

  const started = Date.now();
  const { train, valid } = await makeWaldDataset({ ms: scene.ms, pan: scene.pan, sensor: 'WV2' });
  t.comment(`36 patches in ${Date.now() - started} ms`);
  t.equal(valid, undefined, 'no split, no valid set');
  // 320×320 with patch 64, stride 48 (Demo_DataSimu: overlap of 4 LR pixels): 6×6 patches
  t.same(train.gt.shape, [36, 8, 64, 64]);
  t.same(train.lms.shape, [36, 8, 64, 64]);
  t.same(train.ms.shape, [36, 8, 16, 16]);
  t.same(train.pan.shape, [36, 1, 64, 64]);
  t.equal(train.gt.dtype, 'float64', 'float64 like PanCollection');
  for (const [i, y, x] of [
    [0, 0, 0],
    [7, 48, 48],
    [35, 240, 240],
    [4, 0, 192],
  ] as const) {
    for (const k of ['gt', 'lms', 'pan'] as const) {
      t.equal(maxDiff((await sample(train[k], i)).data, crop(ref[k], y, x, 64, 64).data).abs, 0, `patch ${i} ${k} = crop at (${y}, ${x})`);
    }
    t.equal(maxDiff((await sample(train.ms, i)).data, crop(ref.ms, y / 4, x / 4, 16, 16).data).abs, 0, `patch ${i} ms = LR crop at (${y / 4}, ${x / 4})`);
  }

  const flipped = await makeWaldDataset({ ms: scene.ms, pan: scene.pan, sensor: 'WV2', flips: true, stride: 64 });
  t.same(flipped.train.gt.shape, [75, 8, 64, 64], 'stride 64: 5×5 patches, ×3 with flips');
  const base = await sample(flipped.train.lms, 3);
  t.equal(maxDiff((await sample(flipped.train.lms, 25 + 3)).data, flip(base, 1).data).abs, 0, 'sample 25+k is sample k flipped up-down');
  t.equal(maxDiff((await sample(flipped.train.lms, 50 + 3)).data, flip(base, 2).data).abs, 0, 'sample 50+k is sample k flipped left-right');
  t.equal(maxDiff((await sample(flipped.train.ms, 50 + 3)).data, flip(await sample(flipped.train.ms, 3), 2).data).abs, 0, 'ms flipped the same way');

  const split = await makeWaldDataset({ ms: scene.ms, pan: scene.pan, sensor: 'WV2', flips: true, stride: 64, split: 0.1, seed: 7 });
  t.equal(split.train.gt.shape[0], 67, 'train = floor(0.9 · 75)');
  t.equal(split.valid!.gt.shape[0], 8, 'valid = the rest');
  // every sample lands in exactly one set: compare the multiset of per-sample sums
  const sums = async (x: Tensor) => Array.from((await f64(x.sum([1, 2, 3]))).data);
  const all = (await sums(flipped.train.gt)).sort((a, b) => a - b);
  const parts = [...(await sums(split.train.gt)), ...(await sums(split.valid!.gt))].sort((a, b) => a - b);
  t.same(parts, all, 'train ∪ valid = all samples');
  const again = await makeWaldDataset({ ms: scene.ms, pan: scene.pan, sensor: 'WV2', flips: true, stride: 64, split: 0.1, seed: 7 });
  t.ok(again.valid!.pan.equal(split.valid!.pan), 'same seed, same split');

  const capped = await makeWaldDataset({ ms: scene.ms, pan: scene.pan, sensor: 'WV2', flips: true, stride: 64, maxSamples: 30, dtype: 'float32' });
  t.same(capped.train.pan.shape, [30, 1, 64, 64], 'maxSamples keeps the first 30');
  t.equal(capped.train.pan.dtype, 'float32');

  // PanCollectionWriter round trip
  const dir = mkdtempSync(join(tmpdir(), 'specfuse-wald-'));
  try {
    const file = join(dir, 'train_wv2.h5');
    const w = await PanCollectionWriter.create(file);
    w.append(await toPanSamples(split.train));
    w.append(await toPanSamples(split.valid!));
    w.close();
    const r = await openPanCollection(file);
    t.equal(r.length, 75);
    t.same(r.keys, ['gt', 'lms', 'ms', 'pan']);
    t.same(r.info('ms').shape, [75, 8, 16, 16]);
    t.same(r.info('pan').shape, [75, 1, 64, 64]);
    t.equal(r.info('gt').dtype, 'float64');
    const back = r.read('lms', 0, 67);
    t.equal(maxDiff(back.data as Float64Array, (await f64(split.train.lms)).data).abs, 0, 'lms read back equals what was written');
    r.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  for (const s of [train, flipped.train, split.train, split.valid, again.train, again.valid, capped.train] as (WaldSet | undefined)[]) disposeSet(s);
  scene.ms.dispose();
  scene.pan.dispose();
});

t.test('bad options', async (t) => {
  const ms = toTensor(smoothImage(4, 64, 64, 51));
  const pan = toTensor(smoothImage(1, 256, 256, 52));
  const base = { ms, pan, sensor: 'GF2' };
  await t.rejects(makeWaldDataset({ ...base, patch: 62 }), { name: 'RangeError', message: /patch/ }, 'patch not a multiple of the ratio');
  await t.rejects(makeWaldDataset({ ...base, patch: 32, stride: 10 }), { name: 'RangeError', message: /stride/ }, 'stride not a multiple of the ratio');
  await t.rejects(makeWaldDataset({ ...base, patch: 128 }), { name: 'RangeError', message: /larger/ }, 'patch larger than the image');
  await t.rejects(makeWaldDataset({ ...base, patch: 32, split: 1.5 }), RangeError, 'split out of range');
  await t.rejects(makeWaldDataset({ ...base, sensor: 'WV3', patch: 32 }), { name: 'RangeError', message: /bands/ }, 'wrong band count');
  const small = await makeWaldDataset({ ...base, patch: 32, stride: 16 });
  t.same(small.train.ms.shape, [9, 4, 8, 8], '64×64 GF2 image, patch 32 stride 16: 3×3 patches');
  disposeSet(small.train);
  ms.dispose();
  pan.dispose();
});

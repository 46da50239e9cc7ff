/**
 * Wald's protocol (wald.ts: filters, resampling and degradation as the MATLAB toolbox does them),
 * training sets simulated with it (here), and scene tiles (tiles.ts).
 */
import type { PanSamples } from '../data/pancollection-write.js';
import { native } from '../native.js';
import { Tensor } from '../tensor.js';
import { epochOrder } from '../train/rng.js';
import { checkPair, type DegradeInput, type WaldSet } from './wald.js';
import { checkOutDType, dims, type OutDType } from './argument-checks.js';

export * from './wald.js';

export interface WaldDatasetOptions extends DegradeInput {
  /** HR patch side (gt, lms, pan); ms patches are patch/ratio. Default 64. */
  patch?: number;
  /** HR stride between patches; default patch − 4·ratio (Demo_DataSimu: 64 with an LR overlap of 4 → 48). */
  stride?: number;
  /** Append up-down then left-right flipped copies (Demo_DataSimu's augmentation). Default false. */
  flips?: boolean;
  /** Keep at most this many samples (after flips, before the split; Demo_DataSimu keeps 10000). */
  maxSamples?: number;
  /** Fraction of samples for validation, in [0, 1): train gets floor((1 − split)·N) after a seeded shuffle. Default 0. */
  split?: number;
  /** Seed of the shuffle (default 0). */
  seed?: number;
  /** Shuffle the samples (default: only when split > 0). */
  shuffle?: boolean;
  /** Default 'float64' like the published PanCollection files. */
  dtype?: OutDType;
}

/** PanCollection-layout patches: gt/lms [N, C, p, p], ms [N, C, p/r, p/r], pan [N, 1, p, p], DN. */
export interface WaldDataset {
  train: WaldSet;
  /** Present when `split` > 0. */
  valid?: WaldSet;
}

async function takeSet(set: WaldSet, idx: number[]): Promise<WaldSet> {
  const [gt, lms, ms, pan] = await Promise.all([set.gt, set.lms, set.ms, set.pan].map((t) => native.takeSamples(t.native, idx)));
  return { gt: new Tensor(gt!), lms: new Tensor(lms!), ms: new Tensor(ms!), pan: new Tensor(pan!) };
}

export function disposeSet(set: WaldSet | undefined): void {
  if (!set) return;
  for (const t of [set.gt, set.lms, set.ms, set.pan]) if (!t.disposed) t.dispose();
}

/**
 * Simulates a reduced-resolution training set from an original MS + PAN pair (or a batch of pairs):
 * Wald degradation, then patches on a row-major grid (per image, in order), optional flips, optional
 * cap, optional seeded shuffle and train/valid split. Write it with PanCollectionWriter via
 * `toPanSamples`.
 */
export async function makeWaldDataset(opts: WaldDatasetOptions): Promise<WaldDataset> {
  const { id, ratio } = checkPair(opts);
  // the ratio and the patch and stride as multiples of it are checked by wald_patches (native/ops/resample.cc)
  const patch = opts.patch ?? 64;
  const stride = opts.stride ?? Math.max(ratio, patch - 4 * ratio);
  const [, , h, w] = dims(opts.ms);
  if (patch > h || patch > w) throw new RangeError(`patch: ${patch} is larger than the reduced-resolution image (${h}x${w})`);
  const split = opts.split ?? 0;
  if (typeof split !== 'number' || !(split >= 0 && split < 1)) throw new RangeError(`split: must be a fraction in [0, 1), got ${String(split)}`);
  if (opts.maxSamples !== undefined && (!Number.isInteger(opts.maxSamples) || opts.maxSamples < 1))
    throw new RangeError(`maxSamples: must be a positive integer, got ${opts.maxSamples}`);
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(seed)) throw new RangeError(`seed: must be an integer, got ${seed}`);
  const flips = opts.flips ?? false;
  if (typeof flips !== 'boolean') throw new TypeError('flips: expected a boolean');
  const dtype = checkOutDType(opts.dtype) ?? 'float64';

  const pan = opts.pan.ndim === 2 ? opts.pan.unsqueeze(0) : opts.pan;
  let all: WaldSet;
  try {
    const r = await native.waldPatches(opts.ms.native, pan.native, id, ratio, patch, stride, flips, opts.panMtf ?? false, dtype);
    all = { gt: new Tensor(r.gt), lms: new Tensor(r.lms), ms: new Tensor(r.ms), pan: new Tensor(r.pan) };
  } finally {
    if (pan !== opts.pan) pan.dispose();
  }
  const total = all.gt.shape[0]!;
  const n = Math.min(total, opts.maxSamples ?? total);
  const shuffle = opts.shuffle ?? split > 0;
  if (!shuffle && n === total && split === 0) return { train: all };
  const order = epochOrder(n, seed, 0, shuffle);
  const nTrain = split > 0 ? Math.floor((1 - split) * n) : n;
  try {
    const train = await takeSet(all, order.slice(0, nTrain));
    if (nTrain === n) return { train };
    const valid = await takeSet(all, order.slice(nTrain));
    return { train, valid };
  } finally {
    disposeSet(all);
  }
}

/** A WaldSet as host arrays for PanCollectionWriter.append / writePanCollection. */
export async function toPanSamples(set: WaldSet): Promise<PanSamples> {
  const [gt, lms, ms, pan] = await Promise.all([set.gt.toHost(), set.lms.toHost(), set.ms.toHost(), set.pan.toHost()]);
  return { gt: gt!, lms: lms!, ms: ms!, pan: pan! };
}

export { fullResolutionTiles, reducedResolutionTiles, type SceneTileOptions, type SceneTiles, type TileSet } from './tiles.js';

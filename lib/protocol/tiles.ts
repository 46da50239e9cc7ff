/**
 * Training and test tiles cut from one scene (an original MS + PAN pair), with a spatial hold-out:
 * the scene's columns are split at `holdout` (a fraction of its width, from the right), training
 * tiles come from the left part and held-out tiles from the right part, so no held-out pixel is
 * ever seen in training (overlapping random crops of one image would leak it).
 *
 *  - `fullResolutionTiles`: the scene as it is (no ground truth): lms = interp23tap(ms) of the whole
 *    scene, then cut; for self-supervised training (CrossDiff stage 1) and no-reference evaluation.
 *  - `reducedResolutionTiles`: Wald's protocol on the whole scene (`degrade`), then cut: gt is the
 *    original MS; for supervised training and reference metrics.
 *
 * Tiles are float32 host arrays N×C×p×p (ms p/ratio), in the scene's scale divided by `scale`.
 */
import type { HostArray } from '../host.js';
import { Tensor } from '../tensor.js';
import { degrade, interp23tap } from './wald.js';
import { cropWindows, windowGrid, type Window } from './windows.js';
import { dims, type ProtocolSensor } from './argument-checks.js';

export interface SceneTileOptions {
  /** HR tile side (pan, lms, gt); ms tiles are patch/ratio. Multiple of the ratio. */
  patch: number;
  /** HR stride between training tiles (default patch/2); held-out tiles never overlap. */
  stride?: number;
  /** Side of the held-out tiles (default: patch); larger tiles have fewer border pixels. */
  heldOutPatch?: number;
  /** Fraction of the scene's width (its right part) held out (default 0.25; 0: none). */
  holdout?: number;
  ratio?: number;
  /** Values are divided by this (default 1; 2047 for 11-bit DN → [0, 1]). */
  scale?: number;
}

export interface TileSet {
  lms: HostArray;
  pan: HostArray;
  ms: HostArray;
  /** Reduced resolution only: the original MS. */
  gt?: HostArray;
}

export interface SceneTiles {
  train: TileSet;
  /** Present when holdout > 0. */
  heldOut?: TileSet;
  /** Column (HR pixels of the tiled image) where the held-out part starts. */
  split: number;
}

function check(o: SceneTileOptions, ratio: number): Required<SceneTileOptions> {
  if (o === null || typeof o !== 'object') throw new TypeError('options: expected { patch, stride?, holdout? }');
  const patch = o.patch;
  if (!Number.isInteger(patch) || patch < ratio || patch % ratio !== 0)
    throw new RangeError(`patch: must be a positive multiple of the ratio ${ratio}, got ${String(patch)}`);
  const stride = o.stride ?? Math.max(ratio, patch / 2);
  if (!Number.isInteger(stride) || stride < ratio || stride % ratio !== 0)
    throw new RangeError(`stride: must be a positive multiple of the ratio ${ratio}, got ${String(stride)}`);
  const holdout = o.holdout ?? 0.25;
  if (typeof holdout !== 'number' || !(holdout >= 0 && holdout < 1)) throw new RangeError(`holdout: must be a fraction in [0, 1), got ${String(holdout)}`);
  const scale = o.scale ?? 1;
  if (typeof scale !== 'number' || !(scale > 0)) throw new RangeError(`scale: must be a positive number, got ${String(scale)}`);
  const heldOutPatch = o.heldOutPatch ?? patch;
  if (!Number.isInteger(heldOutPatch) || heldOutPatch < ratio || heldOutPatch % ratio !== 0)
    throw new RangeError(`heldOutPatch: must be a positive multiple of the ratio ${ratio}, got ${String(heldOutPatch)}`);
  return { patch, stride, holdout, ratio, scale, heldOutPatch };
}

async function chw(t: Tensor): Promise<{ data: Float32Array | Float64Array; shape: number[] }> {
  const f = t.dtype === 'float32' || t.dtype === 'float64' ? t : t.to('float64');
  try {
    const data = (await f.data()) as Float32Array | Float64Array;
    const shape = f.ndim === 2 ? [1, ...f.shape] : f.shape.slice(-3);
    return { data, shape };
  } finally {
    if (f !== t) f.dispose();
  }
}

async function tileAll(images: { lms: Tensor; pan: Tensor; ms: Tensor; gt?: Tensor }, o: Required<SceneTileOptions>): Promise<SceneTiles> {
  const [, , h, w] = dims(images.lms);
  const split = o.holdout > 0 ? Math.floor((w * (1 - o.holdout)) / o.ratio) * o.ratio : w;
  // tiles of the training columns [0, split) every stride, held-out ones side by side in [split, w)
  const trainAt = windowGrid({ y: 0, x: 0, height: h, width: split }, o.patch, o.stride);
  const heldAt = o.holdout > 0 ? windowGrid({ y: 0, x: split, height: h, width: w - split }, o.heldOutPatch) : [];
  if (trainAt.length === 0) throw new RangeError(`patch: ${o.patch} does not fit in the training part of the scene (${h}×${split})`);
  if (o.holdout > 0 && heldAt.length === 0) throw new RangeError(`holdout: the held-out part (${h}×${w - split}) is narrower than one ${o.heldOutPatch} tile`);
  const host = {
    lms: await chw(images.lms),
    pan: await chw(images.pan),
    ms: await chw(images.ms),
    gt: images.gt ? await chw(images.gt) : undefined,
  };
  // the MS is `ratio` times coarser than the windows' HR grid
  const set = (at: Window[]): TileSet => ({
    lms: cropWindows(host.lms, at, 1, o.scale),
    pan: cropWindows(host.pan, at, 1, o.scale),
    ms: cropWindows(host.ms, at, o.ratio, o.scale),
    ...(host.gt ? { gt: cropWindows(host.gt, at, 1, o.scale) } : {}),
  });
  return { train: set(trainAt), ...(heldAt.length ? { heldOut: set(heldAt) } : {}), split };
}

/** Full-resolution tiles of an original pair: ms C×h×w, pan (1×)(ratio·h)×(ratio·w). */
export async function fullResolutionTiles(scene: { ms: Tensor; pan: Tensor }, options: SceneTileOptions): Promise<SceneTiles> {
  const ratio = options?.ratio ?? 4;
  const o = check(options, ratio);
  const lms = await interp23tap(scene.ms, ratio);
  try {
    const [, , ph, pw] = dims(scene.pan);
    const [, , lh, lw] = dims(lms);
    if (ph !== lh || pw !== lw) throw new RangeError(`pan: expected ${lh}×${lw} (ratio ${ratio} × the ms), got ${ph}×${pw}`);
    return await tileAll({ lms, pan: scene.pan, ms: scene.ms }, o);
  } finally {
    lms.dispose();
  }
}

/** Reduced-resolution (Wald) tiles of an original pair: the scene degraded by the ratio, gt = the original ms. */
export async function reducedResolutionTiles(
  scene: { ms: Tensor; pan: Tensor; sensor: ProtocolSensor | string },
  options: SceneTileOptions,
): Promise<SceneTiles> {
  const ratio = options?.ratio ?? 4;
  const o = check(options, ratio);
  const set = await degrade({ ms: scene.ms, pan: scene.pan, sensor: scene.sensor, ratio });
  try {
    return await tileAll(set, o);
  } finally {
    for (const t of [set.gt, set.lms, set.ms, set.pan]) t.dispose();
  }
}

/**
 * The MS/HS fusion (MHIF) simulation protocol of INF's group (HSRNet/Fusformer/PSRT lineage,
 * inf.md §4), on native ops:
 *
 * - HR-MSI  Z = R·X, R the s×S camera response (lib/protocol/srf.ts; Nikon D700 by default).
 * - LR-HSI  Y = decimate_r(blur(X)): a K×K Gaussian (default 3×3, σ = 0.5, normalised to sum 1,
 *   MATLAB fspecial('gaussian')), applied per band with replicated borders (imfilter 'replicate'),
 *   then the toolbox's nearest decimation, which keeps rows/cols ⌊r/2⌋ + k·r (lib/protocol decimate).
 * - Y↑ = MATLAB bicubic imresize(Y, r): the `HSI_up` of the group's h5 files and the bicubic baseline.
 * - Patches: every tensor of the simulated whole image is cut at the same HR window (LR windows at
 *   /r), so patches see no border effects of their own. Test crops come from a held-out HR region;
 *   training patches avoid it by a margin that covers the blur's reach, so no test pixel (nor any
 *   LR sample blurred from one) is seen in training.
 */
import type { HostArray } from '../host.js';
import { native } from '../native.js';
import { Tensor, tensor } from '../tensor.js';
import { checkImage, dims } from './argument-checks.js';
import { cropWindows, windowGrid, type Window } from './windows.js';
import { spectralResponseTensor, type SrfOptions } from './srf.js';

export interface MhifSet<T = Tensor> {
  /** X, [N, S, H, W]. */
  gt: T;
  /** Z = R·X, [N, s, H, W]. */
  msi: T;
  /** Y, [N, S, H/r, W/r]. */
  lrhsi: T;
  /** bicubic Y↑, [N, S, H, W]. */
  hsi_up: T;
}

export interface MhifSimulationOptions extends SrfOptions {
  /** HR/LR ratio r (H and W must be divisible by it). Default 4. */
  ratio?: number;
  /** Gaussian blur kernel side (odd). Default 3. */
  blurSize?: number;
  /** Gaussian blur σ in HR pixels. Default 0.5. */
  blurSigma?: number;
  /** An explicit s×S response matrix instead of `table`/`wavelengths`. */
  response?: Tensor;
}

/** fspecial('gaussian', size, sigma): [size, size] float64, sums to 1. */
export function gaussianKernel(size = 3, sigma = 0.5): Tensor {
  if (!Number.isInteger(size) || size < 1 || size % 2 === 0) throw new RangeError(`blurSize: must be an odd positive integer, got ${size}`);
  if (typeof sigma !== 'number' || !(sigma > 0) || !Number.isFinite(sigma)) throw new RangeError(`blurSigma: must be a positive number, got ${sigma}`);
  const c = (size - 1) / 2;
  const k = new Float64Array(size * size);
  let sum = 0;
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      const v = Math.exp(-((i - c) ** 2 + (j - c) ** 2) / (2 * sigma * sigma));
      k[i * size + j] = v;
      sum += v;
    }
  }
  for (let i = 0; i < k.length; i++) k[i]! /= sum;
  return tensor(k, [size, size], 'float64');
}

function checkRatioInt(ratio: unknown): number {
  if (typeof ratio !== 'number' || !Number.isInteger(ratio) || ratio < 1 || ratio > 64)
    throw new RangeError(`ratio: must be an integer in [1, 64], got ${String(ratio)}`);
  return ratio;
}

/** R·X per pixel: [N, S, H, W] (or [S, H, W]) with an s×S matrix -> [N, s, H, W] float32. */
export function spectralProject(cube: Tensor, response: Tensor): Tensor {
  checkImage(cube, 'cube');
  const [n, c, h, w] = dims(cube);
  if (!(response instanceof Tensor) || response.ndim !== 2) throw new TypeError('response: expected an s×S Tensor');
  if (response.shape[1] !== c) throw new RangeError(`response: has ${response.shape[1]} columns, the cube has ${c} bands`);
  const s = response.shape[0]!;
  const x =
    cube.dtype === 'float32'
      ? cube.reshape([n, c, h * w])
      : (() => {
          const f = cube.to('float32');
          const r = f.reshape([n, c, h * w]);
          f.dispose();
          return r;
        })();
  const r = response.dtype === 'float32' ? response : response.to('float32');
  try {
    const z = r.matmul(x); // [s, S] @ [N, S, HW] -> [N, s, HW]
    const out = z.reshape([n, s, h, w]);
    z.dispose();
    return out;
  } finally {
    x.dispose();
    if (r !== response) r.dispose();
  }
}

/**
 * Simulates the fusion inputs from a reference cube X ([S, H, W] or [N, S, H, W], reflectance in
 * [0, 1]): {gt, msi, lrhsi, hsi_up}, float32, batched [N, …].
 */
export async function simulateMhif(cube: Tensor, opts: MhifSimulationOptions = {}): Promise<MhifSet> {
  checkImage(cube, 'cube');
  const ratio = checkRatioInt(opts.ratio ?? 4);
  const [n, c, h, w] = dims(cube);
  if (h % ratio !== 0 || w % ratio !== 0) throw new RangeError(`cube: height and width (${h}x${w}) must be divisible by the ratio ${ratio}`);
  if (opts.wavelengths && opts.wavelengths.length !== c) throw new RangeError(`wavelengths: ${opts.wavelengths.length} given, the cube has ${c} bands`);
  const gt = cube.reshape([n, c, h, w]).to('float32');
  const response = opts.response ?? spectralResponseTensor(opts);
  const kernel = gaussianKernel(opts.blurSize ?? 3, opts.blurSigma ?? 0.5);
  let blurred: Tensor | undefined;
  try {
    const msi = spectralProject(gt, response);
    blurred = new Tensor(await native.filter2Replicate(gt.native, kernel.native, 'float32'));
    const lrhsi = new Tensor(await native.decimate(blurred.native, ratio, 'float32'));
    const hsi_up = new Tensor(await native.imresize(lrhsi.native, ratio, true, 'float32'));
    return { gt, msi, lrhsi, hsi_up };
  } finally {
    kernel.dispose();
    blurred?.dispose();
    if (response !== opts.response) response.dispose();
  }
}

export function disposeMhif(set: MhifSet | undefined): void {
  if (!set) return;
  for (const t of [set.gt, set.msi, set.lrhsi, set.hsi_up]) if (!t.disposed) t.dispose();
}

/** Host copies of a simulated set. */
export async function mhifToHost(set: MhifSet): Promise<MhifSet<HostArray>> {
  const [gt, msi, lrhsi, hsi_up] = await Promise.all([set.gt.toHost(), set.msi.toHost(), set.lrhsi.toHost(), set.hsi_up.toHost()]);
  return { gt: gt!, msi: msi!, lrhsi: lrhsi!, hsi_up: hsi_up! };
}

export type { Window } from './windows.js';

export interface MhifPatchOptions {
  ratio: number;
  /** HR training patch side (a multiple of the ratio). */
  patch: number;
  /** HR stride between training patches (a multiple of the ratio). Default patch / 2. */
  stride?: number;
  /** HR region whose crops are held out for testing (sides and corner multiples of the ratio). */
  testRegion?: Window;
  /** HR side of the test crops tiling testRegion (a multiple of the ratio). Default: the region as one crop when square, else required. */
  testCrop?: number;
  /** Pixels kept free between training patches and the test region. Default ratio (covers a 3×3 blur: LR samples near the edge mix in 1 HR pixel). */
  margin?: number;
}

export interface MhifPatches {
  /** Training patches [N, C, p, p] (lrhsi: p/r), keys gt, msi, lrhsi, hsi_up. */
  train: Record<keyof MhifSet, HostArray>;
  /** Held-out test crops; absent without testRegion. */
  test?: Record<keyof MhifSet, HostArray>;
  /** The HR windows cut, for the record. */
  trainWindows: Window[];
  testWindows: Window[];
}

const overlaps = (a: Window, b: Window, m: number) =>
  a.y < b.y + b.height + m && b.y - m < a.y + a.height && a.x < b.x + b.width + m && b.x - m < a.x + a.width;

/** Square crops of side `crop` tiling `region` row by row (what does not fill a whole crop is left out). */
export function tileRegion(region: Window, crop: number): Window[] {
  const out = windowGrid(region, crop);
  if (out.length === 0) throw new RangeError(`testCrop: ${crop} does not fit in the test region ${region.height}x${region.width}`);
  return out;
}

/**
 * Training patches on a regular grid (stride) that keep `margin` pixels away from `testRegion`, and
 * test crops tiling `testRegion`. Inputs are host copies of a simulated set (float32).
 */
export function cutMhifPatches(set: MhifSet<HostArray>, opts: MhifPatchOptions): MhifPatches {
  const r = checkRatioInt(opts.ratio);
  const [, , H, W] = set.gt.shape as [number, number, number, number];
  const mult = (v: unknown, name: string) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < r || v % r !== 0)
      throw new RangeError(`${name}: must be a positive multiple of the ratio ${r}, got ${String(v)}`);
    return v;
  };
  for (const [k, a] of Object.entries(set)) {
    if (a.dtype !== 'float32' || a.shape.length !== 4) throw new TypeError(`set.${k}: expected float32 [N, C, H, W]`);
  }
  const p = mult(opts.patch, 'patch');
  const stride = mult(opts.stride ?? Math.max(r, Math.floor(p / 2 / r) * r), 'stride');
  const margin = opts.margin ?? r;
  if (!Number.isInteger(margin) || margin < 0) throw new RangeError(`margin: must be a non-negative integer, got ${margin}`);
  if (p > H || p > W) throw new RangeError(`patch: ${p} is larger than the image (${H}x${W})`);
  const testWindows: Window[] = [];
  const region = opts.testRegion;
  if (region) {
    for (const k of ['y', 'x'] as const)
      if (!Number.isInteger(region[k]) || region[k] < 0 || region[k] % r !== 0)
        throw new RangeError(`testRegion.${k}: must be a non-negative multiple of the ratio ${r}, got ${region[k]}`);
    mult(region.height, 'testRegion.height');
    mult(region.width, 'testRegion.width');
    if (region.y + region.height > H || region.x + region.width > W) throw new RangeError(`testRegion: exceeds the image (${H}x${W})`);
    testWindows.push(...tileRegion(region, mult(opts.testCrop ?? (region.height === region.width ? region.height : NaN), 'testCrop')));
  }
  const trainWindows = windowGrid({ y: 0, x: 0, height: H, width: W }, p, stride).filter((win) => !region || !overlaps(win, region, margin));
  if (trainWindows.length === 0) throw new RangeError('patch/stride/testRegion: no training patch fits outside the test region');
  const take = (wins: Window[]) => ({
    gt: cropWindows(set.gt, wins, 1),
    msi: cropWindows(set.msi, wins, 1),
    lrhsi: cropWindows(set.lrhsi, wins, r),
    hsi_up: cropWindows(set.hsi_up, wins, 1),
  });
  return { train: take(trainWindows), ...(region ? { test: take(testWindows) } : {}), trainWindows, testWindows };
}

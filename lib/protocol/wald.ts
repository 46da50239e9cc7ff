/**
 * Wald's protocol, as the MATLAB pansharpening toolbox of Vivone et al. (DLPan-Toolbox, Tools/)
 * implements it, on native libtorch ops (native/ops/resample.cc):
 *
 * - `mtfKernel` / `mtfKernels`: the 41×41 Gaussian filters matched to each sensor's MTF gain at
 *   Nyquist (genMTF.m, MTF_PAN.m): σ = sqrt(((N−1)·fcut/2)² / (−2 ln GNyq)), fcut = 1/ratio,
 *   `fspecial('gaussian', 41, σ)` normalised by its max taken as the desired frequency response,
 *   `fwind1(Hd, kaiser(41))` (Huang's circular Kaiser window, β = 0.5). Like MATLAB (and unlike the
 *   Python ports, which renormalise to Σh = 1) the kernel is **not** renormalised: Σh ≈ 0.999.
 * - `mtfFilter`: per-band `imfilter(·, h_b, 'replicate')`.
 * - `decimate`: `imresize(·, 1/ratio, 'nearest')`, which keeps samples ratio/2, ratio/2 + ratio, ...
 *   (0-based; cv2.INTER_NEAREST in the Python ports keeps 0, ratio, ... instead).
 * - `imresize`: MATLAB's bicubic imresize (a = −0.5, mirrored borders) with antialiasing when
 *   downscaling; `bicubicDownsample`: PyTorch's `interpolate(bicubic, align_corners=False)`.
 * - `interp23tap`: the 23-tap CDF interpolator, log2(ratio) ×2 stages, circular borders.
 * - `degrade`: resize_images.m — MS → MTF filter → nearest decimation; PAN → bicubic imresize with
 *   antialiasing (flag_PAN_MTF = 0), or MTF_PAN + decimation with `panMtf: true`; plus
 *   lms = interp23tap(ms_LR) and gt = the original MS.
 * - `makeWaldDataset`: the degraded pair cut into PanCollection-layout patches (Demo_DataSimu).
 *
 * Images are channel-first Tensors, [C, H, W] or batched [N, C, H, W] (a PAN also [H, W]), in DN or
 * [0, 1] (every op is linear or scale-free except the baselines' eps guards). Everything heavy runs
 * off the JS thread. Results are float64 (float32 when the input is float32) unless `dtype` says.
 */
import { native } from '../native.js';
import { Tensor } from '../tensor.js';
import { checkImage, checkOutDType, checkSameBatching, resolveSensor, type OutDType, type ProtocolSensor } from './argument-checks.js';

export type { OutDType, ProtocolSensor } from './argument-checks.js';
export { resolveSensor } from './argument-checks.js';

/** MTF gains at Nyquist (genMTF.m / MTF_PAN.m). */
export interface MtfGains {
  /** Canonical id ('qb', 'ikonos', 'geoeye1', 'wv4', 'wv2', 'wv3', 'gf2', 'none'). */
  sensor: string;
  bands: number;
  /** Per MS band. */
  ms: number[];
  pan: number;
}

/** The sensor's gains; `bands` is needed only for 'none' (and must match the sensor otherwise). */
export function mtfGains(sensor: ProtocolSensor | string, bands?: number): MtfGains {
  // the band count (required for 'none', else the sensor's) is checked by the sensor table (native/ops/sensors.cc)
  return native.sensorMtf(resolveSensor(sensor), bands);
}

/**
 * The 41×41 MTF filter (float64) of one MS band (0-based index) or of the PAN ('pan'), as genMTF.m /
 * MTF_PAN.m design it. `mtfKernel('none', b)` is the generic GNyq = 0.3 filter for any b.
 */
export function mtfKernel(sensor: ProtocolSensor | string, band: number | 'pan', ratio = 4): Tensor {
  const id = resolveSensor(sensor);
  if (band === 'pan') return new Tensor(native.mtfKernel('pan', id, 0, ratio));
  if (typeof band !== 'number') throw new TypeError(`band: expected a band index or 'pan', got ${typeof band}`);
  const bands = id === 'none' ? band + 1 : mtfGains(id).bands;
  if (!Number.isInteger(band) || band < 0 || band >= bands) throw new RangeError(`band: sensor '${id}' has bands 0..${bands - 1}, got ${band}`);
  const all = native.mtfKernel('ms', id, bands, ratio);
  try {
    return new Tensor(all.select(0, band).contiguous());
  } finally {
    all.dispose();
  }
}

/** genMTF(ratio, sensor, bands): [bands, 41, 41] float64. */
export function mtfKernels(sensor: ProtocolSensor | string, bands: number, ratio = 4): Tensor {
  return new Tensor(native.mtfKernel('ms', resolveSensor(sensor), bands, ratio));
}

/** LPfilterGauss.m's filter (GNyq 0.3, σ from N rather than N − 1), used by BT-H and MTF-GLP-HPM. */
export function lpGaussKernel(ratio = 4): Tensor {
  return new Tensor(native.mtfKernel('lpgauss', 'none', 0, ratio));
}

export interface OutOptions {
  /** Result dtype (default float32 for float32 input, else float64). */
  dtype?: OutDType;
}

/** MTF(I_MS, sensor, ratio): each band filtered by its sensor MTF kernel, 'replicate' borders. */
export async function mtfFilter(image: Tensor, sensor: ProtocolSensor | string, ratio = 4, opts: OutOptions = {}): Promise<Tensor> {
  checkImage(image, 'image');
  return new Tensor(await native.mtfFilter(image.native, resolveSensor(sensor), ratio, checkOutDType(opts.dtype)));
}

/** imfilter(image_c, kernel_c, 'replicate') with [C, K, K] (per channel) or [K, K] (shared) odd kernels. */
export async function filterReplicate(image: Tensor, kernels: Tensor, opts: OutOptions = {}): Promise<Tensor> {
  checkImage(image, 'image');
  if (!(kernels instanceof Tensor)) throw new TypeError('kernels: expected a Tensor');
  return new Tensor(await native.filter2Replicate(image.native, kernels.native, checkOutDType(opts.dtype)));
}

/** imresize(image, 1/ratio, 'nearest'): the toolbox's decimation (H, W divisible by ratio). */
export async function decimate(image: Tensor, ratio = 4, opts: OutOptions = {}): Promise<Tensor> {
  checkImage(image, 'image', { pan: image instanceof Tensor && image.ndim === 2 });
  return new Tensor(await native.decimate(image.native, ratio, checkOutDType(opts.dtype)));
}

export interface ImresizeOptions extends OutOptions {
  /** MATLAB's 'Antialiasing' (default true; only acts when downscaling). */
  antialias?: boolean;
}

/** MATLAB imresize(image, scale) with the default bicubic kernel; output ceil(scale·H) × ceil(scale·W). */
export async function imresize(image: Tensor, scale: number, opts: ImresizeOptions = {}): Promise<Tensor> {
  checkImage(image, 'image', { pan: image instanceof Tensor && image.ndim === 2 });
  if (typeof scale !== 'number') throw new TypeError(`scale: expected a number, got ${typeof scale}`);
  if (!(scale > 0 && scale <= 64)) throw new RangeError(`scale: must be in (0, 64], got ${scale}`);
  if (opts.antialias !== undefined && typeof opts.antialias !== 'boolean') throw new TypeError('antialias: expected a boolean');
  return new Tensor(await native.imresize(image.native, scale, opts.antialias ?? true, checkOutDType(opts.dtype)));
}

/**
 * PyTorch's `interpolate(x, scale_factor=1/ratio, mode='bicubic', align_corners=False)` (a = −0.75,
 * point-sampled at 4i + 1.5 for ratio 4, no antialias): the LMS → MS downsample PanAdapter uses.
 */
export async function bicubicDownsample(image: Tensor, ratio = 4, opts: OutOptions = {}): Promise<Tensor> {
  checkImage(image, 'image', { pan: image instanceof Tensor && image.ndim === 2 });
  return new Tensor(await native.bicubicDownsample(image.native, ratio, checkOutDType(opts.dtype)));
}

/** interp23tap(ms, ratio): the toolbox's 23-tap upsampler (ratio a power of two). */
export async function interp23tap(ms: Tensor, ratio = 4, opts: OutOptions = {}): Promise<Tensor> {
  checkImage(ms, 'ms', { pan: ms instanceof Tensor && ms.ndim === 2 });
  return new Tensor(await native.interp23tap(ms.native, ratio, checkOutDType(opts.dtype)));
}

/** LPfilterPlusDec(image, ratio): Starck–Murtagh low-pass (MATLAB ndwt2/indwt2) + nearest decimation (GSA). */
export async function lpFilterPlusDec(image: Tensor, ratio = 4, opts: OutOptions = {}): Promise<Tensor> {
  checkImage(image, 'image', { pan: image instanceof Tensor && image.ndim === 2 });
  return new Tensor(await native.lpFilterPlusDec(image.native, ratio, checkOutDType(opts.dtype)));
}

/** A reduced-resolution set in PanCollection roles. */
export interface WaldSet {
  /** Reference: the original MS, [C, h, w]. */
  gt: Tensor;
  /** interp23tap of `ms`, [C, h, w]. */
  lms: Tensor;
  /** Degraded MS, [C, h/ratio, w/ratio]. */
  ms: Tensor;
  /** Degraded PAN, [1, h, w]. */
  pan: Tensor;
}

export interface DegradeInput extends OutOptions {
  /** Original MS, [C, h, w] or [N, C, h, w], h and w divisible by ratio. */
  ms: Tensor;
  /** Original PAN, [ratio·h, ratio·w] / [1, ratio·h, ratio·w] / [N, 1, ratio·h, ratio·w]. */
  pan: Tensor;
  sensor: ProtocolSensor | string;
  /** PAN/MS scale ratio, a power of two (default 4). */
  ratio?: number;
  /** Degrade the PAN with MTF_PAN + decimation instead of bicubic imresize (toolbox flag_PAN_MTF = 1). */
  panMtf?: boolean;
}

/** @internal The pair's sensor and ratio, checked (shared with the dataset maker in index.ts). */
export function checkPair(input: DegradeInput): { id: string; ratio: number } {
  if (input === null || typeof input !== 'object') throw new TypeError('input: expected an object { ms, pan, sensor, ratio }');
  const ms = checkImage(input.ms, 'ms');
  const pan = checkImage(input.pan, 'pan', { pan: true });
  if (pan.ndim === 2 && ms.ndim === 4) throw new RangeError('pan: a single [H, W] image but ms is batched [N, C, H, W]');
  if (pan.ndim === 4 || ms.ndim === 4) checkSameBatching(ms, pan, 'ms', 'pan');
  const id = resolveSensor(input.sensor);
  // the ratio (a power of two), the band count for the sensor and the sizes are checked by wald_degrade (native/ops/resample.cc)
  const ratio = input.ratio ?? 4;
  if (input.panMtf !== undefined && typeof input.panMtf !== 'boolean') throw new TypeError('panMtf: expected a boolean');
  return { id, ratio };
}

/**
 * Wald's protocol on an original MS + PAN pair: the reduced-resolution inputs {ms, pan, lms} and
 * the reference gt (= the original MS), all in the input's scale.
 */
export async function degrade(input: DegradeInput): Promise<WaldSet> {
  const { id, ratio } = checkPair(input);
  const pan = input.pan.ndim === 2 ? input.pan.unsqueeze(0) : input.pan;
  try {
    const r = await native.waldDegrade(input.ms.native, pan.native, id, ratio, input.panMtf ?? false, checkOutDType(input.dtype));
    return { gt: new Tensor(r.gt), lms: new Tensor(r.lms), ms: new Tensor(r.ms), pan: new Tensor(r.pan) };
  } finally {
    if (pan !== input.pan) pan.dispose();
  }
}

/**
 * Reduced-resolution (Wald protocol) quality indices: the fused image against a ground truth.
 *
 * Q, SAM, ERGAS, SCC and Q2n follow the reference MATLAB toolbox (indexes_evaluation.m) formula for
 * formula; PSNR and SSIM, which the toolbox lacks, follow the UDL/PanCollection Python code. Images
 * are C×H×W (bands first) in digital numbers (DN), as the toolbox expects: Q2n casts to uint16, so
 * data in [0, 1] must be scaled back (options.scale, e.g. 2047). Computation runs in float64 on the
 * fused tensor's device, off the JS thread.
 */
import type { Tensor } from '../tensor.js';
import { native, type NativeReducedMetricOptions } from '../native.js';
import { TOOLBOX_REFERENCE, bands, checkBatch, checkObject, checkSingle, checkTensor, spatial } from './common.js';

export type ReducedMetricName = 'Q' | 'SAM' | 'ERGAS' | 'SCC' | 'Q2n' | 'PSNR' | 'SSIM';
export const reducedMetricNames: readonly ReducedMetricName[] = Object.freeze(['Q', 'SAM', 'ERGAS', 'SCC', 'Q2n', 'PSNR', 'SSIM']);

export interface ReducedResolutionOptions<K extends ReducedMetricName = ReducedMetricName> {
  /** PAN/MS scale ratio, an integer >= 1; ERGAS uses 100/ratio. Default 4. */
  ratio?: number;
  /** Radiometric resolution L in bits: thValues clips to [0, 2^L]; the default PSNR/SSIM peak is 2^L - 1. Default 11. */
  bits?: number;
  /** Q sliding window and Q2n block size (Qblocks_size). Default 32. */
  blockSize?: number;
  /** Q2n block shift. Default blockSize (non-overlapping blocks, as indexes_evaluation passes). */
  q2nShift?: number;
  /**
   * Border cut dim_cut: both images become MATLAB I(dimCut:end-dimCut, dimCut:end-dimCut, :), i.e.
   * Python [dimCut-1 : -dimCut] (one pixel more on the far side). 0, null or undefined: no cut
   * (flag_cut_bounds = 0, the PanCollection multi-image demo). DLPan demos and UDL use 21.
   */
  dimCut?: number | null;
  /** th_values: clip the fused image to [0, 2^L] before evaluating. Default false (as the demos). */
  thValues?: boolean;
  /** Both images are multiplied by this first (e.g. 2047 for network outputs in [0, 1]). Default 1. */
  scale?: number;
  /** PSNR/SSIM only: the DN value that maps to 1.0 (UDL evaluates x / peak). Default 2^bits - 1. */
  peak?: number;
  /** The metrics to compute (default all, in the order of reducedMetricNames). */
  metrics?: readonly K[];
}

/** Every convention the numbers depend on, recorded with each result. */
export interface ReducedConventions {
  kind: 'reduced-resolution';
  reference: string;
  layout: 'CHW';
  computeDtype: 'float64';
  device: string;
  bands: number;
  /** H×W the metrics saw (after the border cut). */
  evaluatedSize: [number, number];
  ratio: number;
  bits: number;
  /** 2^bits: the thValues threshold. */
  dataRange: number;
  blockSize: number;
  q2nShift: number;
  flagCutBounds: boolean;
  dimCut: number | null;
  thValues: boolean;
  scale: number;
  peak: number;
  /** Definitions in force (fixed by this implementation). */
  definitions: {
    Q: string;
    SAM: string;
    ERGAS: string;
    SCC: string;
    Q2n: string;
    PSNR: string;
    SSIM: string;
  };
}

export const REDUCED_DEFINITIONS: ReducedConventions['definitions'] = Object.freeze({
  Q: 'Q.m/img_qi.m: per-band UIQI, blockSize² sliding window (filter2 valid), mean map, mean over bands',
  SAM: 'SAM.m: mean per-pixel spectral angle in degrees, pixels with zero norm product excluded',
  ERGAS: 'ERGAS.m: (100/ratio)·sqrt(mean_b MSE_b / mean(GT_b)²)',
  SCC: 'SCC.m: Sobel gradient magnitude of I(2:end-1,2:end-1) (imfilter, zero padding), global uncentred normalised dot product',
  Q2n: 'q2n.m: hypercomplex Q on blockSize² blocks shifted by q2nShift, mirror padding to whole blocks, uint16 cast, bands zero-padded to a power of two',
  PSNR: 'UDL analysis_accu: mean over bands of 10·log10(1 / MSE_b) on data / peak',
  SSIM: 'UDL _ssim: 11-tap Gaussian (sigma 1.5), zero-padded same-size filtering, K1 0.01, K2 0.03, on data / peak; mean over pixels then bands',
});

export type ReducedResolutionMetrics<K extends ReducedMetricName = ReducedMetricName> = { [P in K]: number } & {
  conventions: ReducedConventions;
};

interface Resolved {
  native: NativeReducedMetricOptions;
  ratio: number;
  bits: number;
  blockSize: number;
  q2nShift: number;
  dimCut: number;
  thValues: boolean;
  scale: number;
  peak: number;
}

function resolve(opts: ReducedResolutionOptions<ReducedMetricName>): Resolved {
  const o = checkObject(opts, 'options') as ReducedResolutionOptions<ReducedMetricName>;
  const num = (v: unknown, name: string, dflt: number): number => {
    if (v === undefined) return dflt;
    if (typeof v !== 'number') throw new TypeError(`options.${name}: expected a number, got ${typeof v}`);
    return v;
  };
  const ratio = num(o.ratio, 'ratio', 4);
  const bits = num(o.bits, 'bits', 11);
  const blockSize = num(o.blockSize, 'blockSize', 32);
  const q2nShift = num(o.q2nShift, 'q2nShift', blockSize);
  const dimCut = o.dimCut === null ? 0 : num(o.dimCut, 'dimCut', 0);
  if (o.thValues !== undefined && typeof o.thValues !== 'boolean') throw new TypeError('options.thValues: expected a boolean');
  const thValues = o.thValues ?? false;
  const scale = num(o.scale, 'scale', 1);
  const peak = num(o.peak, 'peak', 2 ** bits - 1);
  if (o.metrics !== undefined && !Array.isArray(o.metrics)) throw new TypeError('options.metrics: expected an array of metric names');
  for (const key of Object.keys(o)) {
    if (!['ratio', 'bits', 'blockSize', 'q2nShift', 'dimCut', 'thValues', 'scale', 'peak', 'metrics'].includes(key)) {
      throw new RangeError(`options.${key}: unknown option`);
    }
  }
  return {
    native: { ratio, bits, blockSize, q2nShift, dimCut, thValues, scale, peak, ...(o.metrics ? { metrics: o.metrics } : {}) },
    ratio,
    bits,
    blockSize,
    q2nShift,
    dimCut,
    thValues,
    scale,
    peak,
  };
}

function conventions(r: Resolved, fused: Tensor): ReducedConventions {
  const [h, w] = spatial(fused);
  const cut = r.dimCut > 0;
  return {
    kind: 'reduced-resolution',
    reference: TOOLBOX_REFERENCE + '; PSNR/SSIM as UDL analysis_accu',
    layout: 'CHW',
    computeDtype: 'float64',
    device: fused.device,
    bands: bands(fused),
    evaluatedSize: cut ? [h - 2 * r.dimCut + 1, w - 2 * r.dimCut + 1] : [h, w],
    ratio: r.ratio,
    bits: r.bits,
    dataRange: 2 ** r.bits,
    blockSize: r.blockSize,
    q2nShift: r.q2nShift,
    flagCutBounds: cut,
    dimCut: cut ? r.dimCut : null,
    thValues: r.thValues,
    scale: r.scale,
    peak: r.peak,
    definitions: REDUCED_DEFINITIONS,
  };
}

async function run<K extends ReducedMetricName>(fused: Tensor, gt: Tensor, opts: ReducedResolutionOptions<K>): Promise<ReducedResolutionMetrics<K>[]> {
  const r = resolve(opts as ReducedResolutionOptions<ReducedMetricName>);
  const values = await native.metricsReduced(fused.native, gt.native, r.native);
  const conv = conventions(r, fused);
  return values.map((v) => ({ ...v, conventions: conv }) as ReducedResolutionMetrics<K>);
}

/**
 * The reduced-resolution indices of one fused image against its ground truth (both C×H×W or
 * 1×C×H×W, same shape, in DN). Resolves to {Q, SAM, ERGAS, SCC, Q2n, PSNR, SSIM, conventions}
 * (or the subset in options.metrics).
 */
export async function reducedResolutionMetrics<K extends ReducedMetricName = ReducedMetricName>(
  fused: Tensor,
  gt: Tensor,
  options: ReducedResolutionOptions<K> = {},
): Promise<ReducedResolutionMetrics<K>> {
  checkTensor(fused, 'fused');
  checkTensor(gt, 'gt');
  checkSingle(fused, 'fused', 'reducedResolutionMetricsBatch');
  const [one] = await run(fused, gt, options);
  return one!;
}

/** The indices of each image of an N×C×H×W batch against the matching ground truth. */
export async function reducedResolutionMetricsBatch<K extends ReducedMetricName = ReducedMetricName>(
  fused: Tensor,
  gt: Tensor,
  options: ReducedResolutionOptions<K> = {},
): Promise<ReducedResolutionMetrics<K>[]> {
  checkTensor(fused, 'fused');
  checkTensor(gt, 'gt');
  checkBatch(fused, 'fused');
  return run(fused, gt, options);
}

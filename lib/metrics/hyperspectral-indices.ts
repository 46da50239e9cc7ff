/**
 * The four indices MS/HS fusion papers report (inf.md §6, the group's `analysis_ref_batched_images`
 * with max value 1): PSNR (mean over bands, peak 1), SAM (degrees, mean over pixels), ERGAS
 * (100/r·sqrt(mean_b MSE_b/μ_b²)) and SSIM (mean over bands). They are the pansharpening
 * reduced-resolution indices of reduced.ts (same formulas: SAM.m, ERGAS.m, UDL's PSNR/SSIM) on data
 * in [0, 1] with peak 1, so they share that code rather than repeat it.
 */
import type { Tensor } from '../tensor.js';
import { checkBatch, checkTensor } from './common.js';
import { reducedResolutionMetricsBatch } from './reduced.js';
import { meanAndSpread } from './summary.js';

export const HYPERSPECTRAL_METRICS = ['PSNR', 'SAM', 'ERGAS', 'SSIM'] as const;
export type HyperspectralMetricName = (typeof HYPERSPECTRAL_METRICS)[number];
export type HyperspectralMetrics = Record<HyperspectralMetricName, number>;

/** Per-image PSNR/SAM/ERGAS/SSIM of an N×S×H×W batch against its reference, both in [0, 1]. */
export async function hyperspectralMetricsBatch(fused: Tensor, gt: Tensor, options: { ratio: number }): Promise<HyperspectralMetrics[]> {
  checkTensor(fused, 'fused');
  checkTensor(gt, 'gt');
  checkBatch(fused, 'fused');
  if (options === null || typeof options !== 'object' || typeof options.ratio !== 'number')
    throw new TypeError('options.ratio: expected the HR/LR ratio (ERGAS uses 100/ratio)');
  const all = await reducedResolutionMetricsBatch(fused, gt, { ratio: options.ratio, peak: 1, scale: 1, metrics: HYPERSPECTRAL_METRICS });
  return all.map((m) => ({ PSNR: m.PSNR, SAM: m.SAM, ERGAS: m.ERGAS, SSIM: m.SSIM }));
}

/** The mean of each index over the images of a batch (papers report mean ± std over test images): the one averaging, meanAndSpread. */
export function meanMetrics(list: readonly HyperspectralMetrics[]): HyperspectralMetrics {
  if (list.length === 0) throw new RangeError('list: no metrics to average');
  const { values } = meanAndSpread(list);
  return { PSNR: values.PSNR!, SAM: values.SAM!, ERGAS: values.ERGAS!, SSIM: values.SSIM! };
}

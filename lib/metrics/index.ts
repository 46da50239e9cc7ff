/**
 * Pansharpening quality metrics, computed as the reference MATLAB toolbox (Vivone et al., as shipped
 * in DLPan-Toolbox) computes them, natively in float64 on CPU or GPU.
 *
 *  - reducedResolutionMetrics(fused, gt, options): Q, SAM, ERGAS, SCC, Q2n, PSNR, SSIM
 *  - fullResolutionMetrics(fused, {lms | ms, pan, sensor, ...}): D_lambda, D_s, QNR, D_lambda_K, HQNR
 *  - summarize(list): mean ± std over a test set
 *  - formatMetricTable(rows, kind, bands): the text table the command line prints
 *
 * Every result carries the conventions it was computed with (ratio, bits, block size, border cut...).
 */
export {
  reducedResolutionMetrics,
  reducedResolutionMetricsBatch,
  reducedMetricNames,
  REDUCED_DEFINITIONS,
  type ReducedMetricName,
  type ReducedResolutionOptions,
  type ReducedResolutionMetrics,
  type ReducedConventions,
} from './reduced.js';
export {
  fullResolutionMetrics,
  fullResolutionMetricsBatch,
  fullMetricNames,
  FULL_DEFINITIONS,
  type FullMetricName,
  type FullResolutionInputs,
  type FullResolutionMetrics,
  type FullConventions,
  type InputSource,
} from './full.js';
export {
  summarize,
  formatSummary,
  meanAndSpread,
  stripConventions,
  type MetricSummary,
  type Summary,
  type SummarizeOptions,
  type MeanAndSpread,
} from './summary.js';
export { TOOLBOX_REFERENCE } from './common.js';
export { formatMetricTable, type MetricTableRow } from './metric-table.js';
export {
  HYPERSPECTRAL_METRICS,
  hyperspectralMetricsBatch,
  meanMetrics,
  type HyperspectralMetricName,
  type HyperspectralMetrics,
} from './hyperspectral-indices.js';

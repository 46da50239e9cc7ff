// Classical pansharpening baselines, reproducing the MATLAB toolbox of Vivone et al. (DLPan-Toolbox,
// 02-Test-toolbox-for-traditional-and-DL(Matlab)): EXP, Brovey, BT-H (BroveyRegHazeMin.m), GSA
// (GSA.m) and MTF-GLP-HPM (MTF_GLP_HPM.m).
//
// Inputs are [N, C, H, W] (lms: MS upsampled to the PAN grid, e.g. interp23tap; ms: the MS at its own
// resolution) and [N, 1, H, W] PAN, in DN. Every statistic (means, stds, regressions) is global per
// image, as in the toolbox. Results are float64 [N, C, H, W] on the inputs' device.
#pragma once
#include <cstdint>
#include <string>

namespace specfuse::ops {

// EXP: interp23tap(ms, ratio).
torch::Tensor exp_baseline(const torch::Tensor& ms, int64_t ratio);
// Brovey with the toolbox's PAN equalisation: I = mean_b(lms); P = (pan - mean(pan)) * std(I) / std(pan)
// + mean(I); out_b = lms_b * P / (I + eps).
torch::Tensor brovey(const torch::Tensor& lms, const torch::Tensor& pan);
// BT-H (BroveyRegHazeMin.m): haze offsets (4 bands: 0.95/0.45/0.40/0.05 x the 1st percentile of each
// band; otherwise each band's minimum), intensity weights by least squares of LPfilterGauss(pan) on
// the lms bands, PAN equalised to that intensity, then Brovey on the haze-corrected bands.
torch::Tensor bt_h(const torch::Tensor& lms, const torch::Tensor& pan, int64_t ratio);
// GSA (GSA.m): intensity weights (with a constant) by least squares of LPfilterPlusDec(pan - mean)
// on the mean-removed LR ms bands, Gram-Schmidt injection gains cov(I0, lms_b) / var(I0), final mean
// equalisation to lms.
torch::Tensor gsa(const torch::Tensor& lms, const torch::Tensor& pan, const torch::Tensor& ms, int64_t ratio);
// MTF-GLP-HPM (MTF_GLP_HPM.m): per band, PAN equalised to lms_b (std ratio against
// LPfilterGauss(pan)), its low-pass = interp23tap(decimate(MTF_b(P_b))), out = lms_b * P_b / (P_LP_b + eps).
torch::Tensor mtf_glp_hpm(const torch::Tensor& lms, const torch::Tensor& pan, const std::string& sensor, int64_t ratio);

// MATLAB's prctile(x(:), p) (default method: sorted samples at (i - 0.5) / n, linear in between,
// clamped at the ends). x is any shape; p in [0, 100].
double matlab_prctile(const torch::Tensor& x, double p);

}  // namespace specfuse::ops

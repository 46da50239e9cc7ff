#include "ops/baselines.h"

#include <cmath>
#include <limits>
#include <vector>

#include "core/errors.h"
#include "ops/resample.h"

namespace specfuse::ops {
namespace {

std::string hw(const torch::Tensor& x) { return std::to_string(x.size(2)) + "x" + std::to_string(x.size(3)); }

// lms [N, C, H, W] and pan [N, 1, H, W] on one device; both returned as float64.
std::pair<torch::Tensor, torch::Tensor> checked_pair(const torch::Tensor& lms_in, const torch::Tensor& pan_in,
                                                     const char* lms_name = "lms") {
  auto lms = image_f64(lms_in, lms_name);
  auto pan = image_f64(pan_in, "pan");
  if (pan.size(1) != 1) throw range_error("pan: expected 1 channel, got " + std::to_string(pan.size(1)));
  if (lms.device() != pan.device())
    throw type_error("pan: on " + pan.device().str() + " but " + lms_name + " is on " + lms.device().str());
  if (pan.size(0) != lms.size(0))
    throw range_error("pan: batch of " + std::to_string(pan.size(0)) + " but " + lms_name + " has " +
                      std::to_string(lms.size(0)));
  if (pan.size(2) != lms.size(2) || pan.size(3) != lms.size(3))
    throw range_error(std::string(lms_name) + ": " + hw(lms) + " does not match the pan's " + hw(pan) +
                      " (upsample the MS to the PAN grid first)");
  return {lms, pan};
}

// Least squares x = A \ b (MATLAB's backslash for a tall A): A [M, K], b [M] -> [K].
torch::Tensor lstsq(const torch::Tensor& A, const torch::Tensor& b) {
  return std::get<0>(torch::linalg_lstsq(A, b.reshape({-1, 1}))).reshape({-1});
}

}  // namespace

double matlab_prctile(const torch::Tensor& x_in, double p) {
  auto x = x_in.reshape({-1}).to(torch::kFloat64);
  const int64_t n = x.numel();
  if (n == 0) throw range_error("prctile: empty input");
  if (!(p >= 0 && p <= 100)) throw range_error("prctile: p must be in [0, 100]");
  const double pos = double(n) * p / 100.0 + 0.5;  // 1-based position among the sorted samples
  auto kth = [&](int64_t k) { return std::get<0>(torch::kthvalue(x, k)).item<double>(); };
  if (pos <= 1) return kth(1);
  if (pos >= double(n)) return kth(n);
  const int64_t lo = int64_t(std::floor(pos));
  const double f = pos - double(lo);
  const double a = kth(lo);
  if (f == 0) return a;
  const double b = kth(lo + 1);
  return a + f * (b - a);
}

torch::Tensor exp_baseline(const torch::Tensor& ms, int64_t ratio) { return interp23tap(image_f64(ms, "ms"), ratio); }

torch::Tensor brovey(const torch::Tensor& lms_in, const torch::Tensor& pan_in) {
  auto [lms, pan] = checked_pair(lms_in, pan_in);
  std::vector<torch::Tensor> out;
  for (int64_t n = 0; n < lms.size(0); ++n) {
    auto ms = lms[n];
    auto P = pan[n][0];
    auto I = ms.mean(0);
    auto Pe = (P - P.mean()) * (I.std() / P.std()) + I.mean();
    out.push_back(ms * (Pe / (I + kMatlabEps)));
  }
  return torch::stack(out);
}

torch::Tensor bt_h(const torch::Tensor& lms_in, const torch::Tensor& pan_in, int64_t ratio) {
  check_ratio(ratio);
  auto [lms, pan] = checked_pair(lms_in, pan_in);
  const int64_t C = lms.size(1);
  const auto kernel = lp_gauss_kernel(ratio);
  std::vector<torch::Tensor> out;
  for (int64_t n = 0; n < lms.size(0); ++n) {
    auto ms = lms[n];
    auto P = pan[n][0];
    // Haze offsets.
    std::vector<double> haze(static_cast<size_t>(C));
    if (C == 4) {
      const double factor[4] = {0.95, 0.45, 0.40, 0.05};  // B, G, R, NIR
      for (int64_t b = 0; b < 4; ++b) haze[size_t(b)] = factor[b] * matlab_prctile(ms[b], 1.0);
    } else {
      for (int64_t b = 0; b < C; ++b) haze[size_t(b)] = ms[b].min().item<double>();
    }
    auto L = torch::tensor(haze, torch::TensorOptions().dtype(torch::kFloat64)).to(ms.device()).view({C, 1, 1});
    // Intensity from a regression of the low-passed PAN on the (uncorrected) bands, no constant.
    auto P_lp = filter2_replicate(pan.narrow(0, n, 1), kernel)[0][0];
    auto w = lstsq(ms.reshape({C, -1}).t(), P_lp.reshape({-1}));
    auto I = ((ms - L) * w.view({C, 1, 1})).sum(0);
    auto Pe = (P - P_lp.mean()) * (I.std() / P_lp.std()) + I.mean();
    auto ms_l = (ms - L).clamp_min(0);
    out.push_back(ms_l * (Pe / (I + kMatlabEps)) + L);
  }
  return torch::stack(out);
}

torch::Tensor gsa(const torch::Tensor& lms_in, const torch::Tensor& pan_in, const torch::Tensor& ms_in, int64_t ratio) {
  check_ratio(ratio);
  auto [lms, pan] = checked_pair(lms_in, pan_in);
  auto ms = image_f64(ms_in, "ms");
  const int64_t C = lms.size(1), H = lms.size(2), W = lms.size(3);
  if (ms.device() != lms.device())
    throw type_error("ms: on " + ms.device().str() + " but lms is on " + lms.device().str());
  if (ms.size(0) != lms.size(0) || ms.size(1) != C)
    throw range_error("ms: expected " + std::to_string(lms.size(0)) + " images of " + std::to_string(C) +
                      " bands like lms, got shape [" + std::to_string(ms.size(0)) + ", " + std::to_string(ms.size(1)) +
                      ", ...]");
  if (H % ratio || W % ratio || ms.size(2) * ratio != H || ms.size(3) * ratio != W)
    throw range_error("ms: " + hw(ms) + " is not the pan's " + std::to_string(H) + "x" + std::to_string(W) +
                      " divided by the ratio " + std::to_string(ratio));
  std::vector<torch::Tensor> out;
  for (int64_t n = 0; n < lms.size(0); ++n) {
    auto up = lms[n];
    auto lr = ms[n];
    auto P = pan[n][0];
    auto up0 = up - up.mean({1, 2}, true);
    auto lr0 = lr - lr.mean({1, 2}, true);
    // Intensity weights (with a constant): LPfilterPlusDec(PAN - mean) regressed on the LR bands.
    auto P0 = P - P.mean();
    auto P0_lr = lp_plus_dec(P0.view({1, 1, H, W}), ratio).reshape({-1});
    const int64_t m = lr0.size(1) * lr0.size(2);
    auto A = torch::cat({lr0.reshape({C, m}).t(), torch::ones({m, 1}, lr0.options())}, 1);
    auto alpha = lstsq(A, P0_lr);
    auto I = (up0 * alpha.narrow(0, 0, C).view({C, 1, 1})).sum(0) + alpha[C];
    auto I0 = I - I.mean();
    // Injection gains g_b = cov(I0, up0_b) / var(I0) (both with n - 1).
    auto I0c = (I0 - I0.mean()).reshape({-1});
    auto bands = up0.reshape({C, -1});
    auto bandsc = bands - bands.mean(1, true);
    auto g = torch::mv(bandsc, I0c) / (I0c * I0c).sum();
    auto delta = P0 - I0;
    auto fused = up0 + delta.unsqueeze(0) * g.view({C, 1, 1});
    out.push_back(fused - fused.mean({1, 2}, true) + up.mean({1, 2}, true));
  }
  return torch::stack(out);
}

torch::Tensor mtf_glp_hpm(const torch::Tensor& lms_in, const torch::Tensor& pan_in, const std::string& sensor,
                          int64_t ratio) {
  check_power_of_two(ratio);
  auto [lms, pan] = checked_pair(lms_in, pan_in);
  const int64_t C = lms.size(1), H = lms.size(2), W = lms.size(3);
  if (H % ratio || W % ratio)
    throw range_error("pan: " + hw(pan) + " must be divisible by the ratio " + std::to_string(ratio));
  const auto kernels = mtf_kernels(sensor, C, ratio);  // also checks the band count
  const auto gauss = lp_gauss_kernel(ratio);
  std::vector<torch::Tensor> out;
  for (int64_t n = 0; n < lms.size(0); ++n) {
    auto ms = lms[n];
    auto P = pan[n][0];
    auto P_lp = filter2_replicate(pan.narrow(0, n, 1), gauss);
    auto std_ms = ms.reshape({C, -1}).std(1).view({C, 1, 1});
    auto mean_ms = ms.mean({1, 2}, true);
    auto Pe = (P - P.mean()).unsqueeze(0) * (std_ms / P_lp.std()) + mean_ms;  // [C, H, W]
    auto low = interp23tap(decimate_nearest(filter2_replicate(Pe.unsqueeze(0), kernels), ratio), ratio)[0];
    out.push_back(ms * (Pe / (low + kMatlabEps)));
  }
  return torch::stack(out);
}

}  // namespace specfuse::ops

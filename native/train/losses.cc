#include "train/losses.h"

#include <cmath>
#include <sstream>

#include "core/errors.h"

namespace specfuse {
namespace {

namespace F = torch::nn::functional;

torch::Tensor gaussian_window(int64_t size, double sigma, int64_t channels, const torch::Tensor& like) {
  auto x = torch::arange(size, like.options()) - double(size / 2);
  auto g = torch::exp(-(x * x) / (2 * sigma * sigma));
  g = g / g.sum();
  return torch::outer(g, g).expand({channels, 1, size, size}).contiguous();
}

torch::Tensor depthwise(const torch::Tensor& x, const torch::Tensor& w) {
  return F::conv2d(x, w, F::Conv2dFuncOptions().padding(w.size(-1) / 2).groups(x.size(1)));
}

torch::Tensor area_down(const torch::Tensor& x, int64_t h, int64_t w) {
  return F::interpolate(x, F::InterpolateFuncOptions().size(std::vector<int64_t>{h, w}).mode(torch::kArea));
}

}  // namespace

torch::Tensor q_index_global(const torch::Tensor& x, const torch::Tensor& y) {
  auto xf = x.flatten(2), yf = y.flatten(2);
  auto mx = xf.mean(2), my = yf.mean(2);
  auto vx = xf.var(2, /*unbiased=*/false), vy = yf.var(2, false);
  auto cxy = ((xf - mx.unsqueeze(2)) * (yf - my.unsqueeze(2))).mean(2);
  return 4 * cxy * mx * my / ((vx + vy) * (mx * mx + my * my) + 1e-12);
}

QnrTerms qnr_global(const torch::Tensor& fused, const torch::Tensor& ms, const torch::Tensor& pan) {
  const int64_t c = fused.size(1);
  auto pairs = [](const torch::Tensor& img) {  // Q of every band pair (i, j), i < j: (B, C(C-1)/2)
    std::vector<torch::Tensor> qs;
    for (int64_t i = 0; i < img.size(1); ++i)
      for (int64_t j = i + 1; j < img.size(1); ++j)
        qs.push_back(q_index_global(img.narrow(1, i, 1), img.narrow(1, j, 1)));
    return torch::cat(qs, 1);
  };
  torch::Tensor d_lambda = c > 1 ? (pairs(fused) - pairs(ms)).abs().mean() : torch::zeros({}, fused.options());
  auto pan_lr = area_down(pan, ms.size(2), ms.size(3));
  auto d_s = (q_index_global(fused, pan.expand_as(fused)) - q_index_global(ms, pan_lr.expand_as(ms))).abs().mean();
  return {d_lambda, d_s, (1 - d_lambda) * (1 - d_s)};
}

torch::Tensor ssim5(const torch::Tensor& x, const torch::Tensor& y) {
  const double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;
  auto w = gaussian_window(5, 1.5, x.size(1), x);
  auto mx = depthwise(x, w), my = depthwise(y, w);
  auto sxx = depthwise(x * x, w) - mx * mx, syy = depthwise(y * y, w) - my * my, sxy = depthwise(x * y, w) - mx * my;
  return (((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))).mean();
}

torch::Tensor no_reference_loss(const torch::Tensor& fused, const NamedTensors& inputs) {
  const auto& pan = input(inputs, "pan");
  const auto& ms = input(inputs, "ms");
  const auto& lms = input(inputs, "lms");
  std::ostringstream err;
  if (fused.dim() != 4 || ms.dim() != 4 || pan.dim() != 4 || lms.dim() != 4)
    err << "loss 'qnr': fused, ms, pan and lms must be 4-D";
  else if (ms.size(1) != fused.size(1) || lms.sizes() != fused.sizes())
    err << "loss 'qnr': ms " << ms.sizes() << " and lms " << lms.sizes() << " must have the bands of the output "
        << fused.sizes();
  else if (pan.size(1) != 1 || pan.size(2) != fused.size(2) || pan.size(3) != fused.size(3))
    err << "loss 'qnr': pan " << pan.sizes() << " must be (B, 1) at the output's size " << fused.sizes();
  else if (ms.size(2) >= fused.size(2) || fused.size(2) % ms.size(2) != 0 || fused.size(3) % ms.size(3) != 0)
    err << "loss 'qnr': the output " << fused.sizes() << " must be an integer multiple of ms " << ms.sizes();
  if (!err.str().empty()) throw range_error(err.str());
  const auto f = fused.to(torch::kFloat32);
  const auto m = ms.to(f.device(), torch::kFloat32), p = pan.to(f.device(), torch::kFloat32),
             l = lms.to(f.device(), torch::kFloat32);
  auto q = qnr_global(f, m, p);
  auto g = gaussian_window(5, 2.0, f.size(1), f);
  auto blurred = depthwise(f, g);
  auto down = area_down(blurred, m.size(2), m.size(3));
  auto spectral_lr = torch::l1_loss(down, m) + (1 - ssim5(down, m));
  auto spectral_hr = torch::l1_loss(blurred, l) + (1 - ssim5(blurred, l));
  return (1 - q.qnr) + 1e-4 * spectral_lr + 1e-5 * spectral_hr;
}

}  // namespace specfuse

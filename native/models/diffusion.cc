#include "models/diffusion.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "core/errors.h"

namespace specfuse {

CosineSchedule::CosineSchedule(int64_t steps, double offset) : steps_(steps) {
  if (steps < 2 || steps > 100000)
    throw range_error("diffusion: steps must be in [2, 100000], got " + std::to_string(steps));
  const double half_pi = std::acos(0.0);
  auto f = [&](double s) {
    const double c = std::cos((s + offset) / (1.0 + offset) * half_pi);
    return c * c;
  };
  beta_.assign(steps + 1, 0.0);
  alpha_bar_.assign(steps + 1, 1.0);
  for (int64_t i = 1; i <= steps; ++i) {
    beta_[i] = std::min(1.0 - f(double(i) / steps) / f(double(i - 1) / steps), 0.999);
    alpha_bar_[i] = alpha_bar_[i - 1] * (1.0 - beta_[i]);
  }
}

double CosineSchedule::alpha_bar(int64_t t) const {
  if (t < 0 || t > steps_)
    throw range_error("diffusion: step " + std::to_string(t) + " outside [0, " + std::to_string(steps_) + "]");
  return alpha_bar_[t];
}

double CosineSchedule::beta(int64_t t) const {
  if (t < 0 || t > steps_)
    throw range_error("diffusion: step " + std::to_string(t) + " outside [0, " + std::to_string(steps_) + "]");
  return beta_[t];
}

std::pair<torch::Tensor, torch::Tensor> CosineSchedule::coefficients(const torch::Tensor& t,
                                                                     const torch::Tensor& like) const {
  auto table = torch::tensor(alpha_bar_, torch::kFloat64).to(like.device());
  auto ab = table.index_select(0, t.to(like.device(), torch::kLong).reshape({-1}));
  auto shape = std::vector<int64_t>(like.dim(), 1);
  shape[0] = -1;
  return {ab.sqrt().to(like.scalar_type()).reshape(shape), (1.0 - ab).sqrt().to(like.scalar_type()).reshape(shape)};
}

torch::Tensor CosineSchedule::q_sample(const torch::Tensor& x0, const torch::Tensor& t,
                                       const torch::Tensor& noise) const {
  auto [a, s] = coefficients(t, x0);
  return a * x0 + s * noise;
}

namespace {

torch::Tensor guided_eps(const Denoiser& denoise, const torch::Tensor& x, int64_t t, const torch::Tensor& cond,
                         double w) {
  const int64_t b = x.size(0);
  if (w == 0.0) return denoise(x, torch::full({b}, t, x.options().dtype(torch::kLong)), cond);
  // conditional and unconditional passes in one batch
  auto eps = denoise(torch::cat({x, x}), torch::full({2 * b}, t, x.options().dtype(torch::kLong)),
                     torch::cat({cond, torch::zeros_like(cond)}));
  auto parts = eps.chunk(2, 0);
  return (w + 1.0) * parts[0] - w * parts[1];
}

}  // namespace

torch::Tensor sample(const CosineSchedule& sch, const Denoiser& denoise, const torch::Tensor& cond,
                     c10::IntArrayRef shape, const SamplerOptions& o) {
  if (o.sampler != "ddpm" && o.sampler != "ddim")
    throw range_error("sampler: expected 'ddpm' or 'ddim', got '" + o.sampler + "'");
  if (o.sampler == "ddim" && (o.steps < 1 || o.steps > sch.steps()))
    throw range_error("steps: DDIM steps must be in [1, " + std::to_string(sch.steps()) + "], got " +
                      std::to_string(o.steps));
  if (!std::isfinite(o.guidance) || o.guidance < 0) throw range_error("guidance: must be a finite number >= 0");
  // Noise from a seeded CPU generator, moved to the device: the same seed gives the same samples on
  // every device.
  auto gen = at::detail::createCPUGenerator(o.seed);
  auto randn = [&](c10::IntArrayRef s) {
    return at::randn(s, gen, torch::TensorOptions().dtype(torch::kFloat32)).to(cond.device(), cond.scalar_type());
  };
  torch::NoGradGuard no_grad;
  auto x = randn(shape);
  const int64_t T = sch.steps();
  if (o.sampler == "ddpm") {
    for (int64_t t = T; t >= 1; --t) {
      const double ab = sch.alpha_bar(t), ab_prev = sch.alpha_bar(t - 1), beta = sch.beta(t);
      auto eps = guided_eps(denoise, x, t, cond, o.guidance);
      auto x0 = ((x - std::sqrt(1.0 - ab) * eps) / std::sqrt(ab)).clamp(-1.0, 1.0);
      const double c0 = beta * std::sqrt(ab_prev) / (1.0 - ab);
      const double ct = (1.0 - ab_prev) * std::sqrt(1.0 - beta) / (1.0 - ab);
      x = c0 * x0 + ct * x;
      if (t > 1) {
        const double log_var = std::log(std::max(beta * (1.0 - ab_prev) / (1.0 - ab), 1e-20));
        x = x + std::exp(0.5 * log_var) * randn(shape);
      }
    }
    return x.clamp(-1.0, 1.0);
  }
  // DDIM (η = 0) on `steps` evenly spaced steps from T down to 1, then to 0.
  std::vector<int64_t> ts;
  for (int64_t i = 0; i < o.steps; ++i) {
    const int64_t t = o.steps == 1 ? T : int64_t(std::llround(T - double(i) * (T - 1) / double(o.steps - 1)));
    if (ts.empty() || t != ts.back()) ts.push_back(t);
  }
  torch::Tensor x0;
  for (size_t i = 0; i < ts.size(); ++i) {
    const int64_t t = ts[i], t_prev = i + 1 < ts.size() ? ts[i + 1] : 0;
    const double ab = sch.alpha_bar(t), ab_prev = sch.alpha_bar(t_prev);
    auto eps = guided_eps(denoise, x, t, cond, o.guidance);
    x0 = ((x - std::sqrt(1.0 - ab) * eps) / std::sqrt(ab)).clamp(-1.0, 1.0);
    eps = (x - std::sqrt(ab) * x0) / std::sqrt(1.0 - ab);  // the noise consistent with the clipped x̂_0
    x = std::sqrt(ab_prev) * x0 + std::sqrt(1.0 - ab_prev) * eps;
  }
  return x0;
}

}  // namespace specfuse

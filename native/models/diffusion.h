// The diffusion process CrossDiff trains and samples with: the cosine noise schedule (Nichol &
// Dhariwal) over T integer steps, forward noising q(x_t | x_0), and two samplers over an ε-predicting
// denoiser: DDPM ancestral sampling (all T steps, as the reference validates) and DDIM (η = 0) over a
// few steps, the fast sampler for stage-1 validation.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace specfuse {

class CosineSchedule {
 public:
  explicit CosineSchedule(int64_t steps = 1000, double offset = 0.008);

  int64_t steps() const { return steps_; }
  // ᾱ_t for t = 0..T (ᾱ_0 = 1), and β_t for t = 1..T (beta(0) is 0).
  double alpha_bar(int64_t t) const;
  double beta(int64_t t) const;
  // x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε with one step per sample: t (B) int64 on any device.
  torch::Tensor q_sample(const torch::Tensor& x0, const torch::Tensor& t, const torch::Tensor& noise) const;
  // √ᾱ_t and √(1 − ᾱ_t) per sample, shaped (B, 1, 1, 1) like x.
  std::pair<torch::Tensor, torch::Tensor> coefficients(const torch::Tensor& t, const torch::Tensor& like) const;

 private:
  int64_t steps_;
  std::vector<double> alpha_bar_;  // T + 1 values
  std::vector<double> beta_;       // T + 1 values, beta_[0] = 0
};

// ε̂(x_t, t, cond): t is a (B) int64 tensor on x_t's device.
using Denoiser =
    std::function<torch::Tensor(const torch::Tensor& x_t, const torch::Tensor& t, const torch::Tensor& cond)>;

struct SamplerOptions {
  std::string sampler = "ddim";  // ddpm | ddim
  int64_t steps = 50;            // DDIM steps (DDPM always runs all T)
  double guidance = 1.0;         // w of ε = (w + 1)·ε(x, t, c) − w·ε(x, t, 0); 0 disables the unconditional pass
  uint64_t seed = 0;
};

// Draws x_0 in [-1, 1] of shape `shape` conditioned on `cond`; x̂_0 is clipped to [-1, 1] at every step.
torch::Tensor sample(const CosineSchedule& schedule, const Denoiser& denoise, const torch::Tensor& cond,
                     c10::IntArrayRef shape, const SamplerOptions& opts);

}  // namespace specfuse

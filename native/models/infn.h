// INFN, the Implicit Neural Feature Fusion Network of "INF: Implicit Neural Feature Fusion Function
// for Multispectral and Hyperspectral Image Fusion" (Deng et al., arXiv 2307.07288 / IEEE TCI 2024).
// No official code exists: this is the reconstruction of ../shared/reference/inf.md §3, every
// guessed part a config switch with the recommended default.
//
// Inputs (all B x C x H x W, float, on the module's device):
//   lrhsi  (B, S, h, w)      the LR hyperspectral image Y
//   msi    (B, s, r h, r w)  the HR multispectral image Z
//   hsi_up (B, S, r h, r w)  Y upsampled (the caller's bicubic; the residual base and E_spa input).
//   It is an input rather than computed here so that the base the model adds and the "bicubic"
//   baseline it is scored against are the very same tensor (the group's h5 files ship it as HSI_up).
//
// Forward:
//   G = E_spa(cat[Z, Y_up])  (or E_spa(Z))            B x feats x H x W
//   F = E_spe(Y),  F_hp = HP(F)                        B x feats x h x w, HP a fixed depth-wise 3x3
//   for every HR query x_q and its 4 nearest LR cells x_i (LIIF/JIIF convention, inf.md §2.1):
//     z_i = imnet([F(x_i), G(x_q), F_hp(x_i), (G(x_q) - G_lr(x_i)), delta_i])   -> S values
//     c_i = <G(x_q), F(x_i)> / (|G(x_q)| |F(x_i)| + 1e-8)
//     w_i = softmax_i(c_i / tau)   (or max(c_i, 0) / sum_j max(c_j, 0))          INR-CS
//   out(x_q) = Y_up(x_q) + sum_i w_i z_i
#pragma once
#include <string>
#include <vector>

#include "models/model.h"
#include "nn/edsr_baseline.h"

namespace specfuse {

struct InfnOptions {
  int64_t bands = 31;     // S
  int64_t msi_bands = 3;  // s
  int64_t ratio = 4;      // r: H = r h, W = r w
  int64_t feats = 128;    // encoder width (both encoders: cosine similarity needs equal widths)
  int64_t blocks = 4;     // res-blocks per EDSR-baseline encoder
  std::vector<int64_t> mlp_hidden{256, 128};
  bool spatial_cat = true;      // E_spa input cat[Z, Y_up] (FeINFN) vs Z only (Q4)
  bool hf_msi = false;          // JIIF-style third high-frequency term G(x_q) - G_lr(x_i) (Q1)
  bool softmax_weights = true;  // INR-CS: softmax of cosines vs normalised non-negative cosines (Q2)
  double temperature = 1.0;     // tau of the softmax
  bool clamp_border = false;    // neighbours outside the LR image: zeros (JIIF, grid_sample) vs clamped (LIIF) (Q8)
  bool zero_head = true;        // the last Linear starts at zero: the untrained model outputs exactly Y_up
  int64_t chunk = 30720;        // queries per MLP pass (JIIF's eval chunk); bounds the 4 x chunk x D buffer

  int64_t spa_in() const { return msi_bands + (spatial_cat ? bands : 0); }
  int64_t mlp_in() const { return 3 * feats + 2 + (hf_msi ? feats : 0); }
};

// Reads and validates the camelCase config keys (RangeError / TypeError naming the key).
InfnOptions infn_options(const Config& c);

class InfnImpl : public FusionModel {
 public:
  static constexpr int kStages = 1;
  explicit InfnImpl(const InfnOptions& o);

  torch::Tensor forward_named(const NamedTensors& inputs, const ForwardOptions& opts) override;
  NamedTensors forward_taps(const NamedTensors& inputs, const ForwardOptions& opts) override;
  std::vector<std::string> required_inputs(const ForwardOptions&) const override { return {"lrhsi", "msi", "hsi_up"}; }

  InfnOptions options;
  nn::EDSRBaseline spa_encoder{nullptr}, spe_encoder{nullptr};
  torch::nn::Sequential imnet{nullptr};  // Linear/ReLU alternating: imnet.0, imnet.2, ...
  torch::Tensor hp_kernel;               // buffer (feats, 1, 3, 3), fixed: not a parameter

 private:
  void check_inputs(const NamedTensors& inputs) const;
  torch::Tensor fuse(const torch::Tensor& lrhsi, const torch::Tensor& msi, const torch::Tensor& hsi_up);

  NamedTensors* taps_ = nullptr;  // set only during forward_taps
  void tap(const std::string& name, const torch::Tensor& t) {
    if (taps_) (*taps_)[name] = t.detach().clone();
  }
};

}  // namespace specfuse

// CrossDiff (Xing et al., IEEE TIP 2024): self-supervised pansharpening by cross-predictive
// diffusion. Stage 1 pre-trains two conditional DDPM UNets at full resolution without ground truth:
// P2M diffuses the upsampled MS conditioned on PAN, M2P diffuses PAN conditioned on the upsampled
// MS (ε-prediction, cosine schedule, condition dropout). Stage 2 freezes both and trains a fusion
// head on their encoder features at t = 50. Names follow the reference: p2m.*, m2p.* (the UNets'
// own keys) and head.* (model/fusion_modules/fusionnet_2.py: decoder.{0..6}, final, final2).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "models/diffusion.h"
#include "models/model.h"
#include "nn/unet.h"

namespace specfuse {

struct CrossDiffOptions {
  int64_t bands = 4;
  int64_t width = 32;       // UNet level widths width·{1,2,4,8}; the head's are twice those
  int64_t embed_dim = 256;  // UNet time embedding
  int64_t time_dim = 32;
  int64_t head_inner = 32;  // head's last hidden width
  int64_t diffusion_steps = 1000;
  int64_t feature_step = 50;             // t at which stage 2 reads the encoders
  std::string feature_noise = "random";  // random (the reference) | zero (deterministic features)
  double cond_dropout = 0.1;             // stage 1: probability, per batch, of a zeroed condition
  bool use_finest = true;  // feed the finest-scale block d3 to the output convs (the released code drops it)
  std::string residual_init = "orthogonal";  // head.final2: orthogonal (the reference) | zero (stage 2 starts from LMS)
};

CrossDiffOptions crossdiff_options(const Config& c);

// The fusion head's SE gate (Roy et al. cSE + sSE) with LeakyReLU where the textbook has sigmoid,
// as the reference does: cSE.fc1/fc2, sSE.conv.
class ChannelSpatialSEImpl : public torch::nn::Module {
 public:
  explicit ChannelSpatialSEImpl(int64_t channels);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  torch::nn::Conv2d conv{nullptr};
};
TORCH_MODULE(ChannelSpatialSE);

class CrossDiffHeadImpl : public torch::nn::Module {
 public:
  CrossDiffHeadImpl(int64_t bands, int64_t width, int64_t inner, bool use_finest, bool zero_residual);
  // A, B: the P2M and M2P encoder features (finest first). Returns the residual added to LMS, and
  // fills `taps` (d0..d3) when given.
  torch::Tensor forward(const nn::UNetFeatures& a, const nn::UNetFeatures& b, NamedTensors* taps = nullptr);

  torch::nn::ModuleList decoder{nullptr};
  torch::nn::Conv2d final{nullptr}, final2{nullptr};
  bool use_finest;
};
TORCH_MODULE(CrossDiffHead);

class CrossDiffImpl : public FusionModel {
 public:
  static constexpr int kStages = 2;  // 1: the two denoisers (self-supervised); 2 (default): the fusion head
  explicit CrossDiffImpl(const CrossDiffOptions& options);

  // Stage 2 (the default): the fused image in the inputs' [0, 1] scale, LMS + head(features).
  torch::Tensor forward_named(const NamedTensors& inputs, const ForwardOptions& opts) override;
  std::vector<std::string> required_inputs(const ForwardOptions& opts) const override;
  NamedTensors forward_taps(const NamedTensors& inputs, const ForwardOptions& opts) override;
  // Stage 1: both UNets' ε-prediction on their own noised targets (target not used).
  TrainingPair training_pair(const NamedTensors& inputs, const torch::Tensor& target,
                             const ForwardOptions& opts) override;
  bool needs_target(const ForwardOptions& opts) const override;
  // "sample": draws the P2M (MS given PAN) or M2P (PAN given MS) image, in [0, 1];
  // "schedule": ᾱ_t for t = 0..T; "denoise": one ε̂(x_t, t, cond) of either UNet, in [-1, 1].
  torch::Tensor call(const std::string& method, const NamedTensors& inputs, const Config& options) override;
  std::vector<std::string> call_inputs(const std::string& method) const override;
  std::vector<std::string> methods() const override { return {"denoise", "sample", "schedule"}; }

  CrossDiffOptions options;
  CosineSchedule schedule;
  nn::DiffusionUNet p2m{nullptr}, m2p{nullptr};
  CrossDiffHead head{nullptr};

 private:
  // [0, 1] inputs checked and mapped to the diffusion range [-1, 1].
  std::pair<torch::Tensor, torch::Tensor> diffusion_inputs(const NamedTensors& inputs) const;
  // `opts`: with a data-parallel shard, the noise is drawn for the global batch (shard_draw).
  std::pair<nn::UNetFeatures, nn::UNetFeatures> features(const torch::Tensor& ms, const torch::Tensor& pan,
                                                         const ForwardOptions& opts);
  int stage_of(const ForwardOptions& opts) const { return resolve_stage("crossdiff", kStages, opts.stage); }
};

}  // namespace specfuse

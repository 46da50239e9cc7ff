// CrossDiff's conditional denoising UNet (the reference's "easy" Multi_branch_Unet,
// model/easy_unet/{pan_ms,ms_pan}_v2.py): four levels, one conv per level, no attention and no
// residual connection, a sinusoidal time embedding added before every GroupNorm. Registered names
// are the reference's state-dict keys (embed.0, conv1, res3/down1/down2/up1.{dense1.dense,
// groupnorm1,conv20}, dense2..5.dense, groupnorm2..5, up2, up3, final1, final2).
#pragma once
#include <array>
#include <cstdint>

namespace specfuse::nn {

struct DiffusionUNetOptions {
  DiffusionUNetOptions(int64_t target_channels, int64_t cond_channels)
      : target_channels_(target_channels), cond_channels_(cond_channels) {}
  // Channels of the diffused image x_t (and of the predicted noise) and of the clean condition.
  TORCH_ARG(int64_t, target_channels);
  TORCH_ARG(int64_t, cond_channels);
  // Level widths are width·{1, 2, 4, 8}: the reference's [32, 64, 128, 256] at width 32.
  TORCH_ARG(int64_t, width) = 32;
  TORCH_ARG(int64_t, embed_dim) = 256;  // time embedding width after the Linear
  TORCH_ARG(int64_t, time_dim) = 32;    // sinusoidal embedding width (inter_dim)
};

// Orthogonal weights (gain 1) and zero biases for every Conv2d, ConvTranspose2d and Linear below
// `root`: CrossDiff's initialisation of both the UNets and the fusion head.
void orthogonal_init(torch::nn::Module& root);

// Encoder features of one pass: h1 (width, H), h2 (2·width, H/2), h3 (4·width, H/4), h4 (8·width, H/8).
using UNetFeatures = std::array<torch::Tensor, 4>;

// Linear(emb) shaped (B, C, 1, 1) to add to a feature map (the reference's Dense, whose Linear is
// registered as `dense`).
class DenseImpl : public torch::nn::Module {
 public:
  DenseImpl(int64_t in, int64_t out);
  torch::Tensor forward(const torch::Tensor& emb);
  torch::nn::Linear dense{nullptr};
};
TORCH_MODULE(Dense);

// x + Dense(emb) -> GroupNorm -> SiLU -> Conv3x3 stride 2 (down) or ConvTranspose3x3 stride 2 (up).
class UNetLevelImpl : public torch::nn::Module {
 public:
  UNetLevelImpl(int64_t in, int64_t out, int64_t embed_dim, int64_t groups, bool up);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& emb);

  Dense dense1{nullptr};
  torch::nn::GroupNorm groupnorm1{nullptr};
  torch::nn::AnyModule conv20;
};
TORCH_MODULE(UNetLevel);

class DiffusionUNetImpl : public torch::nn::Module {
 public:
  explicit DiffusionUNetImpl(const DiffusionUNetOptions& options);

  // ε̂(x_t, t, c): x_t (B, target, H, W), t (B) integer steps (any dtype), cond (B, cond, H, W);
  // H and W multiples of 8.
  torch::Tensor forward(const torch::Tensor& x_t, const torch::Tensor& t, const torch::Tensor& cond);
  // Rows 1-4 only (the stage-2 features): a quarter of the pass's cost.
  UNetFeatures encode(const torch::Tensor& x_t, const torch::Tensor& t, const torch::Tensor& cond);

  // SiLU(Linear(γ(t))): γ = [cos(t·f_k), sin(t·f_k)], f_k = exp(-ln(10000)·k/(time_dim/2)).
  torch::Tensor time_embedding(const torch::Tensor& t, const torch::TensorOptions& like);
  // Orthogonal weights (gain 1) for every conv and linear, zero biases, as the reference initialises.
  void reset_parameters();

  DiffusionUNetOptions options;
  torch::nn::Sequential embed{nullptr};
  torch::nn::Conv2d conv1{nullptr};
  UNetLevel res3{nullptr}, down1{nullptr}, down2{nullptr}, up1{nullptr};
  Dense dense2{nullptr}, dense3{nullptr}, dense4{nullptr}, dense5{nullptr};
  torch::nn::GroupNorm groupnorm2{nullptr}, groupnorm3{nullptr}, groupnorm4{nullptr}, groupnorm5{nullptr};
  torch::nn::ConvTranspose2d up2{nullptr}, up3{nullptr};
  torch::nn::Conv2d final1{nullptr}, final2{nullptr};

 private:
  void check_inputs(const torch::Tensor& x_t, const torch::Tensor& t, const torch::Tensor& cond) const;
  UNetFeatures encode_with(const torch::Tensor& x_t, const torch::Tensor& emb, const torch::Tensor& cond);
};
TORCH_MODULE(DiffusionUNet);

}  // namespace specfuse::nn

// EDSR-style convolutional blocks used by PanAdapter: the residual block, the degenerate SE layer of
// the ViT stem, the MS_encoder head and the EDSR-baseline trunk that SSPEN taps. Registered names
// follow the Python reference (test/pyref/panadapter.py): ResBlock convs are body.0 / body.2, the SE
// FCs are fc.0 / fc.2, the MS_encoder is head.{0..3}.
#pragma once
#include <cstdint>
#include <vector>

#include "nn/sequential.h"

namespace specfuse::nn {

// Conv2d with bias and 'same' padding (ksize / 2) for odd kernels.
torch::nn::Conv2d same_conv(int64_t in_channels, int64_t out_channels, int64_t kernel_size);

// A bias-free Linear that tolerates zero features (libtorch's kaiming init divides by a zero fan-in;
// PyTorch skips the init of zero-element tensors with a warning). Same names as torch::nn::Linear.
torch::nn::Linear bias_free_linear(int64_t in_features, int64_t out_features);

struct ResBlockOptions {
  ResBlockOptions(int64_t channels, int64_t kernel_size) : channels_(channels), kernel_size_(kernel_size) {}
  TORCH_ARG(int64_t, channels);
  TORCH_ARG(int64_t, kernel_size);
};

// x + Conv(ReLU(Conv(x))), res_scale 1.
class ResBlockImpl : public torch::nn::Module {
 public:
  explicit ResBlockImpl(const ResBlockOptions& options);
  torch::Tensor forward(const torch::Tensor& x);

  ResBlockOptions options;
  torch::nn::Sequential body{nullptr};
};
TORCH_MODULE(ResBlock);

struct SELayerOptions {
  SELayerOptions(int64_t channels, int64_t reduction) : channels_(channels), reduction_(reduction) {}
  TORCH_ARG(int64_t, channels);
  TORCH_ARG(int64_t, reduction);
};

// Squeeze-and-excitation with bias-free FCs: x * sigmoid(fc2(relu(fc1(avgpool(x))))). With
// channels < reduction the hidden layer has 0 units and the layer is exactly x * 0.5; it is kept as
// is (same tensors, same ops), as in the reference.
class SELayerImpl : public torch::nn::Module {
 public:
  explicit SELayerImpl(const SELayerOptions& options);
  torch::Tensor forward(const torch::Tensor& x);

  SELayerOptions options;
  torch::nn::Sequential fc{nullptr};
};
TORCH_MODULE(SELayer);

struct EDSROptions {
  EDSROptions(int64_t in_channels, int64_t feats, int64_t blocks)
      : in_channels_(in_channels), feats_(feats), blocks_(blocks) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, feats);
  TORCH_ARG(int64_t, blocks);
};

// The new EDSR head: Conv3x3(in -> f) -> ResBlock(k5) -> ResBlock(k5) -> Conv1x1(f -> f), held in a
// Sequential named `head` (so the keys read head.head.* inside the trunk).
class MSEncoderImpl : public torch::nn::Module {
 public:
  MSEncoderImpl(int64_t in_channels, int64_t feats);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Sequential head{nullptr};
};
TORCH_MODULE(MSEncoder);

struct EDSROutput {
  torch::Tensor out;                // single_layer(r_n) + x0 (unused by SSPEN)
  std::vector<torch::Tensor> taps;  // r_1 .. r_n, every ResBlock output
};

// EDSR-baseline without MeanShift and tail: head (MS_encoder), body (n ResBlocks k3), single_layer.
class EDSRTrunkImpl : public torch::nn::Module {
 public:
  explicit EDSRTrunkImpl(const EDSROptions& options);
  EDSROutput forward(const torch::Tensor& x);

  EDSROptions options;
  MSEncoder head{nullptr};
  torch::nn::ModuleList body{nullptr};
  torch::nn::Conv2d single_layer{nullptr};

 private:
  std::vector<ResBlock> blocks_;
};
TORCH_MODULE(EDSRTrunk);

}  // namespace specfuse::nn

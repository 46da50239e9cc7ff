// The EDSR-baseline feature encoder without upsampling, as LIIF/JIIF/FeINFN use it (LIIF
// models/edsr.py with no_upsampling=True and no MeanShift, which only makes sense for RGB input):
//   head = Sequential(Conv3x3(in -> feats)),
//   body = Sequential(ResBlock(k3) x blocks, Conv3x3(feats -> feats)),
//   out  = body(head(x)) + head(x).
// Registered names are LIIF's state-dict keys: head.0.*, body.<i>.body.{0,2}.*, body.<blocks>.*.
#pragma once
#include <cstdint>

#include "nn/edsr.h"

namespace specfuse::nn {

class EDSRBaselineImpl : public torch::nn::Module {
 public:
  explicit EDSRBaselineImpl(const EDSROptions& options);
  torch::Tensor forward(const torch::Tensor& x);

  EDSROptions options;
  torch::nn::Sequential head{nullptr};
  torch::nn::Sequential body{nullptr};
};
TORCH_MODULE(EDSRBaseline);

}  // namespace specfuse::nn

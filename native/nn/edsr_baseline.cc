#include "nn/edsr_baseline.h"

namespace specfuse::nn {

EDSRBaselineImpl::EDSRBaselineImpl(const EDSROptions& o) : options(o) {
  head = register_module("head", torch::nn::Sequential(same_conv(o.in_channels(), o.feats(), 3)));
  body = register_module("body", torch::nn::Sequential());
  for (int64_t i = 0; i < o.blocks(); ++i) body->push_back(ResBlock(ResBlockOptions(o.feats(), 3)));
  body->push_back(same_conv(o.feats(), o.feats(), 3));
}

torch::Tensor EDSRBaselineImpl::forward(const torch::Tensor& x) {
  auto h = head->forward(x);
  return body->forward(h) + h;
}

}  // namespace specfuse::nn

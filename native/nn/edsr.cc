#include "nn/edsr.h"

#include <mutex>

namespace specfuse::nn {

torch::nn::Conv2d same_conv(int64_t in_channels, int64_t out_channels, int64_t kernel_size) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in_channels, out_channels, kernel_size).padding(kernel_size / 2).bias(true));
}

torch::nn::Linear bias_free_linear(int64_t in_features, int64_t out_features) {
  if (in_features > 0 && out_features > 0)
    return torch::nn::Linear(torch::nn::LinearOptions(in_features, out_features).bias(false));
  // PyTorch skips the init of a zero-element weight and draws no random numbers; libtorch's kaiming
  // init would divide by the zero fan-in. Build a 1x1 layer, give its registered weight the empty
  // shape (set_data keeps the parameter object), and restore the default generator so that the
  // modules built after this one draw the same numbers as in PyTorch.
  auto gen = at::globalContext().defaultGenerator(c10::DeviceType::CPU);
  torch::Tensor state;
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    state = gen.get_state();
  }
  torch::nn::Linear lin(torch::nn::LinearOptions(1, 1).bias(false));
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state);
  }
  {
    torch::NoGradGuard no_grad;
    lin->weight.set_data(torch::empty({out_features, in_features}, lin->weight.options()));
  }
  lin->options.in_features(in_features).out_features(out_features);
  return lin;
}

// ---------------------------------------------------------------------------------------------

ResBlockImpl::ResBlockImpl(const ResBlockOptions& o) : options(o) {
  const int64_t c = o.channels(), k = o.kernel_size();
  body =
      register_module("body", sequential_in_order([&] { return same_conv(c, c, k); }, [] { return torch::nn::ReLU(); },
                                                  [&] { return same_conv(c, c, k); }));
}

torch::Tensor ResBlockImpl::forward(const torch::Tensor& x) { return x + body->forward(x); }

// ---------------------------------------------------------------------------------------------

SELayerImpl::SELayerImpl(const SELayerOptions& o) : options(o) {
  const int64_t hidden = o.channels() / o.reduction();
  const int64_t c = o.channels();
  fc = register_module(
      "fc", sequential_in_order([&] { return bias_free_linear(c, hidden); }, [] { return torch::nn::ReLU(); },
                                [&] { return bias_free_linear(hidden, c); }, [] { return torch::nn::Sigmoid(); }));
}

torch::Tensor SELayerImpl::forward(const torch::Tensor& x) {
  const int64_t b = x.size(0), c = x.size(1);
  auto y = torch::adaptive_avg_pool2d(x, {1, 1}).view({b, c});
  y = fc->forward(y).view({b, c, 1, 1});
  return x * y;
}

// ---------------------------------------------------------------------------------------------

MSEncoderImpl::MSEncoderImpl(int64_t in_channels, int64_t feats) {
  head = register_module("head", sequential_in_order([&] { return same_conv(in_channels, feats, 3); },
                                                     [&] { return ResBlock(ResBlockOptions(feats, 5)); },
                                                     [&] { return ResBlock(ResBlockOptions(feats, 5)); },
                                                     [&] { return same_conv(feats, feats, 1); }));
}

torch::Tensor MSEncoderImpl::forward(const torch::Tensor& x) { return head->forward(x); }

// ---------------------------------------------------------------------------------------------

EDSRTrunkImpl::EDSRTrunkImpl(const EDSROptions& o) : options(o) {
  head = register_module("head", MSEncoder(o.in_channels(), o.feats()));
  body = register_module("body", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.blocks(); ++i) {
    blocks_.emplace_back(ResBlockOptions(o.feats(), 3));
    body->push_back(blocks_.back());
  }
  single_layer = register_module("single_layer", same_conv(o.feats(), o.feats(), 3));
}

EDSROutput EDSRTrunkImpl::forward(const torch::Tensor& x) {
  EDSROutput out;
  auto x0 = head->forward(x);
  auto r = x0;
  out.taps.reserve(blocks_.size());
  for (auto& block : blocks_) {
    r = block->forward(r);
    out.taps.push_back(r);
  }
  out.out = single_layer->forward(r) + x0;
  return out;
}

}  // namespace specfuse::nn

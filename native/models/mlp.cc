#include "models/mlp.h"

#include "core/errors.h"

namespace specfuse {

MlpImpl::MlpImpl(const MlpOptions& o) {
  net = torch::nn::Sequential();
  int64_t width = o.in_features;
  for (int64_t i = 0; i < o.layers; ++i) {
    net->push_back(torch::nn::Linear(width, o.hidden));
    net->push_back(torch::nn::ReLU());
    width = o.hidden;
  }
  net->push_back(torch::nn::Linear(width, o.out_features));
  register_module("net", net);
}

torch::Tensor MlpImpl::forward_named(const NamedTensors& inputs, const ForwardOptions& opts) {
  resolve_stage("mlp", kStages, opts.stage);
  const auto& x = input(inputs, "x");
  return net->forward(x);
}

MlpOptions mlp_options(const Config& c) {
  MlpOptions o;
  o.in_features = c.get_int("inFeatures", o.in_features);
  o.hidden = c.get_int("hidden", o.hidden);
  o.out_features = c.get_int("outFeatures", o.out_features);
  o.layers = c.get_int("layers", o.layers);
  check_range(o.in_features, "inFeatures", 1, 1 << 16);
  check_range(o.hidden, "hidden", 1, 1 << 16);
  check_range(o.out_features, "outFeatures", 1, 1 << 16);
  check_range(o.layers, "layers", 0, 64);
  return o;
}

}  // namespace specfuse

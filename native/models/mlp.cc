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

torch::Tensor MlpImpl::forward_named(const NamedTensors& inputs, const ForwardOptions&) {
  const auto& x = input(inputs, "x");
  return net->forward(x);
}

MlpOptions mlp_options(const Config& c) {
  MlpOptions o;
  o.in_features = c.get_int("inFeatures", o.in_features);
  o.hidden = c.get_int("hidden", o.hidden);
  o.out_features = c.get_int("outFeatures", o.out_features);
  o.layers = c.get_int("layers", o.layers);
  for (auto [v, n] : {std::pair{o.in_features, "inFeatures"}, {o.hidden, "hidden"}, {o.out_features, "outFeatures"}})
    if (v < 1 || v > (1 << 16)) throw range_error(std::string("config.") + n + ": must be in [1, 65536]");
  if (o.layers < 0 || o.layers > 64) throw range_error("config.layers: must be in [0, 64]");
  return o;
}

}  // namespace specfuse

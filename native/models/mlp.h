// A plain multilayer perceptron on input 'x' (..., in_features). Small enough for tests of the
// binding itself (worker threads, async forwards, freezing) without a pansharpening model.
#pragma once
#include "models/model.h"

namespace specfuse {

struct MlpOptions {
  int64_t in_features = 8;
  int64_t hidden = 32;
  int64_t out_features = 8;
  int64_t layers = 2;  // hidden layers
};

class MlpImpl : public FusionModel {
 public:
  static constexpr int kStages = 1;
  explicit MlpImpl(const MlpOptions& o);
  torch::Tensor forward_named(const NamedTensors& inputs, const ForwardOptions& opts) override;
  std::vector<std::string> required_inputs(const ForwardOptions&) const override { return {"x"}; }

 private:
  torch::nn::Sequential net{nullptr};
};

MlpOptions mlp_options(const Config& c);

}  // namespace specfuse

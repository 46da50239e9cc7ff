// What every fusion model offers the bridge: a torch::nn::Module whose registered names are the
// reference implementation's state-dict keys, and a forward over named inputs.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"

namespace specfuse {

using NamedTensors = std::map<std::string, torch::Tensor>;

struct ForwardOptions {
  int stage = 0;  // 0: the model's default (its last stage)
};

class FusionModel : public torch::nn::Module {
 public:
  // Channels-last (NHWC) weights and 4-D inputs: cuDNN's tensor-core convolutions want this layout.
  bool channels_last = false;
  void set_channels_last(bool on);
  // The inputs in the layout the model runs in.
  NamedTensors prepare_inputs(const NamedTensors& in) const;

  virtual torch::Tensor forward_named(const NamedTensors& inputs, const ForwardOptions& opts) = 0;
  // Input names the forward needs (checked by the bridge before any work is queued).
  virtual std::vector<std::string> required_inputs(const ForwardOptions& opts) const = 0;
  // The forward's named intermediates (for per-submodule parity checks); "out" is the output.
  virtual NamedTensors forward_taps(const NamedTensors& inputs, const ForwardOptions& opts);
};

// Looks up an input, with an error naming it when missing.
const torch::Tensor& input(const NamedTensors& in, const std::string& name);

}  // namespace specfuse

// The FusionModel defaults every model inherits.
#include "models/model.h"

#include "core/errors.h"

namespace specfuse {

void FusionModel::set_channels_last(bool on) {
  torch::NoGradGuard no_grad;
  const auto format = on ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
  // PyTorch's Module.to(memory_format=...) rule: re-lay out unless the strides already suggest the
  // format. Tensor.contiguous(format) is not enough: it accepts any strides that are contiguous in
  // the format once size-1 dimensions are ignored, so a 1x1 kernel (O,I,1,1) or a depthwise one
  // (O,1,kh,kw) kept its NCHW strides, oneDNN read it as NCHW and ran those convolutions in a blocked
  // NCHW layout, reordering every activation in and out (measured: tiny PanAdapter stage-1 training
  // at batch 4 paid 18 reorders of 4x48x64x64-sized activations per step; with the heap trimming of
  // core/host_allocator.cc the step took 1.2x PyTorch's). 4-D buffers (INF's fixed high-pass kernel)
  // are convolution weights too.
  auto relayout = [&](torch::Tensor& t) {
    if (t.dim() == 4 && t.is_floating_point() && t.suggest_memory_format() != format)
      t.set_data(at::empty_like(t.data(), format).copy_(t.data()));
  };
  for (auto& p : parameters(true)) relayout(p);
  for (auto& b : buffers(true)) relayout(b);
  channels_last = on;
}

NamedTensors FusionModel::forward_taps(const NamedTensors& inputs, const ForwardOptions& opts) {
  return {{"out", forward_named(inputs, opts)}};
}

NamedTensors FusionModel::prepare_inputs(const NamedTensors& in) const {
  if (!channels_last) return in;
  NamedTensors out;
  for (const auto& [k, v] : in) out[k] = v.dim() == 4 ? v.contiguous(at::MemoryFormat::ChannelsLast) : v;
  return out;
}

int resolve_stage(const std::string& model, int stages, int stage) {
  if (stage == 0) return stages;
  if (stage >= 1 && stage <= stages) return stage;
  const std::string n = std::to_string(stages);
  const std::string which = stages == 1
                                ? "one stage (1; 0 = 1)"
                                : "stages 1" + std::string(stages == 2 ? " and " : " to ") + n + " (0 = " + n + ")";
  throw range_error("options.stage: " + model + " has " + which + ", got " + std::to_string(stage));
}

const torch::Tensor& input(const NamedTensors& in, const std::string& name) {
  auto it = in.find(name);
  if (it == in.end()) throw type_error("inputs." + name + ": missing");
  return it->second;
}

FusionModel::TrainingPair FusionModel::training_pair(const NamedTensors& inputs, const torch::Tensor& target,
                                                     const ForwardOptions& opts) {
  return {forward_named(inputs, opts), target};
}

bool FusionModel::needs_target(const ForwardOptions&) const { return true; }

torch::Tensor FusionModel::call(const std::string& method, const NamedTensors&, const Config&) {
  call_inputs(method);  // throws the error naming the methods there are
  throw range_error("call: method '" + method + "' is listed but not implemented");
}

std::vector<std::string> FusionModel::call_inputs(const std::string& method) const {
  std::string known;
  for (const auto& m : methods()) known += (known.empty() ? "" : ", ") + m;
  throw range_error("call: this model has no method '" + method + "'" +
                    (known.empty() ? " (it has none)" : " (it has: " + known + ")"));
}

}  // namespace specfuse

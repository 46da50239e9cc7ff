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
  // Data-parallel training: this batch is rows [shard_rank * b, (shard_rank + 1) * b) of a global
  // batch of shard_count * b. Random draws inside a step (diffusion noise and time steps) are then
  // made for the global batch and sliced (shard_draw), so every rank's generator stays in step with
  // the others and the run draws exactly what one process training on the global batch would.
  int64_t shard_rank = 0;
  int64_t shard_count = 1;
};

// A model trains in stages 1..stages (each model class's kStages, listed in the registry);
// ForwardOptions::stage 0 means the last one, for every model and entry point. Returns the stage;
// outside [0, stages]: RangeError "options.stage: <model> has ...".
int resolve_stage(const std::string& model, int stages, int stage);

// `draw(global_rows)` makes a tensor whose first dimension is the global batch; returns this
// shard's `rows` of it (with shard_count 1: draw(rows) itself).
template <typename Draw>
torch::Tensor shard_draw(const ForwardOptions& o, int64_t rows, Draw&& draw) {
  if (o.shard_count <= 1) return draw(rows);
  return draw(rows * o.shard_count).narrow(0, o.shard_rank * rows, rows);
}

class FusionModel : public torch::nn::Module {
 public:
  // Channels-last (NHWC) weights and 4-D inputs: oneDNN's and cuDNN's convolutions run faster in this
  // layout. The registry turns it on at construction for the models it measured faster
  // (ModelEntry::channels_last); outputs leave the bridge contiguous NCHW either way.
  bool channels_last = false;
  void set_channels_last(bool on);
  // The inputs in the layout the model runs in.
  NamedTensors prepare_inputs(const NamedTensors& in) const;

  virtual torch::Tensor forward_named(const NamedTensors& inputs, const ForwardOptions& opts) = 0;
  // Input names the forward needs (checked by the bridge before any work is queued).
  virtual std::vector<std::string> required_inputs(const ForwardOptions& opts) const = 0;
  // The forward's named intermediates (for per-submodule parity checks); "out" is the output.
  virtual NamedTensors forward_taps(const NamedTensors& inputs, const ForwardOptions& opts);

  // What one training step compares: by default the forward against the supervised target.
  // Self-supervised stages (diffusion pre-training) build their own prediction/target pair from the
  // inputs and say so through needs_target, so the training step serves them without special cases.
  struct TrainingPair {
    torch::Tensor prediction, target;
  };
  virtual TrainingPair training_pair(const NamedTensors& inputs, const torch::Tensor& target,
                                     const ForwardOptions& opts);
  virtual bool needs_target(const ForwardOptions& opts) const;

  // Model-specific operations beyond the forward (a diffusion model's sampler, say), by name, with a
  // flat option set; the inputs they read are listed by call_inputs (unknown method: RangeError).
  virtual torch::Tensor call(const std::string& method, const NamedTensors& inputs, const Config& options);
  virtual std::vector<std::string> call_inputs(const std::string& method) const;
  virtual std::vector<std::string> methods() const { return {}; }
};

// Looks up an input, with an error naming it when missing.
const torch::Tensor& input(const NamedTensors& in, const std::string& name);

}  // namespace specfuse

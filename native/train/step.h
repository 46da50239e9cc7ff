// One training step inside C++: forward, loss, backward, optional gradient clipping, optimizer
// step, with NaN/Inf detection and optional autocast. TypeScript owns the loop around it.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/model.h"

namespace specfuse {
namespace dist {
class Group;
}

struct TrainStepOptions {
  std::string loss = "mse";        // mse | l1 | qnr (no-reference, full resolution: train/losses.h)
  std::string optimizer = "adam";  // adam | adamw | sgd
  double lr = 1e-4;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double weight_decay = 0.0;
  double momentum = 0.9;             // sgd
  double clip_grad_norm = 0.0;       // 0: off
  std::string autocast = "none";     // none | bf16
  std::string nan_policy = "error";  // error | skip
  int stage = 0;
};

struct StepResult {
  double loss = 0;
  double grad_norm = -1;  // -1: not computed
  bool skipped = false;   // non-finite loss or gradients under nan_policy = skip
  // Data parallel: `loss` is the mean over the ranks (the global batch's loss); this rank's own:
  double local_loss = 0;
};

class TrainStep {
 public:
  // The optimizer covers the parameters that require grad now; freezing later does not change it.
  TrainStep(std::shared_ptr<FusionModel> model, const TrainStepOptions& opts);

  // `target` may be undefined when needs_target() is false (self-supervised stages, the qnr loss).
  StepResult step(const NamedTensors& inputs, const torch::Tensor& target);
  // Forward without gradients; returns the loss and keeps the output in `output`.
  double evaluate(const NamedTensors& inputs, const torch::Tensor& target, torch::Tensor* output);

  // The batch inputs the model's stage and the loss read, and whether a target is needed.
  std::vector<std::string> required_inputs() const;
  bool needs_target() const;

  // Sets every group's learning rate (one group unless set_param_groups split them).
  void set_lr(double lr);
  double lr() const { return opts_.lr; }
  // Parameter groups (torch.optim's param_groups): group_of[i] is the group of trainable tensor i
  // (in param_names() order), each group with its own lr and weight decay. Only before the first
  // step: the state of a stepped optimizer stays tied to the groups it was stepped with.
  void set_param_groups(const std::vector<int64_t>& group_of, const std::vector<double>& lrs,
                        const std::vector<double>& weight_decays);
  // One learning rate per group (schedules apply per group).
  void set_group_lrs(const std::vector<double>& lrs);
  const std::vector<double>& group_lrs() const { return group_lr_; }
  const std::vector<std::string>& param_names() const { return names_; }
  int64_t steps() const { return steps_; }
  int64_t skipped() const { return skipped_; }
  int64_t trainable_tensors() const { return int64_t(params_.size()); }

  // Data-parallel training over `group` (null: single process). Broadcasts every parameter (frozen
  // ones too) and buffer from rank 0, so all ranks start equal; from then on each step agrees on the
  // loss's finiteness across ranks and averages the trainable tensors' gradients (in buckets) after
  // backward and before clipping, so that clipping and the NaN policy see the global gradient.
  void set_group(std::shared_ptr<dist::Group> group);

  // Optimizer state by parameter name ("<param>.exp_avg", "<param>.step", ...), for checkpoints.
  std::vector<std::pair<std::string, torch::Tensor>> optimizer_state() const;
  void load_optimizer_state(const std::vector<std::pair<std::string, torch::Tensor>>& state);
  void set_counters(int64_t steps, int64_t skipped) {
    steps_ = steps;
    skipped_ = skipped;
  }

 private:
  torch::Tensor compute_loss(const torch::Tensor& out, const torch::Tensor& target, const NamedTensors& inputs) const;
  ForwardOptions forward_options() const;

  std::shared_ptr<FusionModel> model_;
  TrainStepOptions opts_;
  std::shared_ptr<dist::Group> group_;
  std::vector<std::string> names_;
  std::vector<torch::Tensor> params_;
  void fused_adam_step();

  // SGD runs on torch::optim; Adam/AdamW on libtorch's fused multi-tensor kernels (_fused_adam_,
  // one launch for all parameters instead of ~10 per parameter), with the state kept here.
  std::unique_ptr<torch::optim::Optimizer> optim_;
  std::vector<torch::Tensor> exp_avg_, exp_avg_sq_, step_t_;
  // Parameter groups: group of each trainable tensor, and each group's lr and weight decay.
  std::vector<int64_t> group_of_;
  std::vector<double> group_lr_, group_wd_;
  void build_sgd();
  int64_t steps_ = 0;
  int64_t skipped_ = 0;
};

TrainStepOptions train_step_options(const Config& c);

// RNG state of libtorch's default CPU generator (for exact resumes).
torch::Tensor cpu_rng_state();
void set_cpu_rng_state(const torch::Tensor& state);

}  // namespace specfuse

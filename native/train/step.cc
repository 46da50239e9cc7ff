#include "train/step.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/autocast_mode.h>

#include <algorithm>
#include <cmath>

#include "core/errors.h"
#include "dist/group.h"
#include "train/autocast.h"
#include "train/losses.h"

namespace specfuse {

TrainStepOptions train_step_options(const Config& c) {
  TrainStepOptions o;
  o.loss = c.get_string("loss", o.loss);
  o.optimizer = c.get_string("optimizer", o.optimizer);
  o.lr = c.get_double("lr", o.lr);
  o.beta1 = c.get_double("beta1", o.beta1);
  o.beta2 = c.get_double("beta2", o.beta2);
  o.eps = c.get_double("eps", o.eps);
  o.weight_decay = c.get_double("weightDecay", o.weight_decay);
  o.momentum = c.get_double("momentum", o.momentum);
  o.clip_grad_norm = c.get_double("clipGradNorm", o.clip_grad_norm);
  o.autocast = c.get_string("autocast", o.autocast);
  o.nan_policy = c.get_string("nanPolicy", o.nan_policy);
  o.stage = int(c.get_int("stage", o.stage));
  if (o.loss != "mse" && o.loss != "l1" && o.loss != "qnr")
    throw range_error("options.loss: expected 'mse', 'l1' or 'qnr', got '" + o.loss + "'");
  if (o.optimizer != "adam" && o.optimizer != "adamw" && o.optimizer != "sgd")
    throw range_error("options.optimizer: expected 'adam', 'adamw' or 'sgd', got '" + o.optimizer + "'");
  if (o.autocast != "none" && o.autocast != "bf16") throw range_error("options.autocast: expected 'none' or 'bf16'");
  if (o.nan_policy != "error" && o.nan_policy != "skip")
    throw range_error("options.nanPolicy: expected 'error' or 'skip'");
  if (!(o.lr > 0) || !std::isfinite(o.lr)) throw range_error("options.lr: must be a positive number");
  if (o.clip_grad_norm < 0) throw range_error("options.clipGradNorm: must be >= 0");
  c.check_all_used("options");
  return o;
}

namespace {
// Where the batch lives (autocast is per device type).
c10::DeviceType device_type(const NamedTensors& inputs, const torch::Tensor& target) {
  if (target.defined()) return target.device().type();
  return inputs.empty() ? c10::DeviceType::CPU : inputs.begin()->second.device().type();
}
}  // namespace

TrainStep::TrainStep(std::shared_ptr<FusionModel> model, const TrainStepOptions& opts)
    : model_(std::move(model)), opts_(opts) {
  for (const auto& p : model_->named_parameters(true)) {
    if (!p.value().requires_grad()) continue;
    names_.push_back(p.key());
    params_.push_back(p.value());
  }
  if (params_.empty()) throw RuntimeError("trainer: the model has no trainable parameters (everything is frozen)");
  group_of_.assign(params_.size(), 0);
  group_lr_ = {opts_.lr};
  group_wd_ = {opts_.weight_decay};
  if (opts_.optimizer == "sgd") build_sgd();
}

void TrainStep::build_sgd() {
  std::vector<torch::optim::OptimizerParamGroup> groups;
  for (size_t g = 0; g < group_lr_.size(); ++g) {
    std::vector<torch::Tensor> ps;
    for (size_t i = 0; i < params_.size(); ++i)
      if (group_of_[i] == int64_t(g)) ps.push_back(params_[i]);
    if (ps.empty()) continue;
    groups.emplace_back(
        ps, std::make_unique<torch::optim::SGDOptions>(
                torch::optim::SGDOptions(group_lr_[g]).momentum(opts_.momentum).weight_decay(group_wd_[g])));
  }
  optim_ = std::make_unique<torch::optim::SGD>(
      groups, torch::optim::SGDOptions(opts_.lr).momentum(opts_.momentum).weight_decay(opts_.weight_decay));
}

void TrainStep::set_param_groups(const std::vector<int64_t>& group_of, const std::vector<double>& lrs,
                                 const std::vector<double>& weight_decays) {
  if (steps_ > 0 || (optim_ && !optim_->state().empty()))
    throw RuntimeError("setParamGroups: the optimizer has already stepped; set the groups before the first step");
  if (group_of.size() != params_.size())
    throw range_error("setParamGroups: " + std::to_string(group_of.size()) + " group indices for " +
                      std::to_string(params_.size()) + " trainable tensors");
  if (lrs.empty() || lrs.size() != weight_decays.size())
    throw range_error("setParamGroups: expected one lr and one weight decay per group");
  for (auto g : group_of)
    if (g < 0 || g >= int64_t(lrs.size()))
      throw range_error("setParamGroups: group index " + std::to_string(g) + " out of range");
  for (size_t g = 0; g < lrs.size(); ++g) {
    if (!(lrs[g] >= 0) || !std::isfinite(lrs[g]))
      throw range_error("setParamGroups: lr of group " + std::to_string(g) + " must be a finite number >= 0");
    if (!(weight_decays[g] >= 0) || !std::isfinite(weight_decays[g]))
      throw range_error("setParamGroups: weight decay of group " + std::to_string(g) + " must be a finite number >= 0");
  }
  group_of_ = group_of;
  group_lr_ = lrs;
  group_wd_ = weight_decays;
  if (optim_) build_sgd();
}

void TrainStep::set_group_lrs(const std::vector<double>& lrs) {
  if (lrs.size() != group_lr_.size())
    throw range_error("setGroupLrs: expected " + std::to_string(group_lr_.size()) + " learning rates, got " +
                      std::to_string(lrs.size()));
  for (double lr : lrs)
    if (!(lr >= 0) || !std::isfinite(lr)) throw range_error("setGroupLrs: each lr must be a finite number >= 0");
  group_lr_ = lrs;
  opts_.lr = lrs[0];
  if (optim_) {
    // build_sgd skips empty groups: match torch's groups to ours by their first parameter
    for (auto& pg : optim_->param_groups()) {
      const auto* first = pg.params().front().unsafeGetTensorImpl();
      for (size_t i = 0; i < params_.size(); ++i)
        if (params_[i].unsafeGetTensorImpl() == first) {
          pg.options().set_lr(group_lr_[group_of_[i]]);
          break;
        }
    }
  }
}

void TrainStep::fused_adam_step() {
  torch::NoGradGuard no_grad;
  if (exp_avg_.size() != params_.size()) {
    exp_avg_.assign(params_.size(), torch::Tensor());
    exp_avg_sq_.assign(params_.size(), torch::Tensor());
    step_t_.assign(params_.size(), torch::Tensor());
  }
  // one fused launch per parameter group (each has its own lr and weight decay)
  for (size_t grp = 0; grp < group_lr_.size(); ++grp) {
    std::vector<torch::Tensor> ps, gs, ms, vs, ss;
    for (size_t i = 0; i < params_.size(); ++i) {
      if (group_of_[i] != int64_t(grp)) continue;
      const auto& g = params_[i].grad();
      if (!g.defined()) continue;  // a parameter the loss did not reach this step
      if (!exp_avg_[i].defined()) {
        exp_avg_[i] = torch::zeros_like(params_[i]);
        exp_avg_sq_[i] = torch::zeros_like(params_[i]);
        step_t_[i] = torch::zeros({}, params_[i].options().dtype(torch::kFloat32));
      }
      // The CPU kernel walks parameter, gradient and both moments as flat arrays: they must share
      // one layout. The moments do unless the model changed layout (setChannelsLast) after they
      // were made; then they follow the parameter once. Autograd lays gradients out like their
      // parameter, so the gradient's copy is a guard that costs a stride comparison.
      const auto& p = params_[i];
      if (exp_avg_[i].strides() != p.strides()) {
        exp_avg_[i] = torch::empty_like(p).copy_(exp_avg_[i]);
        exp_avg_sq_[i] = torch::empty_like(p).copy_(exp_avg_sq_[i]);
      }
      ps.push_back(p);
      gs.push_back(g.strides() == p.strides() ? g : torch::empty_like(p).copy_(g));
      ms.push_back(exp_avg_[i]);
      vs.push_back(exp_avg_sq_[i]);
      ss.push_back(step_t_[i]);
    }
    if (ps.empty()) continue;
    // The fused kernels read state_steps but do not advance them (torch.optim does this before the
    // call): without it step 1 has bias correction 1 - beta^0 = 0 and writes NaN into every weight.
    at::_foreach_add_(ss, 1);
    if (opts_.optimizer == "adamw") {
      at::_fused_adamw_(ps, gs, ms, vs, {}, ss, group_lr_[grp], opts_.beta1, opts_.beta2, group_wd_[grp], opts_.eps,
                        false, false);
    } else {
      at::_fused_adam_(ps, gs, ms, vs, {}, ss, group_lr_[grp], opts_.beta1, opts_.beta2, group_wd_[grp], opts_.eps,
                       false, false);
    }
  }
}

ForwardOptions TrainStep::forward_options() const {
  ForwardOptions fo;
  fo.stage = opts_.stage;
  if (group_) {
    fo.shard_rank = group_->rank();
    fo.shard_count = group_->size();
  }
  return fo;
}

void TrainStep::set_group(std::shared_ptr<dist::Group> group) {
  // Also after a resume (counters and optimizer state loaded): every rank joins at the same step.
  if (group) {
    std::vector<torch::Tensor> state;
    for (const auto& p : model_->named_parameters(true)) {
      // the group's collectives would refuse the first tensor; this says what to move
      if (p.value().device() != group->device())
        throw RuntimeError("trainer: the model is on " + p.value().device().str() + " but the process group (backend '" +
                           group->backend() + "') works on " + group->device().str() + ": create the model on " +
                           group->device().str() +
                           (group->backend() == "nccl" ? " (cuda:LOCAL_RANK, one process per GPU)" : ""));
      state.push_back(p.value());
    }
    for (const auto& b : model_->named_buffers(true)) state.push_back(b.value());
    group->broadcast(state, 0);
  }
  group_ = std::move(group);
}

std::vector<std::string> TrainStep::required_inputs() const {
  auto names = model_->required_inputs(forward_options());
  if (opts_.loss == "qnr")
    for (const char* k : {"pan", "ms", "lms"})
      if (std::find(names.begin(), names.end(), k) == names.end()) names.emplace_back(k);
  return names;
}

bool TrainStep::needs_target() const { return opts_.loss != "qnr" && model_->needs_target(forward_options()); }

torch::Tensor TrainStep::compute_loss(const torch::Tensor& out, const torch::Tensor& target,
                                      const NamedTensors& inputs) const {
  if (opts_.loss == "qnr") return no_reference_loss(out, inputs);
  if (!target.defined()) throw type_error("target: missing (this stage and loss train against a target)");
  if (out.sizes() != target.sizes()) {
    std::ostringstream s;
    s << "target: shape " << target.sizes() << " does not match the model output " << out.sizes();
    throw range_error(s.str());
  }
  const auto o = out.to(torch::kFloat32);
  const auto t = target.to(o.device(), torch::kFloat32);
  return opts_.loss == "l1" ? torch::l1_loss(o, t) : torch::mse_loss(o, t);
}

StepResult TrainStep::step(const NamedTensors& inputs, const torch::Tensor& target) {
  StepResult r;
  model_->train(true);
  torch::AutoGradMode grad(true);
  for (auto& p : params_) p.mutable_grad().reset();
  torch::Tensor loss;
  {
    AutocastScope ac(opts_.autocast == "bf16", device_type(inputs, target));
    const auto in = model_->prepare_inputs(inputs);
    auto pair = model_->training_pair(in, target, forward_options());
    loss = compute_loss(pair.prediction, pair.target, in);
  }
  r.loss = r.local_loss = loss.item<double>();
  bool finite_loss = std::isfinite(r.loss);
  int64_t bad_ranks = finite_loss ? 0 : 1;
  if (group_) {
    // Every rank learns whether any rank's loss is non-finite, so that all of them skip (or stop at)
    // the same step, and the global loss for logging. On the group's device: NCCL reduces CUDA
    // tensors only.
    auto agreed = torch::tensor({finite_loss ? r.loss : 0.0, finite_loss ? 0.0 : 1.0},
                                torch::TensorOptions(torch::kFloat64).device(group_->device()));
    group_->all_reduce({agreed});
    bad_ranks = int64_t(agreed[1].item<double>());
    finite_loss = bad_ranks == 0;
    r.loss = finite_loss ? agreed[0].item<double>() / group_->size() : std::nan("");
  }
  if (finite_loss) loss.backward();
  if (finite_loss && group_) {
    // The gradients the loss reached (the same tensors on every rank: same model, stage and loss),
    // averaged in buckets; frozen tensors are not in params_ and never travel.
    std::vector<torch::Tensor> grads;
    for (const auto& p : params_)
      if (p.grad().defined()) grads.push_back(p.grad());
    auto count = torch::tensor({double(grads.size())}, torch::TensorOptions(torch::kFloat64).device(group_->device()));
    group_->all_reduce({count}, dist::ReduceOp::Max);
    if (int64_t(count.item<double>()) != int64_t(grads.size()))
      throw RuntimeError("trainer: the ranks' losses reached different numbers of trainable tensors (" +
                         std::to_string(grads.size()) + " here, " + std::to_string(int64_t(count.item<double>())) +
                         " on another rank): the ranks run different models or stages");
    group_->all_reduce(grads, dist::ReduceOp::Mean);
  }
  bool finite_grads = finite_loss;
  if (finite_loss) {
    // The total gradient norm both feeds clipping and tells whether any gradient is NaN/Inf.
    if (opts_.clip_grad_norm > 0) {
      r.grad_norm = torch::nn::utils::clip_grad_norm_(params_, opts_.clip_grad_norm, 2.0, /*error_if_nonfinite=*/false);
    } else {
      std::vector<torch::Tensor> grads;
      for (const auto& p : params_)
        if (p.grad().defined()) grads.push_back(p.grad().detach());
      // one multi-tensor launch for all the norms, one sync for the total; accumulated in float32
      // (bf16/fp16/fp32 gradients) or float64 when any gradient is float64 (no downcast is allowed)
      bool any_double = false;
      for (const auto& g : grads) any_double = any_double || g.scalar_type() == torch::kFloat64;
      const auto acc = any_double ? torch::kFloat64 : torch::kFloat32;
      r.grad_norm = grads.empty() ? 0.0 : torch::stack(at::_foreach_norm(grads, 2, acc)).norm().item<double>();
    }
    finite_grads = std::isfinite(r.grad_norm);
  }
  if (!finite_grads) {
    for (auto& p : params_) p.mutable_grad().reset();
    if (opts_.nan_policy == "error") {
      const std::string where =
          group_ ? " on " + std::to_string(bad_ranks) + " of " + std::to_string(group_->size()) + " ranks" : "";
      throw RuntimeError(std::string("non-finite ") + (finite_loss ? "gradients" : "loss" + where) + " (loss " +
                         std::to_string(r.local_loss) + " here) at step " + std::to_string(steps_ + 1) +
                         ": the weights were not updated (nanPolicy 'error'; use 'skip' to skip such batches)");
    }
    r.skipped = true;
    ++skipped_;
    return r;
  }
  if (optim_) optim_->step();
  else fused_adam_step();
  ++steps_;
  return r;
}

double TrainStep::evaluate(const NamedTensors& inputs, const torch::Tensor& target, torch::Tensor* output) {
  model_->train(false);
  c10::InferenceMode guard;
  AutocastScope ac(opts_.autocast == "bf16", device_type(inputs, target));
  const auto in = model_->prepare_inputs(inputs);
  auto pair = model_->training_pair(in, target, forward_options());
  const double loss = compute_loss(pair.prediction, pair.target, in).item<double>();
  if (output) *output = pair.prediction.to(torch::kFloat32).contiguous();
  return loss;
}

void TrainStep::set_lr(double lr) {
  if (!(lr >= 0) || !std::isfinite(lr)) throw range_error("lr: must be a finite number >= 0");
  opts_.lr = lr;
  for (auto& g : group_lr_) g = lr;
  if (optim_)
    for (auto& g : optim_->param_groups()) g.options().set_lr(lr);
}

std::vector<std::pair<std::string, torch::Tensor>> TrainStep::optimizer_state() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  if (!optim_) {
    for (size_t i = 0; i < exp_avg_.size(); ++i) {
      if (!exp_avg_[i].defined()) continue;
      const auto& n = names_[i];
      out.emplace_back(n + ".step", step_t_[i].detach().to(torch::kCPU).to(torch::kInt64));
      out.emplace_back(n + ".exp_avg", exp_avg_[i].detach().contiguous().clone());
      out.emplace_back(n + ".exp_avg_sq", exp_avg_sq_[i].detach().contiguous().clone());
    }
    return out;
  }
  auto& state = optim_->state();
  for (size_t i = 0; i < params_.size(); ++i) {
    auto it = state.find(params_[i].unsafeGetTensorImpl());
    if (it == state.end()) continue;
    if (auto* s = dynamic_cast<torch::optim::SGDParamState*>(it->second.get()))
      if (s->momentum_buffer().defined())
        out.emplace_back(names_[i] + ".momentum_buffer", s->momentum_buffer().detach().clone());
  }
  return out;
}

void TrainStep::load_optimizer_state(const std::vector<std::pair<std::string, torch::Tensor>>& state) {
  std::map<std::string, torch::Tensor> by(state.begin(), state.end());
  auto get = [&](const std::string& k, const torch::Tensor& like) -> torch::Tensor {
    auto it = by.find(k);
    if (it == by.end()) throw range_error("optimizer state: missing '" + k + "'");
    if (like.defined() && it->second.sizes() != like.sizes())
      throw range_error("optimizer state: '" + k + "' has the wrong shape");
    return like.defined() ? torch::empty_like(like).copy_(it->second) : it->second;
  };
  // Validate and build everything first, then install: a bad file changes nothing.
  if (!optim_) {
    std::vector<torch::Tensor> m(params_.size()), v(params_.size()), st(params_.size());
    for (size_t i = 0; i < params_.size(); ++i) {
      const auto& n = names_[i];
      if (!by.count(n + ".step")) continue;  // never stepped
      m[i] = get(n + ".exp_avg", params_[i]);
      v[i] = get(n + ".exp_avg_sq", params_[i]);
      st[i] = get(n + ".step", torch::Tensor()).to(params_[i].device(), torch::kFloat32).reshape({});
    }
    exp_avg_ = std::move(m);
    exp_avg_sq_ = std::move(v);
    step_t_ = std::move(st);
    return;
  }
  std::vector<std::pair<size_t, std::unique_ptr<torch::optim::OptimizerParamState>>> built;
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto& n = names_[i];
    if (!by.count(n + ".momentum_buffer")) continue;
    auto s = std::make_unique<torch::optim::SGDParamState>();
    s->momentum_buffer(get(n + ".momentum_buffer", params_[i]));
    built.emplace_back(i, std::move(s));
  }
  auto& st = optim_->state();
  st.clear();
  for (auto& [i, s] : built) st[params_[i].unsafeGetTensorImpl()] = std::move(s);
}

torch::Tensor cpu_rng_state() { return at::detail::getDefaultCPUGenerator().get_state(); }

void set_cpu_rng_state(const torch::Tensor& state) {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

}  // namespace specfuse

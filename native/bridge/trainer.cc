#include "bridge/trainer.h"

#include "bridge/convert.h"
#include "bridge/dist_bind.h"
#include "bridge/module.h"
#include "bridge/napi_errors.h"
#include "bridge/tensor.h"
#include "core/memory_return.h"

#include <cmath>

namespace specfuse {
namespace {

std::vector<double> read_number_list(const Napi::Value& v, const char* arg) {
  if (!v.IsArray()) throw_type(std::string(arg) + ": expected an array of numbers");
  auto a = v.As<Napi::Array>();
  std::vector<double> out;
  for (uint32_t i = 0; i < a.Length(); ++i) out.push_back(read_number(a.Get(i), arg));
  return out;
}

Napi::Value rng_state(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value { return TensorWrap::Wrap(info.Env(), cpu_rng_state()); });
}

Napi::Value set_rng_state(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    const auto& t = TensorWrap::From(arg_or_undefined(info, 0), "state")->tensor("state");
    if (t.scalar_type() != torch::kUInt8 || t.dim() != 1)
      throw_type("state: expected the uint8 vector from rngState()");
    set_cpu_rng_state(t.contiguous());
    return info.Env().Undefined();
  });
}

}  // namespace

void TrainerWrap::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "NativeTrainer",
                                    {
                                        InstanceMethod<&TrainerWrap::Step>("step"),
                                        InstanceMethod<&TrainerWrap::Evaluate>("evaluate"),
                                        InstanceMethod<&TrainerWrap::SetLr>("setLr"),
                                        InstanceAccessor<&TrainerWrap::Lr>("lr"),
                                        InstanceMethod<&TrainerWrap::SetParamGroups>("setParamGroups"),
                                        InstanceMethod<&TrainerWrap::SetGroupLrs>("setGroupLrs"),
                                        InstanceAccessor<&TrainerWrap::GroupLrs>("groupLrs"),
                                        InstanceAccessor<&TrainerWrap::ParamNames>("paramNames"),
                                        InstanceAccessor<&TrainerWrap::Steps>("steps"),
                                        InstanceAccessor<&TrainerWrap::NeedsTarget>("needsTarget"),
                                        InstanceAccessor<&TrainerWrap::Skipped>("skipped"),
                                        InstanceMethod<&TrainerWrap::SetCounters>("setCounters"),
                                        InstanceAccessor<&TrainerWrap::TrainableTensors>("trainableTensors"),
                                        InstanceMethod<&TrainerWrap::OptimizerState>("optimizerState"),
                                        InstanceMethod<&TrainerWrap::LoadOptimizerState>("loadOptimizerState"),
                                        InstanceMethod<&TrainerWrap::SetDistributed>("setDistributed"),
                                        InstanceMethod<&TrainerWrap::Dispose>("dispose"),
                                    });
  exports.Set("NativeTrainer", ctor);
  exports.Set("rngState", Napi::Function::New<rng_state>(env, "rngState"));
  exports.Set("setRngState", Napi::Function::New<set_rng_state>(env, "setRngState"));
}

// new NativeTrainer(module, options)
TrainerWrap::TrainerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TrainerWrap>(info) {
  guard(info.Env(), [&]() {
    auto* m = ModuleWrap::From(arg_or_undefined(info, 0), "module");
    m->model("module");
    step_ =
        std::make_shared<TrainStep>(m->shared(), train_step_options(read_config(arg_or_undefined(info, 1), "options")));
    module_ = Napi::Persistent(info[0].As<Napi::Object>());
  });
}

TrainStep& TrainerWrap::step(const char* what) const {
  if (!step_) throw RuntimeError(std::string(what) + ": trainer was disposed");
  return *step_;
}

TrainerWrap::Batch TrainerWrap::read_batch(const Napi::CallbackInfo& info) {
  Batch b;
  auto* m = Napi::ObjectWrap<ModuleWrap>::Unwrap(module_.Value());
  m->model("step");  // the module must still exist
  if (busy()) throw RuntimeError("step: the previous step of this trainer has not finished; await it first");
  b.inputs = m->collect_inputs(arg_or_undefined(info, 0), step("step").required_inputs(), b.pinned);
  const auto tv = arg_or_undefined(info, 1);
  // Self-supervised stages and no-reference losses train without a target; others need one.
  if (!(tv.IsUndefined() || tv.IsNull()) || step("step").needs_target()) {
    auto* t = TensorWrap::From(tv, "target");
    b.target = t->tensor();
    b.pinned.emplace_back(tv.As<Napi::Object>(), t);
  }
  b.pinned.emplace_back(module_.Value(), m);
  b.pinned.emplace_back(info.This().As<Napi::Object>(), this);
  return b;
}

// step(inputs, target) -> Promise<{loss, gradNorm, skipped}>
Napi::Value TrainerWrap::Step(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    auto s = step_;
    step("step");
    Batch b = read_batch(info);
    auto result = std::make_shared<StepResult>();
    return PromiseWorker::Run(
        info.Env(), std::move(b.pinned),
        [s, inputs = std::move(b.inputs), target = b.target, result]() { *result = s->step(inputs, target); },
        [result](Napi::Env env, const std::vector<Napi::Object>&) -> Napi::Value {
          auto o = Napi::Object::New(env);
          o.Set("loss", result->loss);
          o.Set("gradNorm", result->grad_norm);
          o.Set("skipped", result->skipped);
          o.Set("localLoss", result->local_loss);
          return o;
        });
  });
}

// evaluate(inputs, target, keepOutput?) -> Promise<{loss, output?}>
Napi::Value TrainerWrap::Evaluate(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    auto s = step_;
    step("evaluate");
    const auto kv = arg_or_undefined(info, 2);
    const bool keep = kv.IsUndefined() ? false : read_bool(kv, "keepOutput");
    Batch b = read_batch(info);
    auto loss = std::make_shared<double>(0);
    auto out = std::make_shared<torch::Tensor>();
    return PromiseWorker::Run(
        info.Env(), std::move(b.pinned),
        [s, inputs = std::move(b.inputs), target = b.target, loss, out, keep]() {
          *loss = s->evaluate(inputs, target, keep ? out.get() : nullptr);
        },
        [loss, out](Napi::Env env, const std::vector<Napi::Object>&) -> Napi::Value {
          auto o = Napi::Object::New(env);
          o.Set("loss", *loss);
          if (out->defined()) o.Set("output", TensorWrap::Wrap(env, *out));
          return o;
        });
  });
}

Napi::Value TrainerWrap::SetLr(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    step("setLr").set_lr(read_number(arg_or_undefined(info, 0), "lr"));
    return info.Env().Undefined();
  });
}
Napi::Value TrainerWrap::Lr(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value { return Napi::Number::New(info.Env(), step("lr").lr()); });
}
// setParamGroups(groupOf: number[], lr: number[], weightDecay: number[])
Napi::Value TrainerWrap::SetParamGroups(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    if (busy()) throw RuntimeError("setParamGroups: a step is running; await it first");
    // read_int_list caps at 64 (it reads shapes); a model has hundreds of tensors
    std::vector<int64_t> group_of;
    for (double g : read_number_list(arg_or_undefined(info, 0), "groupOf")) {
      if (g != std::floor(g)) throw_type("groupOf: expected integers");
      group_of.push_back(int64_t(g));
    }
    step("setParamGroups")
        .set_param_groups(group_of, read_number_list(arg_or_undefined(info, 1), "lr"),
                          read_number_list(arg_or_undefined(info, 2), "weightDecay"));
    return info.Env().Undefined();
  });
}
Napi::Value TrainerWrap::SetGroupLrs(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    step("setGroupLrs").set_group_lrs(read_number_list(arg_or_undefined(info, 0), "lrs"));
    return info.Env().Undefined();
  });
}
Napi::Value TrainerWrap::GroupLrs(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value { return to_js_array(info.Env(), step("groupLrs").group_lrs()); });
}
Napi::Value TrainerWrap::ParamNames(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value { return to_js_array(info.Env(), step("paramNames").param_names()); });
}
Napi::Value TrainerWrap::NeedsTarget(const Napi::CallbackInfo& info) {
  return guard(info.Env(),
               [&]() -> Napi::Value { return Napi::Boolean::New(info.Env(), step("needsTarget").needs_target()); });
}

Napi::Value TrainerWrap::Steps(const Napi::CallbackInfo& info) {
  return guard(info.Env(),
               [&]() -> Napi::Value { return Napi::Number::New(info.Env(), double(step("steps").steps())); });
}
Napi::Value TrainerWrap::Skipped(const Napi::CallbackInfo& info) {
  return guard(info.Env(),
               [&]() -> Napi::Value { return Napi::Number::New(info.Env(), double(step("skipped").skipped())); });
}
Napi::Value TrainerWrap::SetCounters(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    step("setCounters")
        .set_counters(read_int(arg_or_undefined(info, 0), "steps"), read_int(arg_or_undefined(info, 1), "skipped"));
    return info.Env().Undefined();
  });
}
Napi::Value TrainerWrap::TrainableTensors(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    return Napi::Number::New(info.Env(), double(step("trainer").trainable_tensors()));
  });
}

Napi::Value TrainerWrap::OptimizerState(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    if (busy()) throw RuntimeError("optimizerState: a step is running; await it first");
    auto o = Napi::Object::New(info.Env());
    for (auto& [k, t] : step("optimizerState").optimizer_state()) o.Set(k, TensorWrap::Wrap(info.Env(), t));
    return o;
  });
}

Napi::Value TrainerWrap::LoadOptimizerState(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    if (busy()) throw RuntimeError("loadOptimizerState: a step is running; await it first");
    auto v = arg_or_undefined(info, 0);
    if (!v.IsObject() || v.IsArray()) throw_type("state: expected an object of named Tensors");
    auto obj = v.As<Napi::Object>();
    std::vector<std::pair<std::string, torch::Tensor>> state;
    auto keys = obj.GetPropertyNames();
    for (uint32_t i = 0; i < keys.Length(); ++i) {
      const std::string k = keys.Get(i).As<Napi::String>().Utf8Value();
      state.emplace_back(k, TensorWrap::From(obj.Get(k), ("state." + k).c_str())->tensor());
    }
    step("loadOptimizerState").load_optimizer_state(state);
    return info.Env().Undefined();
  });
}

// setDistributed() -> Promise: joins the default process group (initDistributed): the model's
// parameters and buffers are broadcast from rank 0, and every later step averages the gradients.
Napi::Value TrainerWrap::SetDistributed(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    auto s = step_;
    step("setDistributed");
    if (busy()) throw RuntimeError("setDistributed: a step is running; await it first");
    auto g = default_group();
    if (!g) throw RuntimeError("setDistributed: the process group is not initialized; await initDistributed() first");
    auto* m = Napi::ObjectWrap<ModuleWrap>::Unwrap(module_.Value());
    m->model("setDistributed");
    return PromiseWorker::Run(
        info.Env(), {{module_.Value(), m}, {info.This().As<Napi::Object>(), this}}, [s, g]() { s->set_group(g); },
        [](Napi::Env env, const std::vector<Napi::Object>&) -> Napi::Value { return env.Undefined(); });
  });
}

Napi::Value TrainerWrap::Dispose(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    if (busy()) throw RuntimeError("dispose: a step is running; await it first");
    step_.reset();
    module_.Reset();
    // Heaps keep what the training steps freed (core/host_allocator.cc): give it back once training ends.
    request_memory_return();
    return info.Env().Undefined();
  });
}

}  // namespace specfuse

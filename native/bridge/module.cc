#include "bridge/module.h"

#include "bridge/convert.h"
#include "bridge/napi_errors.h"
#include "bridge/tensor.h"
#include "core/device.h"
#include "core/dtype.h"
#include "models/registry.h"
#include "train/autocast.h"

namespace specfuse {
namespace {

Napi::Object describe(Napi::Env env, const std::string& name, const torch::Tensor& t) {
  auto o = Napi::Object::New(env);
  o.Set("name", name);
  o.Set("shape", to_js_shape(env, t.sizes()));
  o.Set("dtype", dtype_name(t.scalar_type()));
  o.Set("requiresGrad", t.requires_grad());
  o.Set("numel", double(t.numel()));
  return o;
}

// Parameters and buffers by name, in registration order.
std::vector<std::pair<std::string, torch::Tensor>> all_tensors(FusionModel& m) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : m.named_parameters(true)) out.emplace_back(p.key(), p.value());
  for (const auto& b : m.named_buffers(true)) out.emplace_back(b.key(), b.value());
  return out;
}

}  // namespace

Napi::Function ModuleWrap::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "NativeModule",
                                    {
                                        InstanceMethod<&ModuleWrap::NamedParameters>("namedParameters"),
                                        InstanceMethod<&ModuleWrap::NamedBuffers>("namedBuffers"),
                                        InstanceMethod<&ModuleWrap::SetRequiresGrad>("setRequiresGrad"),
                                        InstanceMethod<&ModuleWrap::Train>("train"),
                                        InstanceAccessor<&ModuleWrap::Training>("training"),
                                        InstanceAccessor<&ModuleWrap::Device>("device"),
                                        InstanceMethod<&ModuleWrap::To>("to"),
                                        InstanceMethod<&ModuleWrap::Forward>("forward"),
                                        InstanceMethod<&ModuleWrap::ForwardTaps>("forwardTaps"),
                                        InstanceMethod<&ModuleWrap::Call>("call"),
                                        InstanceMethod<&ModuleWrap::Methods>("methods"),
                                        InstanceMethod<&ModuleWrap::GetTensor>("getTensor"),
                                        InstanceMethod<&ModuleWrap::StateDict>("stateDict"),
                                        InstanceMethod<&ModuleWrap::LoadTensors>("loadTensors"),
                                        InstanceMethod<&ModuleWrap::Grads>("grads"),
                                        InstanceMethod<&ModuleWrap::SetChannelsLast>("setChannelsLast"),
                                        InstanceMethod<&ModuleWrap::ChannelsLast>("channelsLast"),
                                        InstanceMethod<&ModuleWrap::Dispose>("dispose"),
                                        InstanceAccessor<&ModuleWrap::Disposed>("disposed"),
                                        InstanceAccessor<&ModuleWrap::Busy>("busy"),
                                    });
  addon_data(env).module_ctor = Napi::Persistent(ctor);
  exports.Set("NativeModule", ctor);
  return ctor;
}

// new NativeModule(name, config)
ModuleWrap::ModuleWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModuleWrap>(info) {
  mem_ = addon_data(info.Env()).memory;
  if (info.Length() == 1 && info[0].IsExternal()) {  // adopt a model built off the JS thread (Adopt)
    model_ = *info[0].As<Napi::External<std::shared_ptr<FusionModel>>>().Data();
    mem_->modules += 1;
    return;
  }
  guard(info.Env(), [&]() {
    const std::string name = read_string(arg_or_undefined(info, 0), "model");
    model_ = create_model(name, read_config(arg_or_undefined(info, 1), "config"));
  });
  mem_->modules += 1;
}

ModuleWrap::~ModuleWrap() {
  if (model_) mem_->modules -= 1;
}

Napi::Object ModuleWrap::Adopt(Napi::Env env, std::shared_ptr<FusionModel> model) {
  return addon_data(env).module_ctor.New({Napi::External<std::shared_ptr<FusionModel>>::New(env, &model)});
}

ModuleWrap* ModuleWrap::From(const Napi::Value& v, const char* arg) {
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(addon_data(v.Env()).module_ctor.Value()))
    throw_type(std::string(arg) + ": expected a Module");
  return Napi::ObjectWrap<ModuleWrap>::Unwrap(v.As<Napi::Object>());
}

FusionModel& ModuleWrap::model(const char* what) const {
  if (!model_) throw RuntimeError(std::string(what) + ": module was disposed");
  return *model_;
}

NamedTensors ModuleWrap::collect_inputs(const Napi::Value& in, const ForwardOptions& opts,
                                        std::vector<std::pair<Napi::Object, Pinnable*>>& pinned) const {
  return collect_inputs(in, model("inputs").required_inputs(opts), pinned);
}

NamedTensors ModuleWrap::collect_inputs(const Napi::Value& in, const std::vector<std::string>& names,
                                        std::vector<std::pair<Napi::Object, Pinnable*>>& pinned) const {
  if (!in.IsObject() || in.IsArray() || TensorWrap::Is(in)) throw_type("inputs: expected an object of named Tensors");
  NamedTensors inputs;
  auto obj = in.As<Napi::Object>();
  for (const auto& name : names) {
    if (!obj.Has(name) || obj.Get(name).IsUndefined()) throw_type("inputs." + name + ": missing");
    auto* w = TensorWrap::From(obj.Get(name), ("inputs." + name).c_str());
    inputs[name] = w->tensor();
    pinned.emplace_back(obj.Get(name).As<Napi::Object>(), w);
  }
  return inputs;
}

Napi::Value ModuleWrap::NamedParameters(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    auto params = model().named_parameters(true);
    auto arr = Napi::Array::New(info.Env(), params.size());
    uint32_t i = 0;
    for (const auto& p : params) arr.Set(i++, describe(info.Env(), p.key(), p.value()));
    return arr;
  });
}

Napi::Value ModuleWrap::NamedBuffers(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    auto bufs = model().named_buffers(true);
    auto arr = Napi::Array::New(info.Env(), bufs.size());
    uint32_t i = 0;
    for (const auto& b : bufs) arr.Set(i++, describe(info.Env(), b.key(), b.value()));
    return arr;
  });
}

// setRequiresGrad(names: string[], flag: boolean): every name must be a parameter.
Napi::Value ModuleWrap::SetRequiresGrad(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    if (busy()) throw RuntimeError("setRequiresGrad: module is in use by a pending async operation");
    auto v = arg_or_undefined(info, 0);
    if (!v.IsArray()) throw_type("names: expected an array of parameter names");
    const bool flag = read_bool(arg_or_undefined(info, 1), "requiresGrad");
    auto params = model().named_parameters(true);
    auto names = v.As<Napi::Array>();
    std::vector<torch::Tensor> targets;
    for (uint32_t i = 0; i < names.Length(); ++i) {
      const std::string n = read_string(names.Get(i), "names[i]");
      auto* p = params.find(n);
      if (!p) throw_range("names: '" + n + "' is not a parameter of this module");
      targets.push_back(*p);
    }
    for (auto& t : targets) t.set_requires_grad(flag);
    return Napi::Number::New(info.Env(), double(targets.size()));
  });
}

Napi::Value ModuleWrap::Train(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    auto v = arg_or_undefined(info, 0);
    model().train(v.IsUndefined() ? true : read_bool(v, "on"));
    return info.Env().Undefined();
  });
}

Napi::Value ModuleWrap::Training(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value { return Napi::Boolean::New(info.Env(), model().is_training()); });
}

Napi::Value ModuleWrap::Device(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    auto params = model().parameters(true);
    return Napi::String::New(info.Env(), params.empty() ? "cpu" : device_name(params.front().device()));
  });
}

// to(device, dtype?) -> Promise<void>; the weights move off the JS thread.
Napi::Value ModuleWrap::To(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    if (busy()) throw RuntimeError("to: module is in use by a pending async operation; await it first");
    const c10::Device dev = parse_device(read_string(arg_or_undefined(info, 0), "device"));
    auto dt = arg_or_undefined(info, 1);
    std::optional<c10::ScalarType> dtype;
    if (!dt.IsUndefined() && !dt.IsNull()) dtype = dtype_from_name(read_string(dt, "dtype"));
    auto m = shared();
    model();
    return PromiseWorker::Run(
        info.Env(), {{info.This().As<Napi::Object>(), this}},
        [m, dev, dtype]() {
          if (dtype) m->to(dev, *dtype);
          else m->to(dev);
        },
        [](Napi::Env env, const std::vector<Napi::Object>&) -> Napi::Value { return env.Undefined(); });
  });
}

// forward(inputs: {name: Tensor}, options?: {stage?: number, grad?: boolean}) -> Promise<Tensor>
Napi::Value ModuleWrap::Forward(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    auto m = shared();
    model("forward");
    auto in = arg_or_undefined(info, 0);
    const Config o = read_config(arg_or_undefined(info, 1), "options");
    ForwardOptions opts;
    opts.stage = int(o.get_int("stage", opts.stage));
    const bool grad = o.get_bool("grad", false);
    const std::string ac = o.get_string("autocast", "none");
    o.check_all_used();
    if (ac != "bf16" && ac != "none") throw_range("options.autocast: expected 'none' or 'bf16'");
    const bool bf16 = ac == "bf16";
    std::vector<std::pair<Napi::Object, Pinnable*>> pinned{{info.This().As<Napi::Object>(), this}};
    NamedTensors inputs = collect_inputs(in, opts, pinned);
    auto out = std::make_shared<torch::Tensor>();
    return PromiseWorker::Run(
        info.Env(), std::move(pinned),
        [m, inputs, opts, grad, bf16, out]() {
          // Grad mode and autocast are thread-local: set on this worker thread.
          const auto type = inputs.empty() ? c10::DeviceType::CPU : inputs.begin()->second.device().type();
          AutocastScope ac(bf16, type);
          if (grad) {
            torch::AutoGradMode mode(true);
            *out = m->forward_named(m->prepare_inputs(inputs), opts);
          } else {
            c10::InferenceMode inference;
            *out = m->forward_named(m->prepare_inputs(inputs), opts);
          }
          if (m->channels_last) *out = out->contiguous();
          if (bf16) *out = out->to(torch::kFloat32);
        },
        [out](Napi::Env env, const std::vector<Napi::Object>&) -> Napi::Value { return TensorWrap::Wrap(env, *out); });
  });
}

// forwardTaps(inputs, {stage}) -> Promise<{name: Tensor}>: the forward's named intermediates.
Napi::Value ModuleWrap::ForwardTaps(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    auto m = shared();
    model("forwardTaps");
    auto in = arg_or_undefined(info, 0);
    const Config o = read_config(arg_or_undefined(info, 1), "options");
    ForwardOptions opts;
    opts.stage = int(o.get_int("stage", opts.stage));
    o.check_all_used();
    std::vector<std::pair<Napi::Object, Pinnable*>> pinned{{info.This().As<Napi::Object>(), this}};
    NamedTensors inputs = collect_inputs(in, opts, pinned);
    auto out = std::make_shared<NamedTensors>();
    return PromiseWorker::Run(
        info.Env(), std::move(pinned),
        [m, inputs, opts, out]() {
          c10::InferenceMode inference;
          *out = m->forward_taps(m->prepare_inputs(inputs), opts);
        },
        [out](Napi::Env env, const std::vector<Napi::Object>&) -> Napi::Value {
          auto o = Napi::Object::New(env);
          for (auto& [k, t] : *out) o.Set(k, TensorWrap::Wrap(env, t.contiguous()));
          return o;
        });
  });
}

// call(method, inputs, options?) -> Promise<Tensor>: a model-specific operation (a sampler, say),
// run off the JS thread without gradients.
Napi::Value ModuleWrap::Call(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    auto m = shared();
    model("call");
    const std::string method = read_string(arg_or_undefined(info, 0), "method");
    const auto names = m->call_inputs(method);  // unknown method: RangeError before any work
    auto cfg = std::make_shared<Config>(read_config(arg_or_undefined(info, 2), "options"));
    std::vector<std::pair<Napi::Object, Pinnable*>> pinned{{info.This().As<Napi::Object>(), this}};
    NamedTensors inputs = collect_inputs(arg_or_undefined(info, 1), names, pinned);
    auto out = std::make_shared<torch::Tensor>();
    return PromiseWorker::Run(
        info.Env(), std::move(pinned),
        [m, method, inputs, cfg, out]() {
          c10::InferenceMode inference;
          *out = m->call(method, m->prepare_inputs(inputs), *cfg).contiguous();
        },
        [out](Napi::Env env, const std::vector<Napi::Object>&) -> Napi::Value { return TensorWrap::Wrap(env, *out); });
  });
}

Napi::Value ModuleWrap::Methods(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    const auto ms = model("methods").methods();
    auto arr = Napi::Array::New(info.Env(), ms.size());
    for (uint32_t i = 0; i < ms.size(); ++i) arr.Set(i, ms[i]);
    return arr;
  });
}

Napi::Value ModuleWrap::GetTensor(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    const std::string name = read_string(arg_or_undefined(info, 0), "name");
    for (auto& [n, t] : all_tensors(model()))
      if (n == name) return TensorWrap::Wrap(info.Env(), t.detach().clone());
    throw_range("name: '" + name + "' is not a parameter or buffer of this module");
  });
}

// stateDict() -> {name: Tensor}: detached copies, safe to keep after the module changes.
Napi::Value ModuleWrap::StateDict(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    auto o = Napi::Object::New(info.Env());
    for (auto& [n, t] : all_tensors(model())) o.Set(n, TensorWrap::Wrap(info.Env(), t.detach().clone()));
    return o;
  });
}

// loadTensors({name: Tensor}) copies values into parameters/buffers. All names and shapes are
// checked before anything is written, so a bad map changes nothing. Returns the count.
Napi::Value ModuleWrap::LoadTensors(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    if (busy()) throw RuntimeError("loadTensors: module is in use by a pending async operation");
    auto v = arg_or_undefined(info, 0);
    if (!v.IsObject() || v.IsArray()) throw_type("tensors: expected an object of named Tensors");
    auto obj = v.As<Napi::Object>();
    auto targets = all_tensors(model());
    std::map<std::string, torch::Tensor> by_name(targets.begin(), targets.end());
    std::vector<std::pair<torch::Tensor, torch::Tensor>> plan;
    auto keys = obj.GetPropertyNames();
    for (uint32_t i = 0; i < keys.Length(); ++i) {
      const std::string k = keys.Get(i).As<Napi::String>().Utf8Value();
      auto it = by_name.find(k);
      if (it == by_name.end()) throw_range("tensors: '" + k + "' is not a parameter or buffer of this module");
      const auto& src = TensorWrap::From(obj.Get(k), ("tensors." + k).c_str())->tensor();
      if (src.sizes() != it->second.sizes()) {
        std::ostringstream s;
        s << "tensors: '" << k << "' has shape " << src.sizes() << ", the module expects " << it->second.sizes();
        throw_range(s.str());
      }
      plan.emplace_back(it->second, src);
    }
    torch::NoGradGuard no_grad;
    for (auto& [dst, src] : plan) dst.copy_(src);
    return Napi::Number::New(info.Env(), double(plan.size()));
  });
}

// grads() -> {name: Tensor}: detached copies of .grad for the parameters that have one (left by the
// last backward, e.g. a Trainer step; the next step clears them).
Napi::Value ModuleWrap::Grads(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    if (busy()) throw RuntimeError("grads: module is in use by a pending async operation; await it first");
    auto o = Napi::Object::New(info.Env());
    for (const auto& p : model("grads").named_parameters(true)) {
      const auto& g = p.value().grad();
      if (g.defined()) o.Set(p.key(), TensorWrap::Wrap(info.Env(), g.detach().clone()));
    }
    return o;
  });
}

// setChannelsLast(on): NHWC weights and inputs (same names and values; another memory layout).
Napi::Value ModuleWrap::SetChannelsLast(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    if (busy()) throw RuntimeError("setChannelsLast: module is in use by a pending async operation");
    model().set_channels_last(read_bool(arg_or_undefined(info, 0), "on"));
    return info.Env().Undefined();
  });
}

// channelsLast() -> whether the weights and inputs run in NHWC.
Napi::Value ModuleWrap::ChannelsLast(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value { return Napi::Boolean::New(info.Env(), model().channels_last); });
}

Napi::Value ModuleWrap::Dispose(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    if (busy()) throw RuntimeError("dispose: module is in use by a pending async operation; await it first");
    if (model_) mem_->modules -= 1;
    model_.reset();
    return info.Env().Undefined();
  });
}

Napi::Value ModuleWrap::Disposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !model_); }
Napi::Value ModuleWrap::Busy(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), busy()); }

}  // namespace specfuse

// The JS Module: one ObjectWrap holding one FusionModel. Forward and device moves run off the JS
// thread; while they run the module is pinned and cannot be disposed or moved.
#pragma once
#include <napi.h>

#include <memory>

#include "bridge/async.h"
#include "bridge/env.h"
#include "models/model.h"

namespace specfuse {

class ModuleWrap : public Napi::ObjectWrap<ModuleWrap>, public Pinnable {
 public:
  static Napi::Function Init(Napi::Env env, Napi::Object exports);
  explicit ModuleWrap(const Napi::CallbackInfo& info);
  // A JS Module around a model built elsewhere (off the JS thread: bridge/model_factory.h).
  static Napi::Object Adopt(Napi::Env env, std::shared_ptr<FusionModel> model);
  ~ModuleWrap() override;

  static ModuleWrap* From(const Napi::Value& v, const char* arg);
  FusionModel& model(const char* what = "module") const;
  std::shared_ptr<FusionModel> shared() const { return model_; }
  // The named input tensors the model needs for `opts`, read from a JS object; each is added to
  // `pinned` so pending work keeps it alive. Errors name the missing or mistyped input.
  NamedTensors collect_inputs(const Napi::Value& in, const ForwardOptions& opts,
                              std::vector<std::pair<Napi::Object, Pinnable*>>& pinned) const;
  NamedTensors collect_inputs(const Napi::Value& in, const std::vector<std::string>& names,
                              std::vector<std::pair<Napi::Object, Pinnable*>>& pinned) const;

 private:
  Napi::Value NamedParameters(const Napi::CallbackInfo& info);
  Napi::Value NamedBuffers(const Napi::CallbackInfo& info);
  Napi::Value SetRequiresGrad(const Napi::CallbackInfo& info);
  Napi::Value Train(const Napi::CallbackInfo& info);
  Napi::Value Training(const Napi::CallbackInfo& info);
  Napi::Value Device(const Napi::CallbackInfo& info);
  Napi::Value To(const Napi::CallbackInfo& info);
  Napi::Value Forward(const Napi::CallbackInfo& info);
  Napi::Value ForwardTaps(const Napi::CallbackInfo& info);
  Napi::Value Call(const Napi::CallbackInfo& info);
  Napi::Value Methods(const Napi::CallbackInfo& info);
  Napi::Value GetTensor(const Napi::CallbackInfo& info);
  Napi::Value StateDict(const Napi::CallbackInfo& info);
  Napi::Value LoadTensors(const Napi::CallbackInfo& info);
  Napi::Value Grads(const Napi::CallbackInfo& info);
  Napi::Value SetChannelsLast(const Napi::CallbackInfo& info);
  Napi::Value ChannelsLast(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value Disposed(const Napi::CallbackInfo& info);
  Napi::Value Busy(const Napi::CallbackInfo& info);

  std::shared_ptr<FusionModel> model_;
  std::shared_ptr<MemoryCounters> mem_;
};

}  // namespace specfuse

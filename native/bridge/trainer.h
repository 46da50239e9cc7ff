// The JS Trainer: a TrainStep bound to one Module. Steps run off the JS thread and pin the module,
// the trainer and the batch tensors until they settle.
#pragma once
#include <napi.h>

#include <memory>

#include "bridge/async.h"
#include "train/step.h"

namespace specfuse {

class TrainerWrap : public Napi::ObjectWrap<TrainerWrap>, public Pinnable {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit TrainerWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value Step(const Napi::CallbackInfo& info);
  Napi::Value Evaluate(const Napi::CallbackInfo& info);
  Napi::Value SetLr(const Napi::CallbackInfo& info);
  Napi::Value Lr(const Napi::CallbackInfo& info);
  Napi::Value SetParamGroups(const Napi::CallbackInfo& info);
  Napi::Value SetGroupLrs(const Napi::CallbackInfo& info);
  Napi::Value GroupLrs(const Napi::CallbackInfo& info);
  Napi::Value ParamNames(const Napi::CallbackInfo& info);
  Napi::Value Steps(const Napi::CallbackInfo& info);
  Napi::Value NeedsTarget(const Napi::CallbackInfo& info);
  Napi::Value Skipped(const Napi::CallbackInfo& info);
  Napi::Value SetCounters(const Napi::CallbackInfo& info);
  Napi::Value TrainableTensors(const Napi::CallbackInfo& info);
  Napi::Value OptimizerState(const Napi::CallbackInfo& info);
  Napi::Value LoadOptimizerState(const Napi::CallbackInfo& info);
  Napi::Value SetDistributed(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  TrainStep& step(const char* what) const;
  // Collects the batch: named inputs and the target, pinned with the module and this trainer.
  struct Batch {
    NamedTensors inputs;
    torch::Tensor target;
    std::vector<std::pair<Napi::Object, Pinnable*>> pinned;
  };
  Batch read_batch(const Napi::CallbackInfo& info);

  std::shared_ptr<TrainStep> step_;
  Napi::ObjectReference module_;
};

}  // namespace specfuse

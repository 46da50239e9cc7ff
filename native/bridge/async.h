// Runs native work off the JS thread and settles a Promise with its result.
//
// The objects the work touches are pinned twice: their JS wrappers are held by references (so the
// GC cannot collect them) and their `busy` counters are raised (so dispose() refuses until the
// work is done). Grad mode and autocast are thread-local in libtorch: the work function sets what
// it needs itself, on the worker thread.
#pragma once
#include <napi.h>

#include <functional>
#include <memory>
#include <vector>

#include "bridge/napi_errors.h"

namespace specfuse {

// Anything that can be pinned by pending async work (tensors, modules).
class Pinnable {
 public:
  virtual ~Pinnable() = default;
  void pin() { ++busy_; }
  void unpin() { --busy_; }
  bool busy() const { return busy_ > 0; }

 private:
  int busy_ = 0;  // only touched on the JS thread
};

class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<void()>;
  // `kept` holds the objects passed to Run, in order (napi handles captured at Run time are dead by
  // the time settle runs: take any object you need from here).
  using Settle = std::function<Napi::Value(Napi::Env, const std::vector<Napi::Object>& kept)>;

  // `work` runs on a libuv worker thread and must not touch any Napi value; `settle` runs on the
  // JS thread afterwards and builds the resolved value.
  static Napi::Promise Run(Napi::Env env, std::vector<std::pair<Napi::Object, Pinnable*>> pinned, Work work,
                           Settle settle);

 protected:
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& e) override;

 private:
  PromiseWorker(Napi::Env env, Work work, Settle settle);
  void Release();

  Napi::Promise::Deferred deferred_;
  Work work_;
  Settle settle_;
  CaughtError error_;
  std::vector<Napi::ObjectReference> refs_;
  std::vector<Pinnable*> pinned_;
};

}  // namespace specfuse

// Runs native work off the JS thread and settles a Promise with its result.
//
// Every task runs on one compute thread (bridge/compute_thread.h) and its Promise is settled from
// there through a thread-safe function: no libuv pool thread waits while the work runs, so the
// host program's file I/O, zlib, crypto and DNS never queue behind inference.
//
// The objects the work touches are pinned twice: their JS wrappers are held by references (so the
// GC cannot collect them) and their `busy` counters are raised (so dispose() refuses until the
// work is done). Grad mode and autocast are thread-local in libtorch: the work function sets what
// it needs itself, on the compute thread.
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

class PromiseWorker {
 public:
  using Work = std::function<void()>;
  // `kept` holds the objects passed to Run, in order (napi handles captured at Run time are dead by
  // the time settle runs: take any object you need from here).
  using Settle = std::function<Napi::Value(Napi::Env, const std::vector<Napi::Object>& kept)>;

  // `work` runs on the compute thread and must not touch any Napi value; `settle` runs on the
  // JS thread afterwards and builds the resolved value. Both may be destroyed on either thread.
  static Napi::Promise Run(Napi::Env env, std::vector<std::pair<Napi::Object, Pinnable*>> pinned, Work work,
                           Settle settle);
};

// Completed tasks waiting to be settled on one environment's JS thread (bridge/async.cc).
class Completions;

}  // namespace specfuse

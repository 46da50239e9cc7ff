// Per-environment state (main thread and each worker_thread has its own): constructors and memory
// counters. No static Napi objects anywhere, so the addon loads in worker_threads.
#pragma once
#include <napi.h>

#include <atomic>
#include <cstdint>
#include <memory>

namespace specfuse {

struct MemoryCounters {
  std::atomic<int64_t> tensors{0};
  std::atomic<int64_t> bytes{0};
  std::atomic<int64_t> modules{0};
};

struct AddonData {
  Napi::FunctionReference tensor_ctor;
  Napi::FunctionReference module_ctor;
  // Shared with every wrapper, so wrappers finalized after the env's data still have somewhere to count.
  std::shared_ptr<MemoryCounters> memory = std::make_shared<MemoryCounters>();
};

inline AddonData& addon_data(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

}  // namespace specfuse

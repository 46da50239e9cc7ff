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
  int64_t unreported = 0;  // host bytes not yet reported to V8 (JS thread only)
};

// Reports host tensor memory to V8 in steps of at least 1 MiB: one call per tiny tensor would
// cost more than the tensor op itself, while GC pressure only needs the order of magnitude.
inline void report_external_memory(napi_env env, MemoryCounters& m, int64_t delta) {
  m.unreported += delta;
  if (m.unreported > -(int64_t(1) << 20) && m.unreported < (int64_t(1) << 20)) return;
  int64_t ignored = 0;
  napi_adjust_external_memory(env, m.unreported, &ignored);  // may fail during env teardown: harmless
  m.unreported = 0;
}

struct AddonData {
  Napi::FunctionReference tensor_ctor;
  Napi::FunctionReference module_ctor;
  // Shared with every wrapper, so wrappers finalized after the env's data still have somewhere to count.
  std::shared_ptr<MemoryCounters> memory = std::make_shared<MemoryCounters>();
};

inline AddonData& addon_data(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

}  // namespace specfuse

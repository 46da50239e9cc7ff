// Per-environment state (main thread and each worker_thread has its own): constructors and memory
// counters. No static Napi objects anywhere, so the addon loads in worker_threads.
#pragma once
#include <napi.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "core/memory_return.h"

namespace specfuse {

struct MemoryCounters {
  std::atomic<int64_t> tensors{0};
  std::atomic<int64_t> bytes{0};
  std::atomic<int64_t> modules{0};
  int64_t unreported = 0;  // host bytes not yet reported to V8 (JS thread only)
  int64_t host = 0;        // host bytes held by JS tensors (JS thread only)
  int64_t host_high = 0;   // their high-water mark since memory was last given back
};

// JS-held host bytes this far below their high-water mark ask for freed memory to go back to the
// OS (core/memory_return.h). Loops that create and dispose a tensor per iteration stay well within
// it and never pay for a trim.
constexpr int64_t kMemoryReturnStep = int64_t(64) << 20;

// Reports host tensor memory to V8 in steps of at least 1 MiB: one call per tiny tensor would
// cost more than the tensor op itself, while GC pressure only needs the order of magnitude.
// V8 answers this pressure with full GCs (it does not show in process.memoryUsage().external on
// Node 20), and the GC-time finalizers (CMakeLists.txt: NAPI_VERSION) free the tensors at once.
// Also called from those finalizers: only napi_adjust_external_memory, which is GC-safe.
inline void report_external_memory(napi_env env, MemoryCounters& m, int64_t delta) {
  m.host += delta;
  if (m.host > m.host_high) {
    m.host_high = m.host;
  } else if (m.host_high - m.host >= kMemoryReturnStep) {
    request_memory_return();
    m.host_high = m.host;
  }
  m.unreported += delta;
  if (m.unreported > -(int64_t(1) << 20) && m.unreported < (int64_t(1) << 20)) return;
  int64_t ignored = 0;
  napi_adjust_external_memory(env, m.unreported, &ignored);  // may fail during env teardown: harmless
  m.unreported = 0;
}

class Completions;  // bridge/async.cc

struct AddonData {
  Napi::FunctionReference tensor_ctor;
  Napi::FunctionReference module_ctor;
  // Shared with every wrapper, so wrappers finalized after the env's data still have somewhere to count.
  std::shared_ptr<MemoryCounters> memory = std::make_shared<MemoryCounters>();
  std::shared_ptr<Completions> completions;  // created by the first async call
};

inline AddonData& addon_data(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

}  // namespace specfuse

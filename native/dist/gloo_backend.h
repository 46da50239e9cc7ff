// c10d's Gloo process group (libtorch_cpu.so), behind an interface that needs only c10d's
// Backend.hpp: the rest of specfuse never sees ProcessGroupGloo.hpp or gloo's declarations.
#pragma once
#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

#include <chrono>
#include <string>

namespace specfuse::dist {

// `hostname`: the address this rank's Gloo device binds to and advertises ("" = c10d's default:
// GLOO_SOCKET_IFNAME when set, else this machine's hostname, else loopback).
c10::intrusive_ptr<c10d::Backend> make_gloo_backend(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                                    std::chrono::milliseconds timeout, const std::string& hostname);

// What ProcessGroupGloo's inline accessors read from a live group: the threads and devices of its
// options and their timeout. Read through our view of the class layout and compared by the caller
// with what was set (test/dist/gloo-abi.test.ts): a layout mismatch shows up as wrong numbers.
struct GlooLayoutProbe {
  int threads = -1;          // ProcessGroupGloo::getNumThreads() (options_->threads)
  int option_threads = -1;   // getOptions()->threads
  int64_t devices = -1;      // getOptions()->devices.size()
  int64_t timeout_ms = -1;   // getOptions()->timeout (Backend::Options)
  std::string backend_name;  // getBackendName() through the vtable
  int rank = -1, size = -1;  // Backend::getRank()/getSize()
};
GlooLayoutProbe probe_gloo_layout(const c10::intrusive_ptr<c10d::Backend>& backend);

}  // namespace specfuse::dist

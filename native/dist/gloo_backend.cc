// The one translation unit that includes c10d's ProcessGroupGloo.hpp.
//
// The torch wheel ships c10d's headers and exports c10d::ProcessGroupGloo from libtorch_cpu.so (gloo
// itself is compiled into that library), but it ships none of gloo's headers, which
// ProcessGroupGloo.hpp includes. Copying gloo's headers into the repository would copy third-party
// source and pin it silently to one gloo revision. Instead native/dist/gloo_api/ holds our own
// minimal declarations of the few gloo names the header mentions, written against gloo's public
// API, on the include path of this file only. They are safe because ProcessGroupGloo.hpp keeps
// every gloo object behind std::shared_ptr/std::unique_ptr (fixed-size members whatever gloo's
// classes look like), the only gloo function an inline c10d function calls (Context::setTimeout) is
// declared with the exact signature libtorch_cpu.so exports, and the one gloo class with a vtable
// we declare (rendezvous::Store) is never instantiated here. Two tests would catch a mismatch: the
// layout probe below reads members through our view of the class and compares them with what was
// set, and test/dist/gloo-abi.test.ts checks that the addon defines no gloo symbol.
#include "dist/gloo_backend.h"

#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1  // the wheel's libtorch_cpu.so is built with Gloo
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>

namespace specfuse::dist {

// Layout facts our declarations must not change: gloo objects are held through pointers only.
static_assert(sizeof(std::shared_ptr<::gloo::Context>) == 2 * sizeof(void*));
static_assert(sizeof(std::shared_ptr<::gloo::transport::Device>) == 2 * sizeof(void*));
static_assert(sizeof(std::unique_ptr<::gloo::transport::UnboundBuffer>) == sizeof(void*));
static_assert(std::is_polymorphic_v<::gloo::rendezvous::Store>);

c10::intrusive_ptr<c10d::Backend> make_gloo_backend(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                                    std::chrono::milliseconds timeout, const std::string& hostname) {
  c10::intrusive_ptr<c10d::ProcessGroupGloo::Options> options;
  if (hostname.empty()) {
    options = c10d::ProcessGroupGloo::Options::create_default(timeout);
  } else {
    options = c10d::ProcessGroupGloo::Options::create(timeout);
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(hostname));
    options->threads = 2;  // what create_default gives one device
  }
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, options);
}

GlooLayoutProbe probe_gloo_layout(const c10::intrusive_ptr<c10d::Backend>& backend) {
  GlooLayoutProbe p;
  auto* gloo = dynamic_cast<c10d::ProcessGroupGloo*>(backend.get());
  if (!gloo) return p;
  p.threads = gloo->getNumThreads();
  auto o = gloo->getOptions();
  p.option_threads = o->threads;
  p.devices = int64_t(o->devices.size());
  p.timeout_ms = int64_t(o->timeout.count());
  p.backend_name = gloo->getBackendName();
  p.rank = gloo->getRank();
  p.size = gloo->getSize();
  return p;
}

}  // namespace specfuse::dist

// Minimal declarations of gloo's public API, written for specfuse (not gloo's source): exactly what
// torch/csrc/distributed/c10d/ProcessGroupGloo.hpp needs in order to parse. Why they exist, and why
// they are safe, is explained in native/dist/gloo_backend.cc; they are on the include path of that
// one translation unit only (CMakeLists.txt, binding.gyp).
//
// ProcessGroupGloo.hpp only holds gloo objects behind std::shared_ptr / std::unique_ptr, so nothing
// here decides the size or layout of a c10d class. Its one inline use of gloo::Context is
// setTimeout(), declared here with the signature libtorch_cpu.so exports (gloo is built into it).
#pragma once
#include <chrono>

namespace gloo {

class Context {
 public:
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  void setTimeout(std::chrono::milliseconds timeout);

 private:
  Context() = delete;  // never created or destroyed here: c10d creates them inside libtorch
  ~Context() = delete;
};

}  // namespace gloo

// Autocast for one forward: thread-local in libtorch, so it is set on the worker thread that runs
// the work and restored when the scope ends.
#pragma once
#include <ATen/autocast_mode.h>

namespace specfuse {

struct AutocastScope {
  bool on = false;
  c10::DeviceType type = c10::DeviceType::CPU;
  AutocastScope(bool enable, c10::DeviceType t) : on(enable), type(t) {
    if (!on) return;
    at::autocast::set_autocast_enabled(type, true);
    at::autocast::set_autocast_dtype(type, at::kBFloat16);
  }
  ~AutocastScope() {
    if (!on) return;
    at::autocast::set_autocast_enabled(type, false);
    at::autocast::clear_cache();
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;
};

}  // namespace specfuse

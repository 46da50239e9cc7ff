#include "core/host_allocator.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/util/Exception.h>

#include <cstdint>
#include <cstdlib>
#include <mutex>

namespace specfuse {
namespace {

constexpr uintptr_t kAlign = 64;  // what libtorch's vectorized kernels prefer

void release(void* p) {
  if (p) std::free(static_cast<void**>(p)[-1]);
}

class HostAllocator final : public c10::Allocator {
 public:
  c10::DataPtr allocate(size_t n) override {
    if (n == 0) return {nullptr, nullptr, &release, c10::Device(c10::kCPU)};
    void* raw = std::malloc(n + kAlign);
    TORCH_CHECK_WITH(OutOfMemoryError, raw != nullptr, "CPU out of memory: tried to allocate ", n, " bytes");
    // malloc is 16-aligned, so the aligned pointer is at least 16 bytes past raw: room to store raw.
    auto* p = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(raw) + kAlign) & ~(kAlign - 1));
    static_cast<void**>(p)[-1] = raw;
    return {p, p, &release, c10::Device(c10::kCPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &release; }
  void copy_data(void* dest, const void* src, std::size_t count) const override { default_copy_data(dest, src, count); }
};

}  // namespace

void install_host_allocator() {
  static std::once_flag once;
  std::call_once(once, [] {
    static HostAllocator allocator;
    c10::SetCPUAllocator(&allocator, /*priority=*/1);
  });
}

}  // namespace specfuse

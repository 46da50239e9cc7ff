#include "core/host_allocator.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/util/Exception.h>

#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <mutex>

namespace specfuse {
namespace {

constexpr uintptr_t kAlign = 64;  // what libtorch's vectorized kernels prefer
constexpr size_t kHuge = size_t(2) << 20;
constexpr size_t kHugeFrom = size_t(4) << 20;

void release(void* p) {
  if (p) std::free(static_cast<void**>(p)[-1]);
}

// Returns a kAlign-aligned pointer with the raw block stored just before it, or nullptr.
void* aligned_block(size_t n) {
  void* raw = nullptr;
  if (n >= kHugeFrom) {
    const size_t total = (n + kAlign + kHuge - 1) / kHuge * kHuge;
    raw = std::aligned_alloc(kHuge, total);
    if (raw) madvise(raw, total, MADV_HUGEPAGE);  // advice only: failure is harmless
    if (!raw) return nullptr;
    void* p = static_cast<char*>(raw) + kAlign;
    static_cast<void**>(p)[-1] = raw;
    return p;
  }
  raw = std::malloc(n + kAlign);
  if (!raw) return nullptr;
  // malloc is 16-aligned, so the aligned pointer is at least 16 bytes past raw: room to store raw.
  auto* p = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(raw) + kAlign) & ~(kAlign - 1));
  static_cast<void**>(p)[-1] = raw;
  return p;
}

class HostAllocator final : public c10::Allocator {
 public:
  c10::DataPtr allocate(size_t n) override {
    if (n == 0) return {nullptr, nullptr, &release, c10::Device(c10::kCPU)};
    void* p = aligned_block(n);
    TORCH_CHECK_WITH(OutOfMemoryError, p != nullptr, "CPU out of memory: tried to allocate ", n, " bytes");
    return {p, p, &release, c10::Device(c10::kCPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &release; }
  void copy_data(void* dest, const void* src, std::size_t count) const override { default_copy_data(dest, src, count); }
};

}  // namespace

void* host_alloc(size_t n) { return aligned_block(n == 0 ? 1 : n); }
void host_free(void* p) { release(p); }

void install_host_allocator() {
  static std::once_flag once;
  std::call_once(once, [] {
    static HostAllocator allocator;
    c10::SetCPUAllocator(&allocator, /*priority=*/1);
  });
}

}  // namespace specfuse

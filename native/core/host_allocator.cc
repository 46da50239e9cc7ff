#include "core/host_allocator.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/util/Exception.h>

#include <sys/mman.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace specfuse {
namespace {

constexpr uintptr_t kAlign = 64;  // what libtorch's vectorized kernels prefer
constexpr size_t kHuge = size_t(2) << 20;
constexpr size_t kHugeFrom = size_t(4) << 20;
constexpr uintptr_t kLargeTag = 1;  // low bit of the stored block address: a mapped large block
constexpr auto kIdleRelease = std::chrono::seconds(1);

using Clock = std::chrono::steady_clock;

// Large blocks are mapped directly, 2 MiB-aligned, in whole huge pages.
void* map_large(size_t total) {
  const size_t len = total + kHuge;
  void* m = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return nullptr;
  const uintptr_t start = reinterpret_cast<uintptr_t>(m);
  const uintptr_t aligned = (start + kHuge - 1) & ~(uintptr_t(kHuge) - 1);
  if (aligned > start) munmap(m, aligned - start);
  const uintptr_t end = aligned + total;
  if (start + len > end) munmap(reinterpret_cast<void*>(end), start + len - end);
  madvise(reinterpret_cast<void*>(aligned), total, MADV_HUGEPAGE);  // advice only: failure is harmless
  return reinterpret_cast<void*>(aligned);
}

// Freed large blocks, kept mapped for the next allocation of the same size.
//
// Without it every large tensor is a fresh mapping: the kernel zeroes its pages again at first touch,
// on every forward and every step (measured: 846 MB zeroed per batch-32 forward of the tiny
// PanAdapter, 8 % of its CPU time; PyTorch pays the same through 4 KiB faults). Sizes are whole
// multiples of 2 MiB, so the same layer asks for the same size each iteration and an exact match
// suffices. Bounds: a miss first unmaps cached blocks (largest first) while mapped memory would exceed
// 1.5 times the peak of large blocks in use; and everything cached is unmapped after 1 s
// without any large allocation or free (an idle service gives it all back). The heap trims of
// core/memory_return.h leave it alone. SPECFUSE_BLOCK_CACHE=0 turns caching off.
class LargeBlockCache {
 public:
  static LargeBlockCache& get() {
    static auto* cache = new LargeBlockCache();  // never destroyed: its thread outlives static destructors
    return *cache;
  }

  void* take(size_t total) {
    if (!enabled_) return map_large(total);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      last_use_ = Clock::now();
      auto it = free_.find(total);
      if (it != free_.end()) {
        void* block = it->second;
        free_.erase(it);
        cached_ -= total;
        in_use_ += total;
        return block;
      }
      // Mapped memory (in use + cached) stays within 1.5 times the peak of memory in use. The slack
      // matters: at exactly the peak, blocks cached for a later layer are evicted to make room for
      // this one, and a batch-32 tiny PanAdapter forward then missed 19 of its 118 large blocks.
      const size_t limit = std::max(peak_in_use_ + peak_in_use_ / 2, in_use_ + total);
      while (in_use_ + cached_ + total > limit && !free_.empty()) evict_largest_locked();
      in_use_ += total;
      peak_in_use_ = std::max(peak_in_use_, in_use_);
    }
    void* block = map_large(total);
    if (!block) {
      release_all();  // a cached block of another size may be what stands in the way
      block = map_large(total);
    }
    if (!block) {
      std::lock_guard<std::mutex> lock(mutex_);
      in_use_ -= total;
    }
    return block;
  }

  void put(void* block, size_t total) {
    if (!enabled_) {
      munmap(block, total);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      last_use_ = Clock::now();
      free_.emplace(total, block);
      cached_ += total;
      in_use_ -= total;
    }
    ensure_releaser();
    idle_.notify_one();
  }

  size_t release_all() {
    std::multimap<size_t, void*> gone;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      gone.swap(free_);
      cached_ = 0;
    }
    size_t bytes = 0;
    for (const auto& [total, block] : gone) {
      munmap(block, total);
      bytes += total;
    }
    return bytes;
  }

 private:
  LargeBlockCache() {
    const char* v = std::getenv("SPECFUSE_BLOCK_CACHE");
    enabled_ = !(v && std::string(v) == "0");
  }

  void evict_largest_locked() {
    auto it = std::prev(free_.end());
    munmap(it->second, it->first);
    cached_ -= it->first;
    free_.erase(it);
  }

  void ensure_releaser() {
    std::call_once(started_, [this] { std::thread([this] { release_when_idle(); }).detach(); });
  }

  void release_when_idle() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      idle_.wait(lock, [&] { return cached_ > 0; });
      const auto due = last_use_ + kIdleRelease;
      if (Clock::now() < due) {
        idle_.wait_until(lock, due);
        continue;  // re-read last_use_: any use meanwhile moves the deadline
      }
      lock.unlock();
      release_all();
      lock.lock();
    }
  }

  bool enabled_ = true;
  std::mutex mutex_;
  std::condition_variable idle_;
  std::multimap<size_t, void*> free_;  // block size -> block
  size_t cached_ = 0;
  size_t in_use_ = 0;       // large blocks handed out and not yet freed
  size_t peak_in_use_ = 0;  // their peak
  Clock::time_point last_use_ = Clock::now();
  std::once_flag started_;
};

// The word before the returned pointer holds the underlying block: malloc's pointer for small blocks
// (16-aligned, low bit clear), or a large block's address tagged with kLargeTag, its size in the word before.
void release(void* p) {
  if (!p) return;
  const uintptr_t stored = reinterpret_cast<uintptr_t>(static_cast<void**>(p)[-1]);
  if (stored & kLargeTag) {
    LargeBlockCache::get().put(reinterpret_cast<void*>(stored & ~kLargeTag), static_cast<size_t*>(p)[-2]);
  } else {
    std::free(reinterpret_cast<void*>(stored));
  }
}

// Returns a kAlign-aligned pointer with its block recorded just before it, or nullptr.
void* aligned_block(size_t n) {
  if (n >= kHugeFrom) {
    const size_t total = (n + kAlign + kHuge - 1) / kHuge * kHuge;
    void* block = LargeBlockCache::get().take(total);
    if (!block) return nullptr;
    void* p = static_cast<char*>(block) + kAlign;
    static_cast<void**>(p)[-1] = reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(block) | kLargeTag);
    static_cast<size_t*>(p)[-2] = total;
    return p;
  }
  void* raw = std::malloc(n + kAlign);
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

namespace {

// glibc trims a heap whenever the free memory at its top passes the trim threshold, which by default
// follows the largest block freed so far (2x, up to 64 MiB). Tensors are freed in bursts during
// every backward, so the compute thread's heap was cut back (madvise) and faulted in again on each
// step: tiny PanAdapter stage-1 training at batch 4 took 10,700 page faults a step (PyTorch from
// Python 3,200-4,900) and kernel time was 13.6 % of its CPU samples (PyTorch 4.8 %). Fixed
// thresholds keep freed memory in the heap for the next step: blocks under 4 MiB come from the heaps
// (larger ones from the block cache above), and heaps are no longer trimmed on free. Memory still
// goes back to the OS: core/memory_return.cc calls malloc_trim, which ignores the threshold, when
// JS-held tensors are freed and when a trainer is disposed. Users' own glibc settings win.
void tune_glibc_malloc() {
#if defined(__GLIBC__)
  for (const char* v : {"MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_"})
    if (std::getenv(v)) return;
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables && std::string(tunables).find("glibc.malloc.") != std::string::npos) return;
  mallopt(M_MMAP_THRESHOLD, int(kHugeFrom));
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

}  // namespace

void install_host_allocator() {
  static std::once_flag once;
  std::call_once(once, [] {
    tune_glibc_malloc();
    static HostAllocator allocator;
    c10::SetCPUAllocator(&allocator, /*priority=*/1);
  });
}

}  // namespace specfuse

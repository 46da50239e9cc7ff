#include "core/memory_return.h"

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace specfuse {
namespace {

using Clock = std::chrono::steady_clock;

// Trims leave the large-block cache (core/host_allocator.cc) alone: they are requested whenever 64 MiB
// were freed, which a loop re-allocating its large tensors does on every iteration, and emptying the
// cache each time defeated it (on a slow CI machine 2-3 of 8 re-allocated 256 MiB blocks faulted every
// page in again). The cache bounds itself and empties after 1 s idle.
void trim_heaps() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif  // other allocators return memory by their own policy
}

class MemoryReturner {
 public:
  static MemoryReturner& get() {
    static auto* r = new MemoryReturner();  // never destroyed: the detached thread outlives static destructors
    return *r;
  }
  void request() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (requested_) return;
      requested_ = true;
    }
    wake_.notify_one();
  }

 private:
  MemoryReturner() {
    std::thread([this] { loop(); }).detach();
  }
  void loop() {
    auto not_before = Clock::now();
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return requested_; });
      }
      std::this_thread::sleep_until(not_before);  // requests arriving meanwhile join this trim
      {
        std::lock_guard<std::mutex> lock(mutex_);
        requested_ = false;
      }
      const auto start = Clock::now();
      trim_heaps();
      const auto took = Clock::now() - start;
      // At most 5 % of the time, and no more than 4 trims a second: a loop that frees and
      // re-allocates hundreds of megabytes would otherwise pay the trim and the page faults of
      // touching the returned pages again on every iteration.
      not_before = Clock::now() + std::max<Clock::duration>(took * 20, std::chrono::milliseconds(250));
    }
  }
  std::mutex mutex_;
  std::condition_variable wake_;
  bool requested_ = false;
};

}  // namespace

void request_memory_return() {
  static const bool off = [] {
    const char* v = std::getenv("SPECFUSE_MEMORY_RETURN");
    return v && std::string(v) == "0";
  }();
  if (!off) MemoryReturner::get().request();
}

}  // namespace specfuse

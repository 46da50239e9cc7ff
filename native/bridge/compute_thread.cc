#include "bridge/compute_thread.h"

#include <ATen/Parallel.h>

#include "bridge/threading.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace specfuse {
namespace {

class ComputeThread {
 public:
  static ComputeThread& get() {
    // never destroyed: the detached thread outlives static destructors
    std::call_once(once_, [] { instance_.store(new ComputeThread()); });
    return *instance_.load();
  }
  // The thread if one was started: at exit, a process that never posted a task must not start it.
  static ComputeThread* started() { return instance_.load(); }
  void post(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(std::move(task));
    }
    ready_.notify_one();
  }
  // Called at process exit: no task starts from now on; returns whether one is running.
  bool close_for_exit() {
    std::lock_guard<std::mutex> lock(mutex_);
    exiting_ = true;
    return running_;
  }

 private:
  ComputeThread() {
    std::thread([this] { loop(); }).detach();
  }
  void loop() {
    recheck_team_during_tasks();
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [&] { return !queue_.empty() && !exiting_; });
        task = std::move(queue_.front());
        queue_.pop_front();
        running_ = true;
      }
      // Intra-op thread settings are per thread (OpenMP's nthreads ICV, MKL's thread-local count):
      // setNumThreads on the JS thread never reached this thread, whose MKL calls (every matmul,
      // conv and linear) then ran on one thread, and lazy initialisation only happens on ATen's
      // own parallel_for path. Apply the policy's width before each task (bridge/threading.h).
      at::set_num_threads(team_for_next_task());
      task();
      std::lock_guard<std::mutex> lock(mutex_);
      running_ = false;
    }
  }
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;
  bool running_ = false;
  bool exiting_ = false;
  static inline std::atomic<ComputeThread*> instance_{nullptr};
  static inline std::once_flag once_;
};

}  // namespace

void post_to_compute_thread(std::function<void()> task) { ComputeThread::get().post(std::move(task)); }

bool close_compute_thread_for_exit() {
  ComputeThread* t = ComputeThread::started();
  return t != nullptr && t->close_for_exit();
}

}  // namespace specfuse

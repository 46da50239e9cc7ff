#include "bridge/async.h"

#include <ATen/Parallel.h>

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

namespace specfuse {
namespace {

// One OS thread runs every task's libtorch work; libuv's pool threads only hand it over and wait.
// OpenMP keeps one thread team per calling thread: with tasks landing on any of libuv's four
// threads, up to four teams existed, and the idle ones' spin-waiting threads took the cores from
// the running one (a tiny PanAdapter forward on 2 cores: 82 ms on 1 thread, 88 ms on 2; 49 ms on 2
// with a single calling thread). PyTorch in Python calls from one thread too.
class ComputeThread {
 public:
  static ComputeThread& get() {
    static auto* thread = new ComputeThread();  // never destroyed: the detached thread outlives static destructors
    return *thread;
  }
  // Runs fn on the compute thread and waits; its exception is rethrown here.
  void run(const std::function<void()>& fn) {
    std::packaged_task<void()> task(fn);
    auto done = task.get_future();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(std::move(task));
    }
    ready_.notify_one();
    done.get();
  }

 private:
  ComputeThread() { std::thread([this] { loop(); }).detach(); }
  void loop() {
    for (;;) {
      std::packaged_task<void()> task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [&] { return !queue_.empty(); });
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();
    }
  }
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::packaged_task<void()>> queue_;
};

}  // namespace

PromiseWorker::PromiseWorker(Napi::Env env, Work work, Settle settle)
    : Napi::AsyncWorker(env, "specfuse"), deferred_(Napi::Promise::Deferred::New(env)),
      work_(std::move(work)), settle_(std::move(settle)) {}

Napi::Promise PromiseWorker::Run(Napi::Env env, std::vector<std::pair<Napi::Object, Pinnable*>> pinned, Work work,
                                 Settle settle) {
  auto* w = new PromiseWorker(env, std::move(work), std::move(settle));
  for (auto& [obj, p] : pinned) {
    w->refs_.push_back(Napi::Persistent(obj));
    if (p) {  // plain objects (an ArrayBuffer being filled) are only kept alive, not pinned
      w->pinned_.push_back(p);
      p->pin();
    }
  }
  auto promise = w->deferred_.Promise();
  w->Queue();  // the AsyncWorker deletes itself after OnOK/OnError
  return promise;
}

void PromiseWorker::Execute() {
  try {
    // Intra-op thread settings are per thread (OpenMP's nthreads ICV, MKL's thread-local count):
    // setNumThreads on the JS thread never reached the worker, whose MKL calls (every matmul, conv
    // and linear) then ran on one thread, and lazy initialisation only happens on ATen's own
    // parallel_for path. Apply the process-wide setting before each task.
    ComputeThread::get().run([this] {
      at::init_num_threads();
      work_();
    });
  } catch (...) {
    error_ = classify_current_exception();
    SetError(error_.message);
  }
}

void PromiseWorker::Release() {
  for (auto* p : pinned_) p->unpin();
  pinned_.clear();
  for (auto& r : refs_) r.Reset();
  refs_.clear();
}

void PromiseWorker::OnOK() {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  std::vector<Napi::Object> kept;
  for (auto& r : refs_) kept.push_back(r.Value());
  Release();
  try {
    deferred_.Resolve(settle_(env, kept));
  } catch (const Napi::Error& e) {
    deferred_.Reject(e.Value());
  } catch (...) {
    deferred_.Reject(make_js_error(env, classify_current_exception()).Value());
  }
}

void PromiseWorker::OnError(const Napi::Error&) {
  Release();
  deferred_.Reject(make_js_error(Env(), error_).Value());
}

}  // namespace specfuse

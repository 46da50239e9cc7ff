#include "bridge/async.h"

#include <mutex>

#include "bridge/compute_thread.h"
#include "bridge/env.h"

namespace specfuse {

// One task: its work, how to settle it, and what it pins.
struct AsyncJob {
  PromiseWorker::Work work;
  PromiseWorker::Settle settle;
  napi_deferred deferred = nullptr;
  std::vector<Napi::ObjectReference> refs;
  std::vector<Pinnable*> pinned;
  bool failed = false;
  CaughtError error;

  // JS thread only.
  void release() {
    for (auto* p : pinned) p->unpin();
    pinned.clear();
    for (auto& r : refs) r.Reset();
    refs.clear();
  }
  // Off the JS thread, once the environment is gone: its references must not be deleted from here
  // (the environment's teardown frees them).
  void abandon() {
    for (auto& r : refs) r.SuppressDestruct();
  }
};

// One per environment: the thread-safe function that wakes its JS thread when tasks are done, and
// the tasks waiting there. The compute thread never blocks on it, and it wakes the JS thread once
// per batch of completions, not once per task.
class Completions : public std::enable_shared_from_this<Completions> {
 public:
  static std::shared_ptr<Completions> create(napi_env env) {
    auto self = std::shared_ptr<Completions>(new Completions());
    napi_value name = nullptr;
    NAPI_THROW_IF_FAILED(env, napi_create_string_utf8(env, "specfuse", NAPI_AUTO_LENGTH, &name), nullptr);
    NAPI_THROW_IF_FAILED(env,
                         napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, nullptr, nullptr,
                                                         self.get(), &Completions::call_js, &self->tsfn_),
                         nullptr);
    // Not referenced while nothing is in flight: an idle addon must not keep the process alive.
    napi_unref_threadsafe_function(env, self->tsfn_);
    // Registered after the thread-safe function, so it runs before Node closes that one. It owns a
    // reference of its own: the environment's instance data may be deleted first.
    auto* hook_ref = new std::shared_ptr<Completions>(self);
    NAPI_THROW_IF_FAILED(env, napi_add_env_cleanup_hook(env, &Completions::cleanup, hook_ref), nullptr);
    return self;
  }

  // JS thread.
  void submit(napi_env env, std::unique_ptr<AsyncJob> job) {
    if (outstanding_++ == 0) napi_ref_threadsafe_function(env, tsfn_);
    post_to_compute_thread([self = shared_from_this(), raw = job.release()]() {
      std::unique_ptr<AsyncJob> job(raw);
      if (!self->closing()) {
        try {
          job->work();
        } catch (...) {
          job->failed = true;
          job->error = classify_current_exception();
        }
      }
      self->finished(std::move(job));
    });
  }

 private:
  Completions() = default;

  bool closing() {
    std::lock_guard<std::mutex> lock(mutex_);
    return closed_;
  }

  // Compute thread.
  void finished(std::unique_ptr<AsyncJob> job) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) {
      job->abandon();
      return;
    }
    done_.push_back(std::move(job));
    if (!wake_sent_) {
      wake_sent_ = true;
      napi_call_threadsafe_function(tsfn_, nullptr, napi_tsfn_nonblocking);
    }
  }

  static void call_js(napi_env env, napi_value, void* context, void*) {
    if (env == nullptr) return;  // the environment is being torn down
    static_cast<Completions*>(context)->drain(env);
  }

  // JS thread: settles every completed task.
  void drain(napi_env env) {
    std::vector<std::unique_ptr<AsyncJob>> batch;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      batch.swap(done_);
      wake_sent_ = false;
    }
    for (auto& job : batch) settle(Napi::Env(env), *job);
    outstanding_ -= int(batch.size());
    if (outstanding_ == 0) napi_unref_threadsafe_function(env, tsfn_);
  }

  static void settle(Napi::Env env, AsyncJob& job) {
    Napi::HandleScope scope(env);
    std::vector<Napi::Object> kept;
    kept.reserve(job.refs.size());
    for (auto& r : job.refs) kept.push_back(r.Value());
    job.release();
    napi_value outcome = nullptr;
    bool ok = false;
    if (job.failed) {
      outcome = make_js_error(env, job.error).Value();
    } else {
      try {
        outcome = job.settle(env, kept);
        ok = true;
      } catch (const Napi::Error& e) {
        outcome = e.Value();
      } catch (...) {
        outcome = make_js_error(env, classify_current_exception()).Value();
      }
    }
    if (ok) napi_resolve_deferred(env, job.deferred, outcome);
    else napi_reject_deferred(env, job.deferred, outcome);
  }

  // The environment is going away: drop finished tasks unsettled; tasks still running are dropped
  // by finished() without touching Node-API.
  static void cleanup(void* arg) {
    std::unique_ptr<std::shared_ptr<Completions>> hook_ref(static_cast<std::shared_ptr<Completions>*>(arg));
    Completions* self = hook_ref->get();
    std::vector<std::unique_ptr<AsyncJob>> batch;
    {
      std::lock_guard<std::mutex> lock(self->mutex_);
      self->closed_ = true;
      batch.swap(self->done_);
    }
    for (auto& job : batch) job->release();
  }

  std::mutex mutex_;
  std::vector<std::unique_ptr<AsyncJob>> done_;
  bool closed_ = false;
  bool wake_sent_ = false;
  napi_threadsafe_function tsfn_ = nullptr;
  int outstanding_ = 0;  // JS thread only: submitted and not yet settled
};

Napi::Promise PromiseWorker::Run(Napi::Env env, std::vector<std::pair<Napi::Object, Pinnable*>> pinned, Work work,
                                 Settle settle) {
  auto& data = addon_data(env);
  if (!data.completions) data.completions = Completions::create(env);
  auto job = std::make_unique<AsyncJob>();
  napi_value promise = nullptr;
  NAPI_THROW_IF_FAILED(env, napi_create_promise(env, &job->deferred, &promise), Napi::Promise());
  job->work = std::move(work);
  job->settle = std::move(settle);
  for (auto& [obj, p] : pinned) {
    job->refs.push_back(Napi::Persistent(obj));
    if (p) {  // plain objects (an ArrayBuffer being filled) are only kept alive, not pinned
      job->pinned.push_back(p);
      p->pin();
    }
  }
  data.completions->submit(env, std::move(job));
  return Napi::Promise(env, promise);
}

}  // namespace specfuse

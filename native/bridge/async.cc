#include "bridge/async.h"

#include <ATen/Parallel.h>

namespace specfuse {

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
    // setNumThreads on the JS thread never reached the libuv workers, whose MKL calls (every
    // matmul, conv and linear) then ran on one thread, and lazy initialisation only happens on
    // ATen's own parallel_for path. Apply the process-wide setting on this worker before each task.
    at::init_num_threads();
    work_();
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

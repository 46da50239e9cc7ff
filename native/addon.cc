// Module registration. Everything per environment (instance data), so the addon loads in the
// main thread and in any number of worker_threads.
#include <napi.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include <ATen/DeviceAccelerator.h>

#include "bridge/compute_thread.h"
#include "bridge/convert.h"
#include "bridge/dist_bind.h"
#include "bridge/metrics_bind.h"
#include "bridge/model_factory.h"
#include "bridge/module.h"
#include "bridge/napi_errors.h"
#include "bridge/resample_bind.h"
#include "bridge/tensor.h"
#include "bridge/threading.h"
#include "bridge/trainer.h"
#include "bridge/weights_bind.h"
#include "core/device.h"
#include "core/host_allocator.h"
#include "models/registry.h"

namespace specfuse {
namespace {

Napi::Value Memory(const Napi::CallbackInfo& info) {
  auto& m = *addon_data(info.Env()).memory;
  auto o = Napi::Object::New(info.Env());
  o.Set("tensors", double(m.tensors.load()));
  o.Set("bytes", double(m.bytes.load()));
  o.Set("modules", double(m.modules.load()));
  return o;
}

Napi::Value Devices(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    auto list = list_devices();
    auto arr = Napi::Array::New(info.Env(), list.size());
    for (uint32_t i = 0; i < list.size(); ++i) {
      auto o = Napi::Object::New(info.Env());
      o.Set("id", list[i].id);
      o.Set("type", list[i].type);
      o.Set("name", list[i].name);
      o.Set("totalMemory", double(list[i].total_memory));
      if (list[i].type == "cpu") o.Set("freeMemory", double(list[i].free_memory));
      arr.Set(i, o);
    }
    return arr;
  });
}

Napi::Value CudaStatus(const Napi::CallbackInfo& info) {
  auto o = Napi::Object::New(info.Env());
  o.Set("available", cuda_available());
  o.Set("reason", cuda_unavailable_reason());
  o.Set("deviceCount", double(cuda_device_count()));
  return o;
}

// Synchronous tensor ops on a JS thread run on one thread. A parallel region there would give that
// thread an OpenMP team of its own next to the compute thread's; with more OpenMP threads than
// cores libgomp switches every team to throttled spinning (100 spins), so the compute thread's
// workers fall asleep between the hundreds of small parallel regions of a forward and each region
// pays a futex wake-up (a tiny PanAdapter forward on 2 cores: 49 ms, 74 ms once one synchronous
// matmul had run on the JS thread). The symbols are weak: builds without MKL or OpenMP skip them.
extern "C" __attribute__((weak)) void omp_set_num_threads(int);
// MKL's C entry point (mkl.h maps mkl_set_num_threads_local to it; the lower-case symbol is the
// Fortran one, which takes a pointer).
extern "C" __attribute__((weak)) int MKL_Set_Num_Threads_Local(int);
void serial_on_js_thread() {
  (void)at::get_num_threads();  // ATen's lazy per-thread initialisation first, so it cannot undo this later
  if (omp_set_num_threads) omp_set_num_threads(1);
  if (MKL_Set_Num_Threads_Local) MKL_Set_Num_Threads_Local(1);
}

// setNumThreads(n, adaptive = false): the compute thread's intra-op team (bridge/threading.h).
Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    const int64_t n = read_int(arg_or_undefined(info, 0), "threads");
    if (n < 1 || n > 1024) throw_range("threads: must be in [1, 1024]");
    const bool adaptive = info.Length() > 1 && !info[1].IsUndefined() && read_bool(info[1], "adaptive");
    set_intra_op_threads(int(n), adaptive);
    return info.Env().Undefined();
  });
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), intra_op_threads()); }

// exitNow(code): ends the process with `code` without running exit-time destructors, as compilers do
// for their own processes (clang's -disable-free). libtorch's static destructors take about 0.15 s, a
// quarter of a `specfuse info`. The CLI calls it only once a command has finished and has nothing left
// to write: Node writes stdout/stderr synchronously on Linux (files, pipes and terminals).
Napi::Value ExitNow(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    const int64_t code = read_int(arg_or_undefined(info, 0), "code");
    if (code < 0 || code > 255) throw_range("code: must be in [0, 255]");
    std::fflush(nullptr);
    std::_Exit(int(code));
  });
}

// guardExit(code): called from process.on('exit') (lib/native.ts), just before Node calls exit(code).
// exit() runs libtorch's static destructors on the main thread; with a task still running on the
// compute thread (process.exit during a training step, a second Ctrl-C) that thread then used
// freed operator tables and the process died by SIGSEGV instead of exiting with its code. The
// handler is registered here, at exit time, so that it runs before every destructor registered
// earlier (atexit order is last in, first out); it stops further tasks and, when one is running,
// ends the process with Node's exit code without the destructors. Files are not at risk: every
// file is written under a temporary name and renamed whole.
std::atomic<int> g_exit_code{1};

void exit_guard() {
  if (!close_compute_thread_for_exit()) return;  // idle: the normal teardown is safe
  std::fflush(nullptr);
  std::_Exit(g_exit_code.load());
}

Napi::Value GuardExit(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    const int64_t code = read_int(arg_or_undefined(info, 0), "code");
    g_exit_code = int(code & 0xff);  // what exit() would report
    static std::once_flag once;
    std::call_once(once, [] { std::atexit(exit_guard); });
    return info.Env().Undefined();
  });
}

// Peak/current memory of a CUDA device's caching allocator (through libtorch's device-generic
// accelerator API, so no CUDA headers are needed at build time).
Napi::Value AcceleratorMemory(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    const c10::Device d = parse_device(read_string(arg_or_undefined(info, 0), "device"));
    if (!d.is_cuda()) throw_range("device: memory statistics are kept for CUDA devices only");
    const bool reset = info.Length() > 1 && read_bool(info[1], "resetPeak");
    auto stats = at::accelerator::getDeviceStats(d.index());
    auto o = Napi::Object::New(info.Env());
    o.Set("allocated", double(stats.allocated_bytes[0].current));
    o.Set("peakAllocated", double(stats.allocated_bytes[0].peak));
    o.Set("reserved", double(stats.reserved_bytes[0].current));
    o.Set("peakReserved", double(stats.reserved_bytes[0].peak));
    if (reset) at::accelerator::resetPeakStats(d.index());
    return o;
  });
}

Napi::Value SetCudnnBenchmark(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    at::globalContext().setBenchmarkCuDNN(read_bool(arg_or_undefined(info, 0), "on"));
    return info.Env().Undefined();
  });
}

Napi::Value ModelNames(const Napi::CallbackInfo& info) { return to_js_array(info.Env(), model_names()); }

// modelStages() -> {name: number of stages}: the registry's stage counts (stage 0 = the last).
Napi::Value ModelStages(const Napi::CallbackInfo& info) {
  auto o = Napi::Object::New(info.Env());
  for (const auto& e : model_registry()) o.Set(e.name, double(e.stages));
  return o;
}

// resolveModelConfig(name, config) -> {key: value}: the config checked by the model's C++ option
// parser (every key, type, range and cross-key rule) and completed with its defaults; nothing is built.
Napi::Value ResolveModelConfig(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    const std::string name = read_string(arg_or_undefined(info, 0), "model");
    return to_js_config(info.Env(), resolve_config(name, read_config(arg_or_undefined(info, 1), "config")));
  });
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  static std::once_flag threads_once;  // the first environment sets the default; workers keep what is set
  std::call_once(threads_once, [] { set_intra_op_threads(at::get_num_threads(), true); });
  serial_on_js_thread();
  install_host_allocator();
  env.SetInstanceData(new AddonData());
  TensorWrap::Init(env, exports);
  ModuleWrap::Init(env, exports);
  TrainerWrap::Init(env, exports);
  InitTensorFactories(env, exports);
  InitResampleBindings(env, exports);
  InitMetricsBindings(env, exports);
  InitDistBindings(env, exports);
  InitModelFactory(env, exports);
  InitWeightsBindings(env, exports);
  exports.Set("torchVersion", Napi::String::New(env, SPECFUSE_TORCH_VERSION));
  exports.Set("libtorchDir", Napi::String::New(env, libtorch_lib_dir()));
  exports.Set("memory", Napi::Function::New<Memory>(env, "memory"));
  exports.Set("devices", Napi::Function::New<Devices>(env, "devices"));
  exports.Set("cudaStatus", Napi::Function::New<CudaStatus>(env, "cudaStatus"));
  exports.Set("setNumThreads", Napi::Function::New<SetNumThreads>(env, "setNumThreads"));
  exports.Set("getNumThreads", Napi::Function::New<GetNumThreads>(env, "getNumThreads"));
  exports.Set("exitNow", Napi::Function::New<ExitNow>(env, "exitNow"));
  exports.Set("guardExit", Napi::Function::New<GuardExit>(env, "guardExit"));
  exports.Set("acceleratorMemory", Napi::Function::New<AcceleratorMemory>(env, "acceleratorMemory"));
  exports.Set("setCudnnBenchmark", Napi::Function::New<SetCudnnBenchmark>(env, "setCudnnBenchmark"));
  exports.Set("modelNames", Napi::Function::New<ModelNames>(env, "modelNames"));
  exports.Set("modelStages", Napi::Function::New<ModelStages>(env, "modelStages"));
  exports.Set("resolveModelConfig", Napi::Function::New<ResolveModelConfig>(env, "resolveModelConfig"));
  return exports;
}

}  // namespace
}  // namespace specfuse

static Napi::Object InitSpecfuse(Napi::Env env, Napi::Object exports) { return specfuse::Init(env, exports); }
NODE_API_MODULE(specfuse, InitSpecfuse)

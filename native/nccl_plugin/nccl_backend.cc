// specfuse_nccl.so: creates libtorch's own c10d::ProcessGroupNCCL (libtorch_cuda.so) for the addon.
// The only translation unit that includes ProcessGroupNCCL.hpp; built by CMakeLists.txt only when
// CUDA's and NCCL's headers and libtorch_cuda.so are found (see the interface in
// native/dist/nccl_plugin_abi.h and why it is a separate library).
//
// Compile-time definitions and the class layout. The addon allocates nothing of c10d's NCCL classes
// itself; this plugin does, inline, from the header: Options::create() and
// make_intrusive<ProcessGroupNCCL> size the objects from our view of the classes, whose constructors
// in libtorch_cuda.so then fill them in from the wheel's view. The two views must agree:
//  - USE_C10D_NCCL (set by CMakeLists.txt) is what the wheel's libtorch_cuda.so was built with; the
//    header is empty without it.
//  - ProcessGroupNCCL::Options holds an ncclConfig_t by value, whose size and fields change between
//    NCCL releases, and NCCLUtils.hpp derives NCCL_HAS_* macros from NCCL_VERSION_CODE (they only
//    switch inline functions, but follow the same version). So nccl.h must be the exact NCCL
//    version torch was built against: torch::cuda::nccl::version() returns that build-time version
//    (a constant in libtorch_cuda.so: 0x2001d0007 = 2.29.7 in the 2.13.0 wheel, whatever libnccl is
//    loaded), and create_backend() below refuses any other. The pip wheel pins
//    that version exactly (torch 2.13.0: nvidia-nccl-cu13==2.29.7), and CMakeLists.txt prefers the
//    nccl.h of the nvidia-nccl package installed beside torch.
//  - USE_ROCM / IS_NCCLX are not defined (CUDA wheel, upstream NCCL), as in the wheel's build.
#include <c10/cuda/CUDAFunctions.h>
#include <c10/util/Exception.h>
#include <torch/csrc/cuda/nccl.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>

#include <cstdio>
#include <cstring>
#include <string>

#include "dist/nccl_plugin_abi.h"

#ifndef USE_C10D_NCCL
#error "build with -DUSE_C10D_NCCL (CMakeLists.txt does): ProcessGroupNCCL.hpp is empty without it"
#endif

namespace {

std::string first_line(const std::string& s) {
  const auto end = s.find('\n');
  return end == std::string::npos ? s : s.substr(0, end);
}

std::string version_text(uint64_t major, uint64_t minor, uint64_t patch) {
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

c10::intrusive_ptr<c10d::Backend> create_backend(const SpecfuseNcclRequest& r) {
  // packed as torch.cuda.nccl.version() unpacks it: major << 32 | minor << 16 | patch
  const uint64_t built = torch::cuda::nccl::version();
  const uint64_t major = built >> 32, minor = (built >> 16) & 0xffff, patch = built & 0xffff;
  if (major != NCCL_MAJOR || minor != NCCL_MINOR || patch != NCCL_PATCH)
    throw std::runtime_error("the NCCL plugin was compiled against nccl.h " +
                             version_text(NCCL_MAJOR, NCCL_MINOR, NCCL_PATCH) + " but libtorch_cuda.so against NCCL " +
                             version_text(major, minor, patch) +
                             " (ProcessGroupNCCL's options hold NCCL's config struct by value): rebuild with the "
                             "nccl.h of that version (NCCL_INCLUDE_DIR, or pip's nvidia-nccl package of that version)");
  const int devices = c10::cuda::device_count();
  if (r.device_index < 0 || r.device_index >= devices)
    throw std::runtime_error("this rank's CUDA device cuda:" + std::to_string(r.device_index) +
                             " (LOCAL_RANK) does not exist: this machine has " + std::to_string(devices) +
                             " CUDA device(s); start at most that many ranks per machine");
  // The calling thread is specfuse's compute thread, which runs every collective and every kernel
  // afterwards: its current device is this rank's from now on (torch.cuda.set_device(LOCAL_RANK)).
  c10::cuda::set_device(c10::DeviceIndex(r.device_index));
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = std::chrono::milliseconds(r.timeout_ms);
  // The name init_process_group gives the default group (its watchdog's and flight recorder's logs,
  // and the communicator's identity, are keyed by it), as the store's "default_pg/0/" prefix is.
  options->group_name = std::string("0");  // (assigning a const char* trips GCC 12's -Wrestrict false positive)
  auto store = c10::intrusive_ptr<c10d::Store>::reclaim_copy(r.store);
  auto pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, r.rank, r.size, options);
  const at::Device device(at::kCUDA, c10::DeviceIndex(r.device_index));
  // As init_process_group(device_id=...) does: the group knows its device (barrier() uses it), and
  // the NCCL communicator is created now, so that a failing NCCL initialisation is an error of
  // initDistributed rather than of the first collective.
  pg->setBoundDeviceId(device);
  pg->eagerConnectSingleDevice(device);
  return pg;
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) const SpecfuseNcclPluginInfo* specfuse_nccl_plugin_info() {
  static const SpecfuseNcclPluginInfo info{SPECFUSE_NCCL_PLUGIN_ABI, SPECFUSE_TORCH_VERSION, NCCL_VERSION_CODE};
  return &info;
}

__attribute__((visibility("default"))) int specfuse_nccl_create(const SpecfuseNcclRequest* request,
                                                                c10d::Backend** backend, char* error, int error_size) {
  *backend = nullptr;
  std::string message;
  try {
    *backend = create_backend(*request).release();
    return 0;
  } catch (const c10::Error& e) {
    message = first_line(e.what_without_backtrace());
  } catch (const std::exception& e) {
    message = first_line(e.what());
  } catch (...) {
    message = "unknown error";
  }
  if (error && error_size > 0) std::snprintf(error, size_t(error_size), "%s", message.c_str());
  return 1;
}

}  // extern "C"

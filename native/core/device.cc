#include "core/device.h"

#include <dlfcn.h>
#include <unistd.h>

#include <fstream>
#include <mutex>
#include <regex>

#include <torch/cuda.h>

#include "core/errors.h"

namespace specfuse {
namespace {

std::once_flag cuda_once;
bool cuda_ok = false;
std::string cuda_reason = "CUDA has not been probed";

// Driver API entry points, looked up by name so no CUDA header or toolkit is needed to build.
using CuInit = int (*)(unsigned);
using CuDeviceGet = int (*)(int*, int);
using CuDeviceGetName = int (*)(char*, int, int);
using CuDeviceTotalMem = int (*)(size_t*, int);
void* libcuda = nullptr;

void probe_cuda() {
  libcuda = dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
  if (!libcuda) {
    cuda_reason = "no NVIDIA driver (libcuda.so.1 cannot be loaded)";
    return;
  }
  const std::string dir = libtorch_lib_dir();
  const std::string cuda_lib = dir + "/libtorch_cuda.so";
  if (access(cuda_lib.c_str(), R_OK) != 0) {
    cuda_reason = "this libtorch (" + dir + ") is a CPU-only build";
    return;
  }
  // libtorch_cuda registers the CUDA kernels and hooks with libtorch_cpu when it is loaded; it is not
  // linked at build time so that the same addon runs on machines without a driver.
  if (!dlopen(cuda_lib.c_str(), RTLD_NOW | RTLD_GLOBAL)) {
    const char* err = dlerror();
    cuda_reason = std::string("libtorch_cuda.so failed to load: ") + (err ? err : "unknown error");
    return;
  }
  if (!torch::cuda::is_available()) {
    cuda_reason = "the NVIDIA driver reports no usable GPU";
    return;
  }
  cuda_ok = true;
  cuda_reason.clear();
}

int64_t physical_memory() {
  const long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && size > 0 ? int64_t(pages) * size : 0;
}

int64_t available_memory() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  int64_t kb = 0;
  std::string unit;
  while (f >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024;
  return 0;
}

}  // namespace

std::string libtorch_lib_dir() {
  Dl_info info{};
  // Any symbol defined in libc10.so tells where the libtorch libraries were loaded from.
  if (dladdr(reinterpret_cast<void*>(&c10::GetAllocator), &info) && info.dli_fname) {
    std::string path = info.dli_fname;
    const auto slash = path.rfind('/');
    if (slash != std::string::npos) return path.substr(0, slash);
  }
  return ".";
}

bool cuda_available() {
  std::call_once(cuda_once, probe_cuda);
  return cuda_ok;
}

const std::string& cuda_unavailable_reason() {
  cuda_available();
  return cuda_reason;
}

int cuda_device_count() { return cuda_available() ? int(torch::cuda::device_count()) : 0; }

c10::Device parse_device(const std::string& spec, const char* arg) {
  static const std::regex re("^(cpu|cuda)(?::([0-9]{1,3}))?$");
  std::smatch m;
  if (!std::regex_match(spec, m, re))
    throw range_error(std::string(arg) + ": unknown device '" + spec + "' (expected 'cpu', 'cuda' or 'cuda:N')");
  if (m[1] == "cpu") {
    if (m[2].matched) throw range_error(std::string(arg) + ": 'cpu' takes no index");
    return c10::Device(c10::kCPU);
  }
  if (!cuda_available()) throw RuntimeError(std::string(arg) + ": CUDA is not available: " + cuda_reason);
  const int index = m[2].matched ? std::stoi(m[2]) : 0;
  if (index >= cuda_device_count())
    throw range_error(std::string(arg) + ": " + spec + " does not exist (" + std::to_string(cuda_device_count()) +
                      " CUDA device(s))");
  return c10::Device(c10::kCUDA, c10::DeviceIndex(index));
}

std::string device_name(const c10::Device& d) {
  if (d.is_cpu()) return "cpu";
  return std::string(c10::DeviceTypeName(d.type(), true)) + ":" + std::to_string(d.has_index() ? d.index() : 0);
}

std::vector<DeviceInfo> list_devices() {
  std::vector<DeviceInfo> out;
  out.push_back({"cpu", "cpu", "CPU", physical_memory(), available_memory()});
  if (!cuda_available()) return out;
  auto cu_init = reinterpret_cast<CuInit>(dlsym(libcuda, "cuInit"));
  auto cu_get = reinterpret_cast<CuDeviceGet>(dlsym(libcuda, "cuDeviceGet"));
  auto cu_name = reinterpret_cast<CuDeviceGetName>(dlsym(libcuda, "cuDeviceGetName"));
  auto cu_mem = reinterpret_cast<CuDeviceTotalMem>(dlsym(libcuda, "cuDeviceTotalMem_v2"));
  if (cu_init) cu_init(0);
  for (int i = 0; i < cuda_device_count(); ++i) {
    DeviceInfo d{"cuda:" + std::to_string(i), "cuda", "CUDA device " + std::to_string(i), 0, 0};
    int dev = 0;
    if (cu_get && cu_get(&dev, i) == 0) {
      char name[256] = {0};
      if (cu_name && cu_name(name, sizeof(name) - 1, dev) == 0) d.name = name;
      size_t total = 0;
      if (cu_mem && cu_mem(&total, dev) == 0) d.total_memory = int64_t(total);
    }
    out.push_back(d);
  }
  return out;
}

}  // namespace specfuse

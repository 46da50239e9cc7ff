// Devices: parsing 'cpu' / 'cuda' / 'cuda:N', loading libtorch's CUDA half on demand, listing GPUs.
#pragma once
#include <c10/core/Device.h>
#include <cstdint>
#include <string>
#include <vector>

namespace specfuse {

struct DeviceInfo {
  std::string id;    // "cpu", "cuda:0", ...
  std::string type;  // "cpu" | "cuda"
  std::string name;
  int64_t total_memory = 0;  // bytes; 0 when unknown (CPU: physical RAM)
  int64_t free_memory = 0;
};

// Loads libtorch_cuda.so (beside the linked libtorch_cpu.so) once per process if a driver is
// present. Returns whether CUDA can be used; `why_not()` says why when it cannot.
bool cuda_available();
const std::string& cuda_unavailable_reason();
int cuda_device_count();

// Parses a device string; throws RangeError for a malformed one and a RuntimeError when CUDA is
// asked for but cannot be used, or the index is out of range.
c10::Device parse_device(const std::string& spec, const char* arg = "device");
std::string device_name(const c10::Device& d);

std::vector<DeviceInfo> list_devices();

// The folder holding the libtorch libraries this process runs on.
std::string libtorch_lib_dir();

}  // namespace specfuse

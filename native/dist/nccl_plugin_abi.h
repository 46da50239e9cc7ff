// The interface between the addon and its NCCL plugin (native/nccl_plugin/, built as
// specfuse_nccl.so beside specfuse.node when CUDA's and NCCL's headers are found).
//
// Why a plugin: c10d::ProcessGroupNCCL lives in libtorch_cuda.so, and its header pulls in CUDA's and
// NCCL's headers. The addon links libtorch_cpu.so only and loads libtorch_cuda.so itself when a
// driver is present (core/device.cc), so that one build runs on CPU-only machines with nothing CUDA
// loaded. The plugin is the only code that includes ProcessGroupNCCL.hpp or links libtorch_cuda.so;
// the addon dlopens it (dist/nccl_loader.cc) after libtorch_cuda.so is loaded, and only for
// backend 'nccl'.
//
// Both sides run on the same libtorch (checked through specfuse_nccl_plugin_info's torch version), so
// c10d objects cross the boundary as they are; ownership crosses as one intrusive_ptr reference
// (release() on one side, reclaim() on the other). Errors cross as text, never as exceptions: the
// factory catches everything.
#pragma once
#include <cstdint>

namespace c10d {
class Store;
class Backend;
}  // namespace c10d

// Raised whenever a struct below or a function's meaning changes: a plugin built from other sources
// is refused instead of misread.
#define SPECFUSE_NCCL_PLUGIN_ABI 1

extern "C" {

struct SpecfuseNcclPluginInfo {
  int abi;                    // SPECFUSE_NCCL_PLUGIN_ABI of the plugin's sources
  const char* torch_version;  // the libtorch headers it was compiled against (MAJOR.MINOR.PATCH)
  int nccl_header_version;    // NCCL_VERSION_CODE of the nccl.h it was compiled against
};

struct SpecfuseNcclRequest {
  c10d::Store* store;  // borrowed: the plugin takes its own reference
  int rank;
  int size;
  int64_t timeout_ms;
  int device_index;  // the CUDA device this rank drives (LOCAL_RANK)
};

// Returns 0 and one owned reference to a c10d::ProcessGroupNCCL in *backend, or non-zero with a
// message (NUL-terminated, at most error_size bytes) in `error` and *backend left null.
using SpecfuseNcclCreate = int (*)(const SpecfuseNcclRequest* request, c10d::Backend** backend, char* error,
                                   int error_size);
using SpecfuseNcclInfo = const SpecfuseNcclPluginInfo* (*)();
}

#define SPECFUSE_NCCL_PLUGIN_FILE "specfuse_nccl.so"
#define SPECFUSE_NCCL_CREATE_SYMBOL "specfuse_nccl_create"
#define SPECFUSE_NCCL_INFO_SYMBOL "specfuse_nccl_plugin_info"

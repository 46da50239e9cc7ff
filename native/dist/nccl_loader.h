// c10d's NCCL process group, created by the NCCL plugin (specfuse_nccl.so beside the addon; see
// dist/nccl_plugin_abi.h for why it is a separate library). Loaded on the first backend 'nccl' group
// only, after core/device.cc has loaded libtorch_cuda.so: a CPU-only process never maps either.
#pragma once
#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

#include <chrono>
#include <string>

namespace specfuse::dist {

// Where the addon looks for the plugin: beside specfuse.node.
std::string nccl_plugin_path();

// A ProcessGroupNCCL on cuda:device_index (which becomes the compute thread's current device), its
// communicator already initialised. Throws a DistError: 'unsupported' when this process cannot run
// NCCL at all (no usable GPU, no plugin built, a plugin that does not load or was built for another
// libtorch), else classified as c10d's other failures are (timeout, failed, ...).
c10::intrusive_ptr<c10d::Backend> make_nccl_backend(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                                    std::chrono::milliseconds timeout, int device_index);

}  // namespace specfuse::dist

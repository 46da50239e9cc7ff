#include "dist/nccl_loader.h"

#include <dlfcn.h>
#include <unistd.h>

#include <mutex>

#include "core/device.h"
#include "dist/dist_errors.h"
#include "dist/nccl_plugin_abi.h"

namespace specfuse::dist {
namespace {

// What `npm run cuda` + a rebuild give: the full CUDA torch wheel brings CUDA's and NCCL's headers,
// with which CMakeLists.txt builds the plugin.
const char* const kHowToGetPlugin =
    "it is built only when CUDA's and NCCL's headers and libtorch_cuda.so are present at build time: run "
    "'npm run cuda' (adds the torch wheel's CUDA libraries and headers, then rebuilds; 'npm run build:native' "
    "rebuilds once they are there); with LIBTORCH set, point CUDA_HOME at a CUDA toolkit and NCCL_INCLUDE_DIR at "
    "the folder of the nccl.h of the NCCL version that libtorch was built with";

struct Plugin {
  SpecfuseNcclCreate create = nullptr;
  std::string error;  // why it cannot be used, when create is null
};

Plugin load_plugin() {
  Plugin p;
  const std::string path = nccl_plugin_path();
  if (access(path.c_str(), R_OK) != 0) {
    p.error = "this build has no NCCL plugin (" + path + " does not exist); " + kHowToGetPlugin;
    return p;
  }
  // RTLD_LOCAL: its symbols serve only the two we look up. libtorch_cuda.so, which it links, is
  // already loaded (cuda_available() loaded it), so this maps the plugin alone.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* err = dlerror();
    p.error = "the NCCL plugin " + path + " failed to load: " + (err ? err : "unknown error");
    return p;
  }
  auto info_fn = reinterpret_cast<SpecfuseNcclInfo>(dlsym(handle, SPECFUSE_NCCL_INFO_SYMBOL));
  auto create_fn = reinterpret_cast<SpecfuseNcclCreate>(dlsym(handle, SPECFUSE_NCCL_CREATE_SYMBOL));
  const SpecfuseNcclPluginInfo* info = info_fn ? info_fn() : nullptr;
  if (!info || !create_fn) {
    p.error = "the NCCL plugin " + path + " lacks " SPECFUSE_NCCL_INFO_SYMBOL " / " SPECFUSE_NCCL_CREATE_SYMBOL
              ": rebuild with 'npm run build:native'";
    return p;
  }
  // A plugin left from an earlier build against other sources or another libtorch would misread
  // the objects passed across: refused.
  if (info->abi != SPECFUSE_NCCL_PLUGIN_ABI || std::string(info->torch_version) != SPECFUSE_TORCH_VERSION) {
    p.error = "the NCCL plugin " + path + " was built for libtorch " + info->torch_version + " (interface " +
              std::to_string(info->abi) + ") but this addon runs on libtorch " SPECFUSE_TORCH_VERSION
              " (interface " + std::to_string(SPECFUSE_NCCL_PLUGIN_ABI) + "): rebuild with 'npm run build:native'";
    return p;
  }
  p.create = create_fn;
  return p;
}

}  // namespace

std::string nccl_plugin_path() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&nccl_plugin_path), &info) && info.dli_fname) {
    std::string addon = info.dli_fname;
    const auto slash = addon.rfind('/');
    if (slash != std::string::npos) return addon.substr(0, slash + 1) + SPECFUSE_NCCL_PLUGIN_FILE;
  }
  return SPECFUSE_NCCL_PLUGIN_FILE;
}

c10::intrusive_ptr<c10d::Backend> make_nccl_backend(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                                    std::chrono::milliseconds timeout, int device_index) {
  const std::string refused = "backend 'nccl' cannot run in this process: ";
  if (!cuda_available()) {
    // every reason at once: on a CPU machine whose build also lacks the plugin, both need fixing
    std::string why = "no usable CUDA device (" + cuda_unavailable_reason() + ")";
    if (access(nccl_plugin_path().c_str(), R_OK) != 0)
      why += "; and this build has no NCCL plugin (" + nccl_plugin_path() + " does not exist): " + kHowToGetPlugin;
    throw DistError("unsupported", refused + why);
  }
  // only once libtorch_cuda.so is loaded (the plugin links it), and only once per process
  static std::once_flag once;
  static Plugin plugin;
  std::call_once(once, [] { plugin = load_plugin(); });
  if (!plugin.create) throw DistError("unsupported", refused + plugin.error);

  SpecfuseNcclRequest request{store.get(), rank, size, int64_t(timeout.count()), device_index};
  c10d::Backend* raw = nullptr;
  char error[2048] = {0};
  const std::string during = "creating the NCCL process group (rank " + std::to_string(rank) + " of " +
                             std::to_string(size) + ", cuda:" + std::to_string(device_index) + ")";
  if (plugin.create(&request, &raw, error, int(sizeof(error))) != 0 || !raw) {
    try {
      throw std::runtime_error(error[0] ? error : "the plugin returned no process group");
    } catch (...) {
      rethrow_classified(during);
    }
  }
  return c10::intrusive_ptr<c10d::Backend>::reclaim(raw);
}

}  // namespace specfuse::dist

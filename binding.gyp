# node-gyp build of the same addon as CMakeLists.txt (npm run build:gyp -> build-gyp/).
# The libtorch folder and version come from scripts/libtorch.mjs, exactly as for cmake-js; the sources
# are compiled as a few unity translation units (scripts/unity-sources.mjs), as CMakeLists.txt does.
# native/dist/gloo_backend.cc compiles alone (target specfuse_gloo) with our declarations of gloo's
# API on its include path only: see the comment at the top of that file.
# The optional NCCL plugin (native/nccl_plugin/, specfuse_nccl.so) is not built here: its header
# search (CUDA, CCCL and NCCL headers of the exact versions torch was built with) lives in
# cmake/nccl-plugin.cmake only. A gyp-built addon answers backend 'nccl' with a DistributedError
# saying the plugin is missing; build with cmake-js (npm run build:native) for NCCL.
{
  "target_defaults": {
    "include_dirs": [
      "native",
      "<!(node -p \"require('node-addon-api').include_dir\")",
      "<!(node scripts/libtorch.mjs dir)/include",
      "<!(node scripts/libtorch.mjs dir)/include/torch/csrc/api/include"
    ],
    "defines": [
      "NAPI_VERSION=2147483647",  # experimental: GC-time finalizers (see CMakeLists.txt)
      "NODE_ADDON_API_CPP_EXCEPTIONS",
      "NODE_ADDON_API_CPP_EXCEPTIONS_ALL",
      "NODE_ADDON_API_DISABLE_DEPRECATED",
      "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS",
      "SPECFUSE_TORCH_VERSION=\"<!(node scripts/libtorch.mjs version)\""
    ],
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
    "cflags_cc": ["-std=c++20", "-fexceptions", "-frtti", "-O2", "-fPIC", "-fvisibility=hidden", "-include", "pch.h", "-Wno-unused-parameter"]
  },
  "targets": [
    {
      "target_name": "specfuse_gloo",
      "type": "static_library",
      "sources": ["native/dist/gloo_backend.cc"],
      "include_dirs": ["native/dist/gloo_api"],
      "defines": ["USE_C10D_GLOO=1"]
    },
    {
      "target_name": "specfuse",
      "dependencies": ["specfuse_gloo"],
      "sources": ["<!@(node scripts/unity-sources.mjs unity)"],
      "libraries": [
        "<!(node scripts/libtorch.mjs dir)/lib/libtorch_cpu.so",
        "<!(node scripts/libtorch.mjs dir)/lib/libc10.so",
        "-ldl",
        "-Wl,--disable-new-dtags",
        "-Wl,-rpath,<!(node scripts/libtorch.mjs dir)/lib"
      ]
    }
  ]
}

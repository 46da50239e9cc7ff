// libtorch's headers, included first in every translation unit: force-included by the unity build
// (CMakeLists.txt, binding.gyp), or precompiled with SPECFUSE_UNITY=OFF. They dominate compile time
// (about 30 s per translation unit), which is why the build keeps translation units few.
#pragma once
#include <torch/torch.h>

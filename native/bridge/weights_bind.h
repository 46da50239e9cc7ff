// loadHostArrays(module, names, arrays, shapes, dtypes) -> Promise<number>: copies host arrays
// (TypedArrays as the file readers produce them) straight into a module's parameters and buffers
// on the compute thread. One copy, off the JS thread: the WV3 PanAdapter's 640 MB of weights went
// through a Tensor per array and loadTensors on the JS thread before (a 1.35 s stall).
#pragma once
#include <napi.h>

namespace specfuse {

void InitWeightsBindings(Napi::Env env, Napi::Object exports);

}  // namespace specfuse

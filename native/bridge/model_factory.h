// Model construction off the JS thread.
//   createModule(name, config) -> Promise<NativeModule>: builds the model on the compute thread
//     (the WV3 PanAdapter's constructors draw 160 M random weights) and wraps it on the JS thread.
//   describeModel(name, config) -> Promise<{ parameters, buffers }>: names, shapes, dtypes and
//     requiresGrad of a shape-only build (models/shape_only.h): no weights allocated.
#pragma once
#include <napi.h>

namespace specfuse {

void InitModelFactory(Napi::Env env, Napi::Object exports);

}  // namespace specfuse

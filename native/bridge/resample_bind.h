// JS bindings of the Wald-protocol resampling ops (ops/resample.h) and the classical baselines
// (ops/baselines.h). Image work runs off the JS thread and settles a Promise; its input tensors are
// pinned until then. Images may be [C, H, W] (a PAN also [H, W]) or batched [N, C, H, W]; results
// keep the caller's batching. Results are float64, or float32 when the (first) image is float32,
// unless a dtype ('float32' | 'float64') is passed as the last argument.
#pragma once
#include <napi.h>

namespace specfuse {

// sensorMtf, mtfKernel, mtfFilter, filter2Replicate, decimate, imresize, bicubicDownsample,
// interp23tap, lpFilterPlusDec, waldDegrade, waldPatches, takeSamples, baselineExp, baselineBrovey,
// baselineBtH, baselineGsa, baselineMtfGlpHpm.
void InitResampleBindings(Napi::Env env, Napi::Object exports);

}  // namespace specfuse

// JS bindings of the pansharpening quality metrics (ops/metrics.h): metricsReduced, metricsFull.
#pragma once
#include <napi.h>

namespace specfuse {

void InitMetricsBindings(Napi::Env env, Napi::Object exports);

}  // namespace specfuse

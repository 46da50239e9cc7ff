// metricsReduced(fused, gt, options) and metricsFull(fused, inputs, options): argument reading and
// checks on the JS thread (so bad arguments reject at once with TypeError/RangeError naming them),
// the computation on a worker thread. Both resolve to one {metric: value} object per image.
#include "bridge/metrics_bind.h"

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "bridge/async.h"
#include "bridge/convert.h"
#include "bridge/napi_errors.h"
#include "bridge/tensor.h"
#include "ops/metrics.h"

namespace specfuse {
namespace {

using Pinned = std::vector<std::pair<Napi::Object, Pinnable*>>;

Napi::Object read_object(const Napi::Value& v, const char* arg) {
  if (v.IsUndefined()) return Napi::Object();
  if (!v.IsObject() || v.IsArray() || TensorWrap::Is(v)) throw_type(std::string(arg) + ": expected a plain object");
  return v.As<Napi::Object>();
}

Napi::Value get(const Napi::Object& o, const char* key) {
  if (o.IsEmpty() || !o.Has(key)) return Napi::Value();
  return o.Get(key);
}

bool present(const Napi::Value& v) { return !v.IsEmpty() && !v.IsUndefined() && !v.IsNull(); }

// options.metrics: the metric names to compute (default: all); an empty list is a mistake.
void read_metric_names(const Config& o, std::vector<std::string>& out) {
  out = o.get_strings("metrics", out);
  if (o.has("metrics") && out.empty()) throw_range("options.metrics: empty list");
}

// A required or optional tensor argument; records it for pinning.
torch::Tensor take(const Napi::Value& v, const std::string& name, Pinned& pinned, bool optional = false) {
  if (optional && !present(v)) return torch::Tensor();
  if (!present(v)) throw_type(name + ": expected a Tensor, got " + (v.IsNull() ? "null" : "undefined"));
  auto* w = TensorWrap::From(v, name.c_str());
  pinned.emplace_back(v.As<Napi::Object>(), w);
  return w->tensor(name.c_str());
}

Napi::Value results_to_js(Napi::Env env, const std::vector<metrics::Values>& rs) {
  auto arr = Napi::Array::New(env, rs.size());
  for (uint32_t i = 0; i < rs.size(); ++i) {
    auto o = Napi::Object::New(env);
    for (const auto& [k, v] : rs[i]) o.Set(k, Napi::Number::New(env, v));
    arr.Set(i, o);
  }
  return arr;
}

// metricsReduced(fused, gt, options?) -> Promise<Array<Record<string, number>>>
Napi::Value MetricsReduced(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Pinned pinned;
    auto fused = take(arg_or_undefined(info, 0), "fused", pinned);
    auto gt = take(arg_or_undefined(info, 1), "gt", pinned);
    const Config o = read_config(arg_or_undefined(info, 2), "options");
    metrics::ReducedOptions opts;
    opts.ratio = o.get_int("ratio", opts.ratio);
    opts.bits = o.get_int("bits", opts.bits);
    opts.block = o.get_int("blockSize", opts.block);
    opts.shift = o.get_int("q2nShift", opts.block);
    opts.dim_cut = o.get_int("dimCut", opts.dim_cut);
    opts.th_values = o.get_bool("thValues", opts.th_values);
    // PSNR/SSIM peak: by default the data range 2^L - 1 (2047 for 11-bit data, the PanCollection divisor)
    if (opts.bits >= 1 && opts.bits <= 32) opts.peak = std::ldexp(1.0, int(opts.bits)) - 1;
    opts.peak = o.get_double("peak", opts.peak);
    opts.scale = o.get_double("scale", opts.scale);
    read_metric_names(o, opts.metrics);
    o.check_all_used();
    metrics::validate_reduced(fused, gt, opts);
    auto result = std::make_shared<std::vector<metrics::Values>>();
    return PromiseWorker::Run(
        info.Env(), std::move(pinned),
        [fused, gt, opts, result]() { *result = metrics::reduced_metrics(fused, gt, opts); },
        [result](Napi::Env env, const std::vector<Napi::Object>&) { return results_to_js(env, *result); });
  });
}

// metricsFull(fused, {lms, pan?, panLP?, fusedMTF?}, options?) -> Promise<Array<Record<string, number>>>
Napi::Value MetricsFull(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Pinned pinned;
    metrics::FullInputs in;
    in.fused = take(arg_or_undefined(info, 0), "fused", pinned);
    auto inputs = read_object(arg_or_undefined(info, 1), "inputs");
    if (inputs.IsEmpty()) throw_type("inputs: expected an object {lms?, ms?, pan?, panLP?, fusedMTF?}");
    check_tensor_keys(inputs, "inputs", {"lms", "ms", "pan", "panLP", "fusedMTF"});
    in.lms = take(get(inputs, "lms"), "lms", pinned, true);
    in.ms = take(get(inputs, "ms"), "ms", pinned, true);
    in.pan = take(get(inputs, "pan"), "pan", pinned, true);
    in.pan_lp = take(get(inputs, "panLP"), "panLP", pinned, true);
    in.fused_mtf = take(get(inputs, "fusedMTF"), "fusedMTF", pinned, true);
    const Config o = read_config(arg_or_undefined(info, 2), "options");
    metrics::FullOptions opts;
    opts.ratio = o.get_int("ratio", opts.ratio);
    opts.bits = o.get_int("bits", opts.bits);
    opts.block = o.get_int("blockSize", opts.block);
    opts.th_values = o.get_bool("thValues", opts.th_values);
    opts.scale = o.get_double("scale", opts.scale);
    opts.sensor = o.get_string("sensor", opts.sensor);
    opts.p = o.get_double("p", opts.p);
    opts.q = o.get_double("q", opts.q);
    opts.alpha = o.get_double("alpha", opts.alpha);
    opts.beta = o.get_double("beta", opts.beta);
    read_metric_names(o, opts.metrics);
    o.check_all_used();
    metrics::validate_full(in, opts);
    auto result = std::make_shared<std::vector<metrics::Values>>();
    return PromiseWorker::Run(
        info.Env(), std::move(pinned), [in, opts, result]() { *result = metrics::full_metrics(in, opts); },
        [result](Napi::Env env, const std::vector<Napi::Object>&) { return results_to_js(env, *result); });
  });
}

Napi::Value MetricNames(const Napi::CallbackInfo& info) {
  auto o = Napi::Object::New(info.Env());
  o.Set("reduced", to_js_array(info.Env(), metrics::reduced_metric_names()));
  o.Set("full", to_js_array(info.Env(), metrics::full_metric_names()));
  o.Set("resample", true);  // lms, panLP and fusedMTF can be computed (ops/resample.h)
  return o;
}

}  // namespace

void InitMetricsBindings(Napi::Env env, Napi::Object exports) {
  exports.Set("metricsReduced", Napi::Function::New<MetricsReduced>(env, "metricsReduced"));
  exports.Set("metricsFull", Napi::Function::New<MetricsFull>(env, "metricsFull"));
  exports.Set("metricNames", Napi::Function::New<MetricNames>(env, "metricNames"));
}

}  // namespace specfuse

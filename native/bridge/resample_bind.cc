#include "bridge/resample_bind.h"

#include <cmath>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bridge/async.h"
#include "bridge/convert.h"
#include "bridge/napi_errors.h"
#include "bridge/tensor.h"
#include "core/dtype.h"
#include "core/shape.h"
#include "ops/baselines.h"
#include "ops/resample.h"

namespace specfuse {
namespace {

using Pins = std::vector<std::pair<Napi::Object, Pinnable*>>;

struct Image {
  torch::Tensor t;  // always [N, C, H, W]
  bool batched = false;
};

// A Tensor argument as a 4-D image: [C, H, W] -> [1, C, H, W]; a PAN may also be [H, W].
Image read_image(const Napi::CallbackInfo& info, size_t i, const char* arg, bool pan, Pins& pins) {
  auto v = arg_or_undefined(info, i);
  auto* w = TensorWrap::From(v, arg);
  pins.emplace_back(v.As<Napi::Object>(), w);
  const torch::Tensor& t = w->tensor(arg);
  if (t.dim() == 4) return {t, true};
  if (t.dim() == 3) return {t.unsqueeze(0), false};
  if (t.dim() == 2 && pan) return {t.unsqueeze(0).unsqueeze(0), false};
  throw_range(std::string(arg) +
              (pan ? ": expected [H, W], [1, H, W] or [N, 1, H, W]" : ": expected [C, H, W] or [N, C, H, W]") +
              ", got shape " + shape_str(t.sizes()));
}

void same_batching(const Image& a, const Image& b, const char* an, const char* bn) {
  if (a.batched != b.batched)
    throw_range(std::string(bn) + ": " + (b.batched ? "batched [N, C, H, W]" : "a single image") + " but " + an +
                " is " + (a.batched ? "batched [N, C, H, W]" : "a single image"));
}

// Conversion only: the ops check the ratio (range, power of two where the filter needs it), the
// sensor name and whether the image's band count fits the sensor, on the worker, with the same
// RangeErrors (the bridge no longer repeats those checks on the JS thread).
int64_t read_ratio(const Napi::CallbackInfo& info, size_t i) { return read_int(arg_or_undefined(info, i), "ratio"); }

std::string read_sensor(const Napi::CallbackInfo& info, size_t i) {
  return read_string(arg_or_undefined(info, i), "sensor");
}

// Optional trailing dtype ('float32' | 'float64'); default: float32 for a float32 reference image,
// float64 otherwise.
c10::ScalarType read_out_dtype(const Napi::CallbackInfo& info, size_t i, const torch::Tensor& ref) {
  auto v = arg_or_undefined(info, i);
  if (v.IsUndefined() || v.IsNull()) return ref.scalar_type() == torch::kFloat32 ? torch::kFloat32 : torch::kFloat64;
  const auto t = dtype_from_name(read_string(v, "dtype"), "dtype");
  if (t != torch::kFloat32 && t != torch::kFloat64) throw_range("dtype: must be 'float32' or 'float64'");
  return t;
}

torch::Tensor finish(const torch::Tensor& t, bool batched, c10::ScalarType dtype) {
  auto out = t.to(dtype);
  return batched ? out : out.squeeze(0);
}

// Runs `work` off the JS thread; resolves with one Tensor (names empty) or an object of named Tensors.
Napi::Value run(Napi::Env env, Pins pins, std::vector<std::string> names, bool batched, c10::ScalarType dtype,
                std::function<std::vector<torch::Tensor>()> work) {
  auto out = std::make_shared<std::vector<torch::Tensor>>();
  return PromiseWorker::Run(
      env, std::move(pins),
      [out, work = std::move(work), batched, dtype]() {
        torch::NoGradGuard no_grad;
        for (auto& t : work()) out->push_back(finish(t, batched, dtype));
      },
      [out, names = std::move(names)](Napi::Env env, const std::vector<Napi::Object>&) -> Napi::Value {
        if (names.empty()) return TensorWrap::Wrap(env, out->at(0));
        auto o = Napi::Object::New(env);
        for (size_t i = 0; i < names.size(); ++i) o.Set(names[i], TensorWrap::Wrap(env, out->at(i)));
        return o;
      });
}

Napi::Value Single(const Napi::CallbackInfo& info, size_t dtype_at, Image img, Pins pins,
                   std::function<torch::Tensor(const torch::Tensor&)> f) {
  const auto dtype = read_out_dtype(info, dtype_at, img.t);
  auto x = img.t;
  return run(info.Env(), std::move(pins), {}, img.batched, dtype,
             [x, f = std::move(f)]() { return std::vector<torch::Tensor>{f(x)}; });
}

// ---- sync ----------------------------------------------------------------------------------------

// sensorMtf(sensor, bands?) -> {sensor, bands, ms: number[], pan: number}
Napi::Value SensorMtf(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    const auto id = ops::canonical_sensor(read_sensor(info, 0));
    auto bv = arg_or_undefined(info, 1);
    int64_t bands = ops::sensor_band_count(id);
    if (!bv.IsUndefined()) bands = read_int(bv, "bands");
    else if (bands == 0) throw_type("bands: required for sensor 'none'");
    const auto g = ops::ms_gnyq(id, bands);
    auto env = info.Env();
    auto o = Napi::Object::New(env);
    o.Set("sensor", id);
    o.Set("bands", double(bands));
    auto arr = Napi::Array::New(env, g.size());
    for (uint32_t i = 0; i < g.size(); ++i) arr.Set(i, g[i]);
    o.Set("ms", arr);
    o.Set("pan", ops::pan_gnyq(id));
    return o;
  });
}

// sensors() -> [{id, aliases, bands}]: the sensor table (ops/sensors.h), TypeScript's source of sensor
// names and band counts (lib/data/sensors.ts).
Napi::Value Sensors(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  const auto& rows = ops::sensor_table();
  auto arr = Napi::Array::New(env, rows.size());
  for (uint32_t i = 0; i < rows.size(); ++i) {
    auto o = Napi::Object::New(env);
    o.Set("id", rows[i].id);
    o.Set("aliases", to_js_array(env, std::vector<std::string>(rows[i].aliases.begin(), rows[i].aliases.end())));
    o.Set("bands", double(rows[i].bands));
    arr.Set(i, o);
  }
  return arr;
}

// mtfKernel(kind: 'ms' | 'pan' | 'lpgauss', sensor, bands, ratio) -> Tensor ([bands, 41, 41] or [41, 41]), float64
Napi::Value MtfKernel(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    const auto kind = read_string(arg_or_undefined(info, 0), "kind");
    if (kind == "lpgauss") return TensorWrap::Wrap(info.Env(), ops::lp_gauss_kernel(read_ratio(info, 3)));
    const auto id = read_sensor(info, 1);
    if (kind == "pan") return TensorWrap::Wrap(info.Env(), ops::mtf_pan_kernel(id, read_ratio(info, 3)));
    if (kind != "ms") throw_range("kind: must be 'ms', 'pan' or 'lpgauss', got '" + kind + "'");
    const int64_t bands = read_int(arg_or_undefined(info, 2), "bands");
    return TensorWrap::Wrap(info.Env(), ops::mtf_kernels(id, bands, read_ratio(info, 3)));
  });
}

// ---- single-image ops ----------------------------------------------------------------------------

// mtfFilter(image, sensor, ratio, dtype?)
Napi::Value MtfFilter(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Pins pins;
    auto img = read_image(info, 0, "image", false, pins);
    const auto id = read_sensor(info, 1);
    const auto r = read_ratio(info, 2);
    return Single(info, 3, img, std::move(pins), [id, r](const torch::Tensor& x) { return ops::mtf_filter(x, id, r); });
  });
}

// filter2Replicate(image, kernels, dtype?)
Napi::Value Filter2Replicate(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Pins pins;
    auto img = read_image(info, 0, "image", false, pins);
    auto kv = arg_or_undefined(info, 1);
    auto* kw = TensorWrap::From(kv, "kernels");
    pins.emplace_back(kv.As<Napi::Object>(), kw);
    auto k = kw->tensor("kernels");
    return Single(info, 2, img, std::move(pins), [k](const torch::Tensor& x) { return ops::filter2_replicate(x, k); });
  });
}

// decimate(image, ratio, dtype?)
Napi::Value Decimate(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Pins pins;
    auto img = read_image(info, 0, "image", true, pins);
    const auto r = read_ratio(info, 1);
    return Single(info, 2, img, std::move(pins), [r](const torch::Tensor& x) { return ops::decimate_nearest(x, r); });
  });
}

// imresize(image, scale, antialias, dtype?)
Napi::Value Imresize(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Pins pins;
    auto img = read_image(info, 0, "image", true, pins);
    const double scale = read_number(arg_or_undefined(info, 1), "scale");
    if (!(scale > 0) || !std::isfinite(scale) || scale > 64) throw_range("scale: must be a number in (0, 64]");
    auto av = arg_or_undefined(info, 2);
    const bool aa = av.IsUndefined() ? true : read_bool(av, "antialias");
    return Single(info, 3, img, std::move(pins),
                  [scale, aa](const torch::Tensor& x) { return ops::imresize_bicubic(x, scale, aa); });
  });
}

// bicubicDownsample(image, ratio, dtype?)
Napi::Value BicubicDownsample(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Pins pins;
    auto img = read_image(info, 0, "image", true, pins);
    const auto r = read_ratio(info, 1);
    return Single(info, 2, img, std::move(pins), [r](const torch::Tensor& x) { return ops::bicubic_torch(x, r); });
  });
}

// interp23tap(image, ratio, dtype?)
Napi::Value Interp23tap(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Pins pins;
    auto img = read_image(info, 0, "image", true, pins);
    const auto r = read_ratio(info, 1);
    return Single(info, 2, img, std::move(pins), [r](const torch::Tensor& x) { return ops::interp23tap(x, r); });
  });
}

// lpFilterPlusDec(image, ratio, dtype?)
Napi::Value LpFilterPlusDec(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Pins pins;
    auto img = read_image(info, 0, "image", true, pins);
    const auto r = read_ratio(info, 1);
    return Single(info, 2, img, std::move(pins), [r](const torch::Tensor& x) { return ops::lp_plus_dec(x, r); });
  });
}

// ---- Wald's protocol -----------------------------------------------------------------------------

const std::vector<std::string> kSetNames = {"gt", "lms", "ms", "pan"};

// waldDegrade(ms, pan, sensor, ratio, panMtf, dtype?) -> {gt, lms, ms, pan}
Napi::Value WaldDegrade(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Pins pins;
    auto ms = read_image(info, 0, "ms", false, pins);
    auto pan = read_image(info, 1, "pan", true, pins);
    same_batching(ms, pan, "ms", "pan");
    const auto id = read_sensor(info, 2);
    const auto r = read_ratio(info, 3);
    ops::WaldOptions o;
    auto pv = arg_or_undefined(info, 4);
    if (!pv.IsUndefined()) o.pan_mtf = read_bool(pv, "panMtf");
    const auto dtype = read_out_dtype(info, 5, ms.t);
    auto a = ms.t, b = pan.t;
    return run(info.Env(), std::move(pins), kSetNames, ms.batched, dtype, [a, b, id, r, o]() {
      auto s = ops::wald_degrade(a, b, id, r, o);
      return std::vector<torch::Tensor>{s.gt, s.lms, s.ms, s.pan};
    });
  });
}

// waldPatches(ms, pan, sensor, ratio, patch, stride, flips, panMtf, dtype?) -> {gt, lms, ms, pan} (always batched)
Napi::Value WaldPatches(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Pins pins;
    auto ms = read_image(info, 0, "ms", false, pins);
    auto pan = read_image(info, 1, "pan", true, pins);
    same_batching(ms, pan, "ms", "pan");
    const auto id = read_sensor(info, 2);
    const auto r = read_ratio(info, 3);
    ops::PatchOptions o;
    o.patch = read_int(arg_or_undefined(info, 4), "patch");
    o.stride = read_int(arg_or_undefined(info, 5), "stride");
    o.flips = read_bool(arg_or_undefined(info, 6), "flips");
    o.wald.pan_mtf = read_bool(arg_or_undefined(info, 7), "panMtf");
    auto dv = arg_or_undefined(info, 8);
    const auto dtype = (dv.IsUndefined() || dv.IsNull()) ? torch::kFloat64 : read_out_dtype(info, 8, ms.t);
    auto a = ms.t, b = pan.t;
    return run(info.Env(), std::move(pins), kSetNames, true, dtype, [a, b, id, r, o]() {
      auto s = ops::wald_patches(a, b, id, r, o);
      return std::vector<torch::Tensor>{s.gt, s.lms, s.ms, s.pan};
    });
  });
}

// takeSamples(tensor, indices: number[]) -> Promise<Tensor>: rows `indices` of dim 0, same dtype.
Napi::Value TakeSamples(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Pins pins;
    auto v = arg_or_undefined(info, 0);
    auto* w = TensorWrap::From(v, "tensor");
    pins.emplace_back(v.As<Napi::Object>(), w);
    auto t = w->tensor("tensor");
    if (t.dim() < 1) throw_range("tensor: needs at least one dimension");
    auto iv = arg_or_undefined(info, 1);
    if (!iv.IsArray()) throw_type("indices: expected an array of integers");
    auto arr = iv.As<Napi::Array>();
    std::vector<int64_t> idx;
    idx.reserve(arr.Length());
    for (uint32_t i = 0; i < arr.Length(); ++i) idx.push_back(read_int(arr.Get(i), "indices[i]"));
    for (size_t i = 0; i < idx.size(); ++i)
      if (idx[i] < 0 || idx[i] >= t.size(0))
        throw_range("indices[" + std::to_string(i) + "]: " + std::to_string(idx[i]) + " is out of range for " +
                    std::to_string(t.size(0)) + " samples");
    return run(info.Env(), std::move(pins), {}, true, t.scalar_type(), [t, idx]() {
      auto it = torch::tensor(idx, torch::TensorOptions().dtype(torch::kLong)).to(t.device());
      return std::vector<torch::Tensor>{t.index_select(0, it).contiguous()};
    });
  });
}

// ---- baselines -----------------------------------------------------------------------------------

// baselineExp(ms, ratio, dtype?)
Napi::Value BaselineExp(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Pins pins;
    auto img = read_image(info, 0, "ms", false, pins);
    const auto r = read_ratio(info, 1);
    return Single(info, 2, img, std::move(pins), [r](const torch::Tensor& x) { return ops::exp_baseline(x, r); });
  });
}

// baselineBrovey(lms, pan, dtype?)
Napi::Value BaselineBrovey(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Pins pins;
    auto lms = read_image(info, 0, "lms", false, pins);
    auto pan = read_image(info, 1, "pan", true, pins);
    same_batching(lms, pan, "lms", "pan");
    const auto dtype = read_out_dtype(info, 2, lms.t);
    auto a = lms.t, b = pan.t;
    return run(info.Env(), std::move(pins), {}, lms.batched, dtype,
               [a, b]() { return std::vector<torch::Tensor>{ops::brovey(a, b)}; });
  });
}

// baselineBtH(lms, pan, ratio, dtype?)
Napi::Value BaselineBtH(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Pins pins;
    auto lms = read_image(info, 0, "lms", false, pins);
    auto pan = read_image(info, 1, "pan", true, pins);
    same_batching(lms, pan, "lms", "pan");
    const auto r = read_ratio(info, 2);
    const auto dtype = read_out_dtype(info, 3, lms.t);
    auto a = lms.t, b = pan.t;
    return run(info.Env(), std::move(pins), {}, lms.batched, dtype,
               [a, b, r]() { return std::vector<torch::Tensor>{ops::bt_h(a, b, r)}; });
  });
}

// baselineGsa(lms, pan, ms, ratio, dtype?)
Napi::Value BaselineGsa(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Pins pins;
    auto lms = read_image(info, 0, "lms", false, pins);
    auto pan = read_image(info, 1, "pan", true, pins);
    auto ms = read_image(info, 2, "ms", false, pins);
    same_batching(lms, pan, "lms", "pan");
    same_batching(lms, ms, "lms", "ms");
    const auto r = read_ratio(info, 3);
    const auto dtype = read_out_dtype(info, 4, lms.t);
    auto a = lms.t, b = pan.t, c = ms.t;
    return run(info.Env(), std::move(pins), {}, lms.batched, dtype,
               [a, b, c, r]() { return std::vector<torch::Tensor>{ops::gsa(a, b, c, r)}; });
  });
}

// baselineMtfGlpHpm(lms, pan, sensor, ratio, dtype?)
Napi::Value BaselineMtfGlpHpm(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Pins pins;
    auto lms = read_image(info, 0, "lms", false, pins);
    auto pan = read_image(info, 1, "pan", true, pins);
    same_batching(lms, pan, "lms", "pan");
    const auto id = read_sensor(info, 2);
    const auto r = read_ratio(info, 3);
    const auto dtype = read_out_dtype(info, 4, lms.t);
    auto a = lms.t, b = pan.t;
    return run(info.Env(), std::move(pins), {}, lms.batched, dtype,
               [a, b, id, r]() { return std::vector<torch::Tensor>{ops::mtf_glp_hpm(a, b, id, r)}; });
  });
}

}  // namespace

void InitResampleBindings(Napi::Env env, Napi::Object exports) {
  const std::pair<const char*, Napi::Function::Callback> fns[] = {
      {"sensors", Sensors},
      {"sensorMtf", SensorMtf},
      {"mtfKernel", MtfKernel},
      {"mtfFilter", MtfFilter},
      {"filter2Replicate", Filter2Replicate},
      {"decimate", Decimate},
      {"imresize", Imresize},
      {"bicubicDownsample", BicubicDownsample},
      {"interp23tap", Interp23tap},
      {"lpFilterPlusDec", LpFilterPlusDec},
      {"waldDegrade", WaldDegrade},
      {"waldPatches", WaldPatches},
      {"takeSamples", TakeSamples},
      {"baselineExp", BaselineExp},
      {"baselineBrovey", BaselineBrovey},
      {"baselineBtH", BaselineBtH},
      {"baselineGsa", BaselineGsa},
      {"baselineMtfGlpHpm", BaselineMtfGlpHpm},
  };
  for (const auto& [name, fn] : fns) exports.Set(name, Napi::Function::New(env, fn, name));
}

}  // namespace specfuse

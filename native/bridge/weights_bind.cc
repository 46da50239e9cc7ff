#include "bridge/weights_bind.h"

#include <map>
#include <sstream>

#include "bridge/async.h"
#include "bridge/convert.h"
#include "bridge/module.h"
#include "bridge/napi_errors.h"
#include "core/dtype.h"

namespace specfuse {
namespace {

struct HostCopy {
  torch::Tensor dst;
  const void* src;
  std::vector<int64_t> shape;
  c10::ScalarType dtype;
};

Napi::Value LoadHostArrays(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    ModuleWrap* module = ModuleWrap::From(arg_or_undefined(info, 0), "module");
    Napi::Object module_obj = info[0].As<Napi::Object>();
    if (module->busy()) throw RuntimeError("load: module is in use by a pending async operation; await it first");
    auto names = arg_or_undefined(info, 1), arrays = arg_or_undefined(info, 2), shapes = arg_or_undefined(info, 3),
         dtypes = arg_or_undefined(info, 4);
    for (auto [v, what] : {std::pair{names, "names"}, {arrays, "arrays"}, {shapes, "shapes"}, {dtypes, "dtypes"}})
      if (!v.IsArray()) throw_type(std::string(what) + ": expected an array");
    const uint32_t n = names.As<Napi::Array>().Length();
    if (arrays.As<Napi::Array>().Length() != n || shapes.As<Napi::Array>().Length() != n ||
        dtypes.As<Napi::Array>().Length() != n)
      throw_range("names, arrays, shapes and dtypes must have the same length");

    std::map<std::string, torch::Tensor> targets;
    for (const auto& p : module->model("load").named_parameters(true)) targets.emplace(p.key(), p.value());
    for (const auto& b : module->model("load").named_buffers(true)) targets.emplace(b.key(), b.value());

    std::vector<std::pair<Napi::Object, Pinnable*>> pinned{{module_obj, module}};
    std::vector<HostCopy> copies;
    copies.reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
      const std::string name = read_string(names.As<Napi::Array>().Get(i), "names[i]");
      auto it = targets.find(name);
      if (it == targets.end()) throw_range("'" + name + "' is not a parameter or buffer of this module");
      auto shape = read_int_list(shapes.As<Napi::Array>().Get(i), "shapes[i]");
      const c10::ScalarType dtype = dtype_from_name(read_string(dtypes.As<Napi::Array>().Get(i), "dtypes[i]"));
      if (c10::IntArrayRef(shape) != it->second.sizes()) {
        std::ostringstream s;
        s << "'" << name << "' has shape " << c10::IntArrayRef(shape) << ", the module expects " << it->second.sizes();
        throw_range(s.str());
      }
      auto arr = arrays.As<Napi::Array>().Get(i);
      if (!arr.IsTypedArray()) throw_type("arrays[" + std::to_string(i) + "]: expected a TypedArray");
      auto ta = arr.As<Napi::TypedArray>();
      // bool arrives as bytes; float16/bfloat16 as their raw 16-bit patterns
      const c10::ScalarType storage = dtype == c10::kBool ? c10::kByte : dtype;
      const size_t want = size_t(it->second.numel()) * c10::elementSize(storage);
      if (ta.ByteLength() != want)
        throw_range("arrays[" + std::to_string(i) + "]: " + std::to_string(ta.ByteLength()) + " bytes for '" + name +
                    "', expected " + std::to_string(want));
      auto* base = static_cast<const uint8_t*>(ta.ArrayBuffer().Data());
      copies.push_back({it->second, base ? base + ta.ByteOffset() : nullptr, std::move(shape), dtype});
      pinned.emplace_back(ta.ArrayBuffer(), nullptr);  // kept alive until the copy is done
    }
    return PromiseWorker::Run(
        info.Env(), std::move(pinned),
        [copies = std::move(copies)]() {
          torch::NoGradGuard no_grad;
          for (const auto& c : copies) {
            if (c.dst.numel() == 0) continue;
            const c10::ScalarType storage = c.dtype == c10::kBool ? c10::kByte : c.dtype;
            auto src = torch::from_blob(const_cast<void*>(c.src), c.shape, torch::TensorOptions().dtype(storage));
            c.dst.copy_(c.dtype == c10::kBool ? src.ne(0) : src);
          }
        },
        [n](Napi::Env env, const std::vector<Napi::Object>&) -> Napi::Value {
          return Napi::Number::New(env, double(n));
        });
  });
}

}  // namespace

void InitWeightsBindings(Napi::Env env, Napi::Object exports) {
  exports.Set("loadHostArrays", Napi::Function::New<LoadHostArrays>(env, "loadHostArrays"));
}

}  // namespace specfuse

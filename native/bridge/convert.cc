#include "bridge/convert.h"

#include <cmath>

#include "bridge/napi_errors.h"
#include "bridge/tensor.h"

namespace specfuse {
namespace {
constexpr double kMaxSafe = 9007199254740991.0;  // Number.MAX_SAFE_INTEGER
}

int64_t read_int(const Napi::Value& v, const char* arg) {
  if (!v.IsNumber())
    throw_type(std::string(arg) + ": expected an integer, got " + (v.IsUndefined() ? "undefined" : "a non-number"));
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::floor(d) != d)
    throw_range(std::string(arg) + ": expected an integer, got " + std::to_string(d));
  if (std::fabs(d) > kMaxSafe) throw_range(std::string(arg) + ": integer out of range");
  return int64_t(d);
}

double read_number(const Napi::Value& v, const char* arg) {
  if (!v.IsNumber()) throw_type(std::string(arg) + ": expected a number");
  return v.As<Napi::Number>().DoubleValue();
}

bool read_bool(const Napi::Value& v, const char* arg) {
  if (!v.IsBoolean()) throw_type(std::string(arg) + ": expected a boolean");
  return v.As<Napi::Boolean>().Value();
}

std::string read_string(const Napi::Value& v, const char* arg) {
  if (!v.IsString()) throw_type(std::string(arg) + ": expected a string");
  return v.As<Napi::String>().Utf8Value();
}

std::vector<int64_t> read_int_list(const Napi::Value& v, const char* arg) {
  if (!v.IsArray()) throw_type(std::string(arg) + ": expected an array of integers");
  auto a = v.As<Napi::Array>();
  if (a.Length() > 64) throw_range(std::string(arg) + ": at most 64 dimensions");
  std::vector<int64_t> out;
  out.reserve(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i)
    out.push_back(read_int(a.Get(i), (std::string(arg) + "[" + std::to_string(i) + "]").c_str()));
  return out;
}

std::vector<int64_t> read_shape(const Napi::Value& v, const char* arg) {
  auto dims = read_int_list(v, arg);
  double total = 1;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] < 0)
      throw_range(std::string(arg) + "[" + std::to_string(i) + "]: dimension must be >= 0, got " +
                  std::to_string(dims[i]));
    total *= double(dims[i]);
  }
  if (total > double(int64_t(1) << 48)) throw_range(std::string(arg) + ": too many elements");
  return dims;
}

Napi::Value arg_or_undefined(const Napi::CallbackInfo& info, size_t i) {
  return i < info.Length() ? info[i] : info.Env().Undefined();
}

Config read_config(const Napi::Value& v, const char* arg) {
  Config c(arg);
  if (v.IsUndefined() || v.IsNull()) return c;
  if (!v.IsObject() || v.IsArray() || TensorWrap::Is(v)) throw_type(std::string(arg) + ": expected a plain object");
  auto o = v.As<Napi::Object>();
  auto keys = o.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    const std::string k = keys.Get(i).As<Napi::String>().Utf8Value();
    const std::string name = std::string(arg) + "." + k;
    auto val = o.Get(k);
    if (val.IsUndefined()) continue;  // an absent option, as TypeScript's optional fields pass it
    if (val.IsNumber()) c.set(k, val.As<Napi::Number>().DoubleValue());
    else if (val.IsBoolean()) c.set(k, val.As<Napi::Boolean>().Value());
    else if (val.IsString()) c.set(k, val.As<Napi::String>().Utf8Value());
    else if (val.IsArray()) {
      auto a = val.As<Napi::Array>();
      std::vector<std::string> items;
      for (uint32_t j = 0; j < a.Length(); ++j)
        items.push_back(read_string(a.Get(j), (name + "[" + std::to_string(j) + "]").c_str()));
      c.set(k, std::move(items));
    } else {
      throw_type(name + ": expected a number, boolean, string or array of strings");
    }
  }
  return c;
}

Napi::Object to_js_config(Napi::Env env, const std::map<std::string, Config::Value>& values) {
  auto o = Napi::Object::New(env);
  for (const auto& [k, v] : values) {
    if (const double* d = std::get_if<double>(&v)) o.Set(k, Napi::Number::New(env, *d));
    else if (const bool* b = std::get_if<bool>(&v)) o.Set(k, Napi::Boolean::New(env, *b));
    else if (const std::string* s = std::get_if<std::string>(&v)) o.Set(k, Napi::String::New(env, *s));
    else o.Set(k, to_js_array(env, std::get<std::vector<std::string>>(v)));
  }
  return o;
}

Napi::Array to_js_shape(Napi::Env env, c10::IntArrayRef sizes) {
  auto a = Napi::Array::New(env, sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i) a.Set(uint32_t(i), Napi::Number::New(env, double(sizes[i])));
  return a;
}

void check_tensor_keys(const Napi::Object& o, const char* arg, const std::vector<std::string>& known) {
  if (o.IsEmpty()) return;
  auto keys = o.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    const std::string k = keys.Get(i).As<Napi::String>().Utf8Value();
    bool ok = false;
    for (const auto& n : known) ok = ok || n == k;
    if (!ok) {
      std::string list;
      for (const auto& n : known) list += (list.empty() ? "" : ", ") + n;
      throw_range(std::string(arg) + "." + k + ": unknown input (known: " + list + ")");
    }
  }
}

}  // namespace specfuse

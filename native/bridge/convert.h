// Reading JS arguments with errors that name the argument: shapes, dims, strings, numbers.
#pragma once
#include <napi.h>

#include <map>
#include <string>
#include <vector>

#include <c10/core/ScalarType.h>

#include "core/config.h"

namespace specfuse {

// A shape: array of non-negative safe integers. Throws TypeError / RangeError naming `arg`.
std::vector<int64_t> read_shape(const Napi::Value& v, const char* arg);
// A list of integers (may be negative, e.g. dims or strides).
std::vector<int64_t> read_int_list(const Napi::Value& v, const char* arg);
int64_t read_int(const Napi::Value& v, const char* arg);
double read_number(const Napi::Value& v, const char* arg);
bool read_bool(const Napi::Value& v, const char* arg);
std::string read_string(const Napi::Value& v, const char* arg);
Napi::Value arg_or_undefined(const Napi::CallbackInfo& info, size_t i);

// THE way the bridge reads an options object (model configs; forward, call, trainer and metric
// options): a flat object (number | boolean | string | string[] values; undefined = absent) as a
// Config named `arg`. The consumer reads each key with a typed getter, then Config::check_all_used
// rejects any other key with a RangeError naming it ("options.stgae: unknown option (known: ...)").
Config read_config(const Napi::Value& v, const char* arg);

// A resolved Config (models/registry.h resolve_config) back as a plain object.
Napi::Object to_js_config(Napi::Env env, const std::map<std::string, Config::Value>& values);

// For objects of named Tensors (metric inputs), which are not options: every key must be in
// `known`, else a RangeError naming it ("inputs.panLp: unknown input (known: ...)").
void check_tensor_keys(const Napi::Object& o, const char* arg, const std::vector<std::string>& known);

Napi::Array to_js_shape(Napi::Env env, c10::IntArrayRef sizes);

// A JS array of numbers or strings from a vector of them.
template <class T>
Napi::Array to_js_array(Napi::Env env, const std::vector<T>& values) {
  auto a = Napi::Array::New(env, values.size());
  for (uint32_t i = 0; i < values.size(); ++i) a.Set(i, values[i]);
  return a;
}

}  // namespace specfuse

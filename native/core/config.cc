#include "core/config.h"

#include <cmath>

#include "core/errors.h"

namespace specfuse {

const Config::Value* Config::find(const std::string& key) const {
  used_.insert(key);
  auto it = values_.find(key);
  return it == values_.end() ? nullptr : &it->second;
}

int64_t Config::get_int(const std::string& key, int64_t fallback) const {
  const Value* v = find(key);
  if (!v) return fallback;
  const double* d = std::get_if<double>(v);
  if (!d || std::floor(*d) != *d || !std::isfinite(*d)) throw type_error("config." + key + ": expected an integer");
  return int64_t(*d);
}

double Config::get_double(const std::string& key, double fallback) const {
  const Value* v = find(key);
  if (!v) return fallback;
  const double* d = std::get_if<double>(v);
  if (!d) throw type_error("config." + key + ": expected a number");
  return *d;
}

bool Config::get_bool(const std::string& key, bool fallback) const {
  const Value* v = find(key);
  if (!v) return fallback;
  const bool* b = std::get_if<bool>(v);
  if (!b) throw type_error("config." + key + ": expected a boolean");
  return *b;
}

std::string Config::get_string(const std::string& key, const std::string& fallback) const {
  const Value* v = find(key);
  if (!v) return fallback;
  const std::string* s = std::get_if<std::string>(v);
  if (!s) throw type_error("config." + key + ": expected a string");
  return *s;
}

void Config::check_all_used(const std::string& what) const {
  for (const auto& [k, v] : values_)
    if (!used_.count(k)) throw range_error(what + ": unknown option '" + k + "'");
}

}  // namespace specfuse

namespace specfuse {

void check_range(int64_t v, const char* key, int64_t lo, int64_t hi) {
  if (v < lo || v > hi)
    throw range_error(std::string("config.") + key + ": must be in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                      "], got " + std::to_string(v));
}

}  // namespace specfuse

#include "core/config.h"

#include <cmath>

#include "core/errors.h"

namespace specfuse {

const Config::Value* Config::find(const std::string& key) const {
  if (used_.insert(key).second) asked_.push_back(key);
  auto it = values_.find(key);
  return it == values_.end() ? nullptr : &it->second;
}

int64_t Config::get_int(const std::string& key, int64_t fallback) const {
  const Value* v = find(key);
  if (!v) {
    remember(key, double(fallback));
    return fallback;
  }
  const double* d = std::get_if<double>(v);
  // a TypeError for the wrong kind of value, a RangeError for a number that is not an integer
  if (!d) throw type_error(what_ + "." + key + ": expected an integer");
  if (!std::isfinite(*d) || std::floor(*d) != *d || std::fabs(*d) > 9007199254740991.0)
    throw range_error(what_ + "." + key + ": expected an integer, got " + std::to_string(*d));
  remember(key, *d);
  return int64_t(*d);
}

double Config::get_double(const std::string& key, double fallback) const {
  const Value* v = find(key);
  if (!v) return remember(key, fallback);
  const double* d = std::get_if<double>(v);
  if (!d) throw type_error(what_ + "." + key + ": expected a number");
  return remember(key, *d);
}

bool Config::get_bool(const std::string& key, bool fallback) const {
  const Value* v = find(key);
  if (!v) return remember(key, fallback);
  const bool* b = std::get_if<bool>(v);
  if (!b) throw type_error(what_ + "." + key + ": expected a boolean");
  return remember(key, *b);
}

std::string Config::get_string(const std::string& key, const std::string& fallback) const {
  const Value* v = find(key);
  if (!v) return remember(key, fallback);
  const std::string* s = std::get_if<std::string>(v);
  if (!s) throw type_error(what_ + "." + key + ": expected a string");
  return remember(key, *s);
}

std::vector<std::string> Config::get_strings(const std::string& key, const std::vector<std::string>& fallback) const {
  const Value* v = find(key);
  if (!v) return remember(key, fallback);
  const auto* s = std::get_if<std::vector<std::string>>(v);
  if (!s) throw type_error(what_ + "." + key + ": expected an array of strings");
  return remember(key, *s);
}

void Config::check_all_used(const std::string& what) const {
  for (const auto& [k, v] : values_) {
    if (used_.count(k)) continue;
    std::string known;
    for (const auto& a : asked_) known += (known.empty() ? "" : ", ") + a;
    throw range_error(what + "." + k + ": unknown option (known: " + known + ")");
  }
}

void check_range(int64_t v, const char* key, int64_t lo, int64_t hi) {
  if (v < lo || v > hi)
    throw range_error(std::string("config.") + key + ": must be in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                      "], got " + std::to_string(v));
}

}  // namespace specfuse

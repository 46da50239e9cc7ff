// A model configuration as passed from TypeScript: flat key -> number | boolean | string.
// TypeScript validates configs at the edge; this class re-checks types and rejects unknown keys,
// so a config never silently half-applies.
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <variant>

namespace specfuse {

class Config {
 public:
  using Value = std::variant<double, bool, std::string>;

  void set(const std::string& key, Value v) { values_[key] = std::move(v); }
  bool has(const std::string& key) const { return values_.count(key) > 0; }

  int64_t get_int(const std::string& key, int64_t fallback) const;
  double get_double(const std::string& key, double fallback) const;
  bool get_bool(const std::string& key, bool fallback) const;
  std::string get_string(const std::string& key, const std::string& fallback) const;

  // Throws RangeError naming the first key no getter asked for.
  void check_all_used(const std::string& what) const;

 private:
  const Value* find(const std::string& key) const;
  std::map<std::string, Value> values_;
  mutable std::set<std::string> used_;
};

// Throws RangeError "config.<key>: must be in [lo, hi], got v".
void check_range(int64_t v, const char* key, int64_t lo, int64_t hi);

}  // namespace specfuse

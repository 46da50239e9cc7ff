// A flat option set as passed from JavaScript: key -> number | boolean | string | string list. The
// one C++ form of every options object the bridge reads (model configs, forward/call/trainer and
// metric options): the bridge converts (bridge/convert.h read_config), the consumer reads each key
// through a typed getter and then calls check_all_used, so a misspelt key is a RangeError naming it
// instead of an option silently left at its default.
//
// For model configs the C++ option parsers (models/*_options) are the one authority on limits: each
// getter checks the type, the parser the range and the cross-key rules. TypeScript keeps the typed
// presets and the key lists only (test/models/config-parity.test.ts holds the two together).
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <variant>
#include <vector>

namespace specfuse {

class Config {
 public:
  using Value = std::variant<double, bool, std::string, std::vector<std::string>>;

  // `what` names the object in errors: "config.bands: expected an integer", "options.stgae: ...".
  explicit Config(std::string what = "config") : what_(std::move(what)) {}

  void set(const std::string& key, Value v) { values_[key] = std::move(v); }
  bool has(const std::string& key) const { return values_.count(key) > 0; }
  const std::string& what() const { return what_; }

  int64_t get_int(const std::string& key, int64_t fallback) const;
  double get_double(const std::string& key, double fallback) const;
  bool get_bool(const std::string& key, bool fallback) const;
  std::string get_string(const std::string& key, const std::string& fallback) const;
  std::vector<std::string> get_strings(const std::string& key, const std::vector<std::string>& fallback) const;

  // Throws RangeError "<what>.<key>: unknown option (known: a, b)" for the first key no getter asked
  // for; the known keys are those the getters asked for, in the order they asked.
  void check_all_used() const { check_all_used(what_); }
  void check_all_used(const std::string& what) const;

  // Every key a getter asked for, with the value it returned (the given one or the fallback): the
  // parsed configuration in its own keys, so TypeScript can compare its presets with C++'s defaults.
  const std::map<std::string, Value>& resolved() const { return resolved_; }

 private:
  const Value* find(const std::string& key) const;
  template <class T>
  T remember(const std::string& key, T v) const {
    resolved_[key] = Value(v);
    return v;
  }
  std::string what_;
  std::map<std::string, Value> values_;
  mutable std::set<std::string> used_;
  mutable std::vector<std::string> asked_;  // used_ in asking order, for the "known" list
  mutable std::map<std::string, Value> resolved_;
};

// Throws RangeError "config.<key>: must be in [lo, hi], got v".
void check_range(int64_t v, const char* key, int64_t lo, int64_t hi);

}  // namespace specfuse

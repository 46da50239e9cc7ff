#include "core/dtype.h"

#include <utility>
#include <vector>

#include "core/errors.h"

namespace specfuse {
namespace {
const std::vector<std::pair<std::string, c10::ScalarType>>& table() {
  static const std::vector<std::pair<std::string, c10::ScalarType>> t = {
      {"float32", c10::kFloat}, {"float64", c10::kDouble}, {"float16", c10::kHalf}, {"bfloat16", c10::kBFloat16},
      {"int64", c10::kLong},    {"int32", c10::kInt},      {"int16", c10::kShort},  {"int8", c10::kChar},
      {"uint8", c10::kByte},    {"uint16", c10::kUInt16},  {"bool", c10::kBool},
  };
  return t;
}
}  // namespace

c10::ScalarType dtype_from_name(const std::string& name, const char* arg) {
  for (const auto& [n, t] : table())
    if (n == name) return t;
  throw range_error(
      std::string(arg) + ": unknown dtype '" + name +
      "' (expected float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8, uint16 or bool)");
}

std::string dtype_name(c10::ScalarType t) {
  for (const auto& [n, s] : table())
    if (s == t) return n;
  return c10::toString(t);
}

}  // namespace specfuse

// Shapes in error messages: "[2, 4, 64, 64]".
#pragma once
#include <string>

namespace specfuse {

inline std::string shape_str(c10::IntArrayRef s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

}  // namespace specfuse

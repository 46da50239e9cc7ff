// Error kinds that the bridge maps to JS error classes. Pure C++: the core and the models throw
// these for bad arguments, so a wrong shape or an unknown option surfaces as a TypeError or
// RangeError naming the argument instead of a libtorch assertion deep inside a kernel.
#pragma once
#include <stdexcept>
#include <string>

namespace specfuse {

enum class ErrorKind { Error, TypeError, RangeError };

struct ArgError : std::runtime_error {
  ErrorKind kind;
  ArgError(ErrorKind k, const std::string& msg) : std::runtime_error(msg), kind(k) {}
};

inline ArgError type_error(const std::string& msg) { return ArgError(ErrorKind::TypeError, msg); }
inline ArgError range_error(const std::string& msg) { return ArgError(ErrorKind::RangeError, msg); }

// Plain runtime errors that are not the caller's argument mistakes (CUDA missing, NaN loss ...).
struct RuntimeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace specfuse

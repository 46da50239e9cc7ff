// Names of the dtypes crossing the JS boundary, and their libtorch scalar types.
#pragma once
#include <c10/core/ScalarType.h>
#include <string>

namespace specfuse {

// Throws a RangeError naming `arg` for an unknown name.
c10::ScalarType dtype_from_name(const std::string& name, const char* arg = "dtype");
std::string dtype_name(c10::ScalarType t);

}  // namespace specfuse

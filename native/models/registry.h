// Model construction by name from a flat config. TypeScript owns presets and validation; this is
// the one place C++ maps names to constructors.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/model.h"

namespace specfuse {

std::shared_ptr<FusionModel> create_model(const std::string& name, const Config& config);
std::vector<std::string> model_names();

}  // namespace specfuse

// Builds a model without its weights: every tensor the constructors create is a meta tensor (a
// shape and a dtype, no memory, no random initialisation), for parameter counts and name lists.
// The WV3 PanAdapter's 160 M parameters otherwise cost 640 MB and the random draws behind them.
#pragma once
#include <memory>
#include <string>

#include "models/model.h"

namespace specfuse {

// The model `create_model(name, config)` would build, on the meta device: never run it. Where a
// constructor needs the values (not only the shapes) of tensors it creates, the model is built for
// real instead. Throws what create_model throws for a bad config.
std::shared_ptr<FusionModel> create_model_shape_only(const std::string& name, const Config& config);

}  // namespace specfuse

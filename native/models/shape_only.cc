#include "models/shape_only.h"

#include <c10/core/impl/LocalDispatchKeySet.h>

#include "models/registry.h"

namespace specfuse {

std::shared_ptr<FusionModel> create_model_shape_only(const std::string& name, const Config& config) {
  // Meta is the highest backend in the dispatcher's order: included in this thread's dispatch key
  // set, it takes every op below autograd, factories (empty, zeros) and in-place initialisers
  // (uniform_, normal_) alike, so the constructors run their ordinary code on meta tensors. This is
  // what Python's `with torch.device('meta')` gives modules, without Python.
  try {
    c10::impl::IncludeDispatchKeyGuard meta(c10::DispatchKey::Meta);
    return create_model(name, config, /*with_layout=*/false);
  } catch (const c10::Error&) {
    // A constructor that reads values it computed (CrossDiff's noise schedule, INFN's coordinate
    // grids) cannot run on meta tensors: build it for real. Config errors are not c10::Errors and
    // pass straight through.
  }
  return create_model(name, config, /*with_layout=*/false);
}

}  // namespace specfuse

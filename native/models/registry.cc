#include "models/registry.h"

#include "core/errors.h"
#include "models/cnn.h"
#include "models/crossdiff.h"
#include "models/infn.h"
#include "models/mlp.h"
#include "models/panadapter.h"

namespace specfuse {

std::shared_ptr<FusionModel> create_model(const std::string& name, const Config& config) {
  std::shared_ptr<FusionModel> m;
  if (name == "mlp") {
    m = std::make_shared<MlpImpl>(mlp_options(config));
  } else if (name == "panadapter") {
    m = std::make_shared<PanAdapterImpl>(panadapter_options(config));
  } else if (name == "crossdiff") {
    m = std::make_shared<CrossDiffImpl>(crossdiff_options(config));
  } else if (name == "infn") {
    m = std::make_shared<InfnImpl>(infn_options(config));
  } else if (is_cnn_name(name)) {
    m = create_cnn(name, config);  // pnn, pannet, dicnn, fusionnet (models/cnn.h)
  } else {
    std::string known;
    for (const auto& n : model_names()) known += (known.empty() ? "" : ", ") + n;
    throw range_error("model: unknown model '" + name + "' (known: " + known + ")");
  }
  config.check_all_used("config");
  return m;
}

std::vector<std::string> model_names() { return {"mlp", "panadapter", "crossdiff", "pnn", "pannet", "dicnn", "fusionnet", "infn"}; }

}  // namespace specfuse

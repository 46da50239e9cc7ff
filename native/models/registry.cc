#include "models/registry.h"

#include "core/errors.h"
#include "models/cnn.h"
#include "models/crossdiff.h"
#include "models/infn.h"
#include "models/mlp.h"
#include "models/panadapter.h"

namespace specfuse {
namespace {

// The four DLPan CNNs share one parser and factory, told apart by name.
constexpr char kPnn[] = "pnn", kPanNet[] = "pannet", kDiCnn[] = "dicnn", kFusionNet[] = "fusionnet";
template <const char* Name>
void check_cnn(const Config& c) {
  cnn_options(Name, c);
}
template <const char* Name>
std::shared_ptr<FusionModel> make_cnn(const Config& c) {
  return create_cnn(Name, c);
}

const ModelEntry& registry_entry(const std::string& name) {
  for (const auto& e : model_registry())
    if (name == e.name) return e;
  std::string known;
  for (const auto& n : model_names()) known += (known.empty() ? "" : ", ") + n;
  throw range_error("model: unknown model '" + name + "' (known: " + known + ")");
}

}  // namespace

const std::vector<ModelEntry>& model_registry() {
  static const std::vector<ModelEntry> table = {
      {"mlp", [](const Config& c) { mlp_options(c); },
       [](const Config& c) -> std::shared_ptr<FusionModel> { return std::make_shared<MlpImpl>(mlp_options(c)); },
       MlpImpl::kStages, false},
      {"panadapter", [](const Config& c) { panadapter_options(c); },
       [](const Config& c) -> std::shared_ptr<FusionModel> {
         return std::make_shared<PanAdapterImpl>(panadapter_options(c));
       },
       PanAdapterImpl::kStages, true},
      {"crossdiff", [](const Config& c) { crossdiff_options(c); },
       [](const Config& c) -> std::shared_ptr<FusionModel> {
         return std::make_shared<CrossDiffImpl>(crossdiff_options(c));
       },
       CrossDiffImpl::kStages, false},
      {kPnn, check_cnn<kPnn>, make_cnn<kPnn>, CnnModel::kStages, true},
      {kPanNet, check_cnn<kPanNet>, make_cnn<kPanNet>, CnnModel::kStages, true},
      {kDiCnn, check_cnn<kDiCnn>, make_cnn<kDiCnn>, CnnModel::kStages, true},
      {kFusionNet, check_cnn<kFusionNet>, make_cnn<kFusionNet>, CnnModel::kStages, true},
      {"infn", [](const Config& c) { infn_options(c); },
       [](const Config& c) -> std::shared_ptr<FusionModel> { return std::make_shared<InfnImpl>(infn_options(c)); },
       InfnImpl::kStages, true},
  };
  return table;
}

std::shared_ptr<FusionModel> create_model(const std::string& name, const Config& config, bool with_layout) {
  const auto& entry = registry_entry(name);
  auto m = entry.create(config);
  config.check_all_used("config");
  if (with_layout && entry.channels_last) m->set_channels_last(true);
  return m;
}

std::map<std::string, Config::Value> resolve_config(const std::string& name, const Config& config) {
  registry_entry(name).check(config);
  config.check_all_used("config");
  return config.resolved();
}

int model_stages(const std::string& name) { return registry_entry(name).stages; }

std::vector<std::string> model_names() {
  std::vector<std::string> out;
  for (const auto& e : model_registry()) out.push_back(e.name);
  return out;
}

}  // namespace specfuse

// The model registry: the one table of model names, each with its option parser (the authority on
// every config key and limit) and its constructor. TypeScript keeps the typed presets and key lists
// and asks this table to check them (resolve_config); test/models/config-parity.test.ts holds the
// two sides together.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/model.h"

namespace specfuse {

struct ModelEntry {
  const char* name;
  // Parses and checks a config (types, ranges, cross-key rules) without building any weight.
  void (*check)(const Config& config);
  std::shared_ptr<FusionModel> (*create)(const Config& config);
  // Stages 1..stages (the class's kStages); stage 0 = the last, everywhere (models/model.h).
  int stages;
  // Built with channels-last (NHWC) weights and inputs, where that layout measured faster: oneDNN
  // runs NHWC convolutions without reordering every input and output (on 2 CPU cores, training and
  // inference steps 1.13-1.40x faster for PanAdapter, the DLPan CNNs and INF), and cuDNN's tensor
  // cores want it. CrossDiff's UNets (group norms, attention) ran 0.66-0.86x in NHWC: left NCHW.
  bool channels_last;
};

const std::vector<ModelEntry>& model_registry();

// Builds the model; every config key must be one its parser reads (RangeError naming it otherwise).
// with_layout: in the registry's default layout (false for shape-only builds, where it means nothing).
std::shared_ptr<FusionModel> create_model(const std::string& name, const Config& config, bool with_layout = true);

// The config as the parser resolved it: every key it reads, given or defaulted, after all checks
// (the same errors as create_model, and nothing is built).
std::map<std::string, Config::Value> resolve_config(const std::string& name, const Config& config);

std::vector<std::string> model_names();
// How many stages the model trains in (stage 0 = the last).
int model_stages(const std::string& name);

}  // namespace specfuse

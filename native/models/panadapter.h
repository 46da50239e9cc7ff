// PanAdapter (Wu et al., AAAI 2025) on the libtorch C++ frontend: a frozen IPT ViT fed by a frozen
// random conv stem, two-scale priors from SSPEN (two EDSR trunks + LPE), cascaded adapters that fuse
// the priors and inject them into the ViT, and an INR tail. Parameter and buffer names, shapes and
// order equal the state_dict of the Python reference (test/pyref/panadapter.py, spec
// ../shared/reference/panadapter.md sections 2, 3, 6.5).
//
// Inputs: lms (B, C, P, P), pan (B, 1, P, P), ms (B, C, P/4, P/4) (only with spectralInput 'ms').
// Stage 1: SSPEN (with gradient) -> a_proj/b_proj tokens -> INR tail -> + lms.
// Stage 2 (default): SSPEN under no_grad, stem + ViT with adapter injections -> INR tail -> + lms.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "models/model.h"
#include "nn/adapter.h"
#include "nn/edsr.h"
#include "nn/inr.h"
#include "nn/transformer.h"

namespace specfuse {

// Defaults are the full WV3 preset.
struct PanAdapterOptions {
  int64_t bands = 8;      // C
  int64_t n_feats = 576;  // ViT width D
  int64_t heads = 12;     // ViT heads
  int64_t enc_layers = 12;
  int64_t dec_layers = 12;
  int64_t hidden_dim = 2304;  // ViT FFN / mlp_head width
  int64_t num_queries = 6;
  int64_t query_index = 0;
  int64_t img_dim = 16;  // token grid side
  int64_t edsr_feats = 64;
  int64_t edsr_blocks = 16;
  int64_t lpe_ch = 16;    // d'
  int64_t prior_ch = 64;  // m
  int64_t k = 96;         // adapter token width
  int64_t adapter_heads = 4;
  int64_t n_adapters = 6;
  int64_t inject_every = 4;
  int64_t inr_hidden = 576;
  bool pos_every = true;
  bool tail_uses_vit = false;
  bool spectral_from_ms = true;  // spectralInput 'ms' (dataset LRMS) vs 'bicubic_lms' (released)
  nn::AttentionRoles attention_roles = nn::AttentionRoles::Released;
  int64_t se_reduction = 16;

  static constexpr int64_t kRatio = 4;  // PAN/MS ratio, Unfold kernel/stride, head_down stride
  int64_t patch() const { return kRatio * img_dim; }
  int64_t seq_len() const { return img_dim * img_dim; }
  int64_t inr_in() const { return 2 * k + 2 + (tail_uses_vit ? n_feats : 0); }
};

// Reads and validates the camelCase config keys (RangeError / TypeError naming the key).
PanAdapterOptions panadapter_options(const Config& c);

// Spatial-spectral prior extraction: two EDSR trunks, one LPE per tapped ResBlock, 1x1 projections.
class SSPENImpl : public torch::nn::Module {
 public:
  explicit SSPENImpl(const PanAdapterOptions& o);
  // M (B, C, h, w), Q (B, C+1, P, P) -> A (B, m, h, w), B (B, m, P, P)
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& m_in, const torch::Tensor& q_in);

  nn::EDSRTrunk spe_edsr{nullptr}, spa_edsr{nullptr};
  torch::nn::ModuleList spe_lpes{nullptr}, spa_lpes{nullptr};
  torch::nn::Conv2d spe_proj{nullptr}, spa_proj{nullptr};

 private:
  std::vector<nn::LPE> spe_typed_, spa_typed_;
};
TORCH_MODULE(SSPEN);

class PanAdapterImpl : public FusionModel {
 public:
  static constexpr int kStages = 2;  // 1: SSPEN and the tail; 2 (default): the adapters
  explicit PanAdapterImpl(const PanAdapterOptions& o);

  torch::Tensor forward_named(const NamedTensors& inputs, const ForwardOptions& opts) override;
  NamedTensors forward_taps(const NamedTensors& inputs, const ForwardOptions& opts) override;
  std::vector<std::string> required_inputs(const ForwardOptions& opts) const override;

  // The two forward paths on checked inputs (ms may be undefined with spectralInput 'bicubic_lms').
  torch::Tensor forward_stage1(const torch::Tensor& lms, const torch::Tensor& pan, const torch::Tensor& ms);
  torch::Tensor forward_stage2(const torch::Tensor& lms, const torch::Tensor& pan, const torch::Tensor& ms);

  PanAdapterOptions options;
  torch::nn::Sequential head{nullptr};  // SELayer(C+1), Conv3x3(C+1 -> D), ResBlock(k5) x2
  torch::nn::Conv2d head_down{nullptr};
  nn::VisionTransformer vit{nullptr};
  SSPEN sspen{nullptr};
  torch::nn::Linear a_proj{nullptr}, b_proj{nullptr};
  torch::nn::ModuleList adapters{nullptr};
  nn::INRTail tail2{nullptr};

 private:
  void check_inputs(const NamedTensors& inputs) const;
  torch::Tensor spectral_source(const torch::Tensor& lms, const torch::Tensor& ms) const;
  std::pair<torch::Tensor, torch::Tensor> tokenise_priors(const torch::Tensor& a, const torch::Tensor& b);
  torch::Tensor decode(const torch::Tensor& spe_tok, const torch::Tensor& spa_tok, const torch::Tensor& vit_tok,
                       const torch::Tensor& lms);

  std::vector<nn::PanAdapterLayer> adapters_;
  NamedTensors* taps_ = nullptr;  // set only during forward_taps
  void tap(const std::string& name, const torch::Tensor& t) {
    if (taps_) (*taps_)[name] = t.detach().clone();
  }
};

}  // namespace specfuse

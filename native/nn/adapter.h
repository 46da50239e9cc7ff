// PanAdapter's trainable pieces: the Local Prior Extraction block (LPE), the interaction module CTF
// (gate the prior by the other branch, attend with the ViT tokens, token FFN), the injection module
// CTI (fuse both priors, zero-init gated attention) and the PanAdapterLayer that chains them. Token
// tensors are sequence-first (L, B, k). Names follow test/pyref/panadapter.py.
#pragma once
#include <cstdint>

namespace specfuse::nn {

// Local Prior Extraction: DWConv3x3(GELU(Conv1x1(feats -> ch))), registered as conv1 / dw.
class LPEImpl : public torch::nn::Module {
 public:
  LPEImpl(int64_t feats, int64_t channels);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Conv2d conv1{nullptr};
  torch::nn::Conv2d dw{nullptr};
};
TORCH_MODULE(LPE);

// Which side queries whom in CTF / CTI (Q8 of the reference document).
enum class AttentionRoles {
  Released,    // CTF: q = ViT, kv = prior; CTI: q = fused prior, kv = ViT (the released code)
  VitAdapter,  // CTF: q = prior, kv = ViT; CTI: q = ViT, kv = fused prior (ViT-Adapter convention)
};

struct AdapterOptions {
  AdapterOptions(int64_t vit_dim, int64_t k, int64_t heads) : vit_dim_(vit_dim), k_(k), heads_(heads) {}
  TORCH_ARG(int64_t, vit_dim);  // n_feats of the ViT
  TORCH_ARG(int64_t, k);        // adapter token width
  TORCH_ARG(int64_t, heads);    // MHA heads inside the adapter
  TORCH_ARG(AttentionRoles, roles) = AttentionRoles::Released;
};

// sigmoid(fc2(GELU(fc1(x)))), hidden width k / 4.
class WeightingNetImpl : public torch::nn::Module {
 public:
  explicit WeightingNetImpl(int64_t k);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(WeightingNet);

// fc2(GELU(fc1(x))), both k -> k; the caller adds the residual.
class TokenFFNImpl : public torch::nn::Module {
 public:
  explicit TokenFFNImpl(int64_t k);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(TokenFFN);

class CTFImpl : public torch::nn::Module {
 public:
  explicit CTFImpl(const AdapterOptions& options);
  // prior, other, vk: (L, B, k) -> fused prior (L, B, k)
  torch::Tensor forward(const torch::Tensor& prior, const torch::Tensor& other, const torch::Tensor& vk);

  AdapterOptions options;
  WeightingNet w{nullptr};
  torch::nn::MultiheadAttention attn{nullptr};  // bias=True
  TokenFFN ffn{nullptr};
};
TORCH_MODULE(CTF);

class CTIImpl : public torch::nn::Module {
 public:
  explicit CTIImpl(const AdapterOptions& options);
  // spe, spa, vk: (L, B, k) -> delta (L, B, k) = scale * attention
  torch::Tensor forward(const torch::Tensor& spe, const torch::Tensor& spa, const torch::Tensor& vk);

  AdapterOptions options;
  torch::Tensor scale;  // gamma, zero-initialised gate, shape (1)
  torch::nn::Linear fus{nullptr};
  torch::nn::MultiheadAttention attn{nullptr};
};
TORCH_MODULE(CTI);

struct AdapterOutput {
  torch::Tensor vit;  // V + k_to_vit(delta): (L, B, vit_dim)
  torch::Tensor spe;  // updated spectral tokens (L, B, k)
  torch::Tensor spa;  // updated spatial tokens (L, B, k)
};

class PanAdapterLayerImpl : public torch::nn::Module {
 public:
  explicit PanAdapterLayerImpl(const AdapterOptions& options);
  AdapterOutput forward(const torch::Tensor& v, const torch::Tensor& spe, const torch::Tensor& spa);

  AdapterOptions options;
  torch::nn::Linear vit_to_k{nullptr}, k_to_vit{nullptr};
  CTF ctf_spa{nullptr}, ctf_spe{nullptr};
  CTI cti{nullptr};
};
TORCH_MODULE(PanAdapterLayer);

// Multi-head attention output only (no weights), sequence-first.
torch::Tensor attend(torch::nn::MultiheadAttention& mha, const torch::Tensor& q, const torch::Tensor& k,
                     const torch::Tensor& v);

}  // namespace specfuse::nn

// The IPT ViT body as PanAdapter uses it (img_dim 16, patch_dim 1): pre-LN encoder / decoder layers
// with bias-free multi-head attention and ReLU FFNs, a learned position encoding (`pe` + int64
// buffer `position_ids`), the task query embedding, and a forward that calls an injection hook after
// every t-th layer. Tokens are sequence-first (L, B, D). Names follow test/pyref/panadapter.py
// (vit.encoder.layers.{i}.self_attn.in_proj_weight, ...).
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

namespace specfuse::nn {

struct VisionTransformerOptions {
  TORCH_ARG(int64_t, dim) = 576;  // n_feats
  TORCH_ARG(int64_t, heads) = 12;
  TORCH_ARG(int64_t, enc_layers) = 12;
  TORCH_ARG(int64_t, dec_layers) = 12;
  TORCH_ARG(int64_t, hidden_dim) = 2304;  // FFN and mlp_head width
  TORCH_ARG(int64_t, num_queries) = 6;
  TORCH_ARG(int64_t, query_index) = 0;
  TORCH_ARG(int64_t, seq_len) = 256;  // img_dim^2 tokens
  TORCH_ARG(bool, pos_every) = true;  // position term at every layer (PanAdapter) or once (IPT)
  TORCH_ARG(int64_t, inject_every) = 4;
};

// s = LN1(x); x += MHA(s+pos, s+pos, s); x += Lin2(ReLU(Lin1(LN2(x)))).
class TransformerEncoderLayerImpl : public torch::nn::Module {
 public:
  TransformerEncoderLayerImpl(int64_t dim, int64_t heads, int64_t hidden);
  // pos may be undefined (no position term).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& pos);

  torch::nn::MultiheadAttention self_attn{nullptr};
  torch::nn::Linear linear1{nullptr}, linear2{nullptr};
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
};
TORCH_MODULE(TransformerEncoderLayer);

// Self-attention (query_pos), cross-attention on memory (pos on the keys), ReLU FFN; pre-LN.
class TransformerDecoderLayerImpl : public torch::nn::Module {
 public:
  TransformerDecoderLayerImpl(int64_t dim, int64_t heads, int64_t hidden);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& memory, const torch::Tensor& pos,
                        const torch::Tensor& query_pos);

  torch::nn::MultiheadAttention self_attn{nullptr}, multihead_attn{nullptr};
  torch::nn::Linear linear1{nullptr}, linear2{nullptr};
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr}, norm3{nullptr};
};
TORCH_MODULE(TransformerDecoderLayer);

// Holders of `layers.{i}` (IPT's TransformerEncoder / TransformerDecoder names).
class TransformerEncoderImpl : public torch::nn::Module {
 public:
  TransformerEncoderImpl(int64_t n, int64_t dim, int64_t heads, int64_t hidden);
  torch::nn::ModuleList layers{nullptr};
  std::vector<TransformerEncoderLayer> typed;
};
TORCH_MODULE(TransformerEncoder);

class TransformerDecoderImpl : public torch::nn::Module {
 public:
  TransformerDecoderImpl(int64_t n, int64_t dim, int64_t heads, int64_t hidden);
  torch::nn::ModuleList layers{nullptr};
  std::vector<TransformerDecoderLayer> typed;
};
TORCH_MODULE(TransformerDecoder);

// `pe` (Embedding(L, D)) and the int64 buffer `position_ids` (1, L). The buffer stays int64 when the
// module is cast to another floating dtype, as in PyTorch.
class LearnedPositionalEncodingImpl : public torch::nn::Module {
 public:
  LearnedPositionalEncodingImpl(int64_t seq_len, int64_t dim);
  // (L, 1, D), broadcast over the batch.
  torch::Tensor forward();

  using torch::nn::Module::to;
  void to(torch::Device device, torch::Dtype dtype, bool non_blocking = false) override;
  void to(torch::Dtype dtype, bool non_blocking = false) override;

  torch::nn::Embedding pe{nullptr};
  torch::Tensor position_ids;
};
TORCH_MODULE(LearnedPositionalEncoding);

// Called after every inject_every-th layer with the tokens and the injection index j (0-based).
using InjectFn = std::function<torch::Tensor(const torch::Tensor& tokens, int64_t j)>;

class VisionTransformerImpl : public torch::nn::Module {
 public:
  explicit VisionTransformerImpl(const VisionTransformerOptions& options);

  // feat (B, D, h, w) with h*w = seq_len -> (L, B, D): mlp_head(x) + x if with_mlp_head, else x.
  // No no_grad: gradients reach earlier injections through the (frozen) activations.
  torch::Tensor forward_with_injections(const torch::Tensor& feat, const InjectFn& inject, bool with_mlp_head);

  VisionTransformerOptions options;
  torch::nn::Linear linear_encoding{nullptr};
  torch::nn::Sequential mlp_head{nullptr};
  torch::nn::Embedding _query_embed{nullptr};
  TransformerEncoder encoder{nullptr};
  TransformerDecoder decoder{nullptr};
  LearnedPositionalEncoding _position_encoding{nullptr};
};
TORCH_MODULE(VisionTransformer);

// (B, E, h, w) -> (h*w, B, E), row-major token index y*w + x (unfold with patch 1 + transposes).
torch::Tensor map_to_tokens(const torch::Tensor& x);

}  // namespace specfuse::nn

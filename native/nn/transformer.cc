#include "nn/transformer.h"

#include <cmath>

#include "nn/adapter.h"
#include "nn/sequential.h"

namespace specfuse::nn {
namespace {

torch::Tensor with_pos(const torch::Tensor& x, const torch::Tensor& pos) { return pos.defined() ? x + pos : x; }

torch::nn::MultiheadAttention bias_free_mha(int64_t dim, int64_t heads) {
  return torch::nn::MultiheadAttention(torch::nn::MultiheadAttentionOptions(dim, heads).bias(false));
}

torch::nn::LayerNorm layer_norm(int64_t dim) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(1e-5));
}

}  // namespace

torch::Tensor map_to_tokens(const torch::Tensor& x) { return x.flatten(2).permute({2, 0, 1}); }

// ---------------------------------------------------------------------------------------------

TransformerEncoderLayerImpl::TransformerEncoderLayerImpl(int64_t dim, int64_t heads, int64_t hidden) {
  self_attn = register_module("self_attn", bias_free_mha(dim, heads));
  linear1 = register_module("linear1", torch::nn::Linear(dim, hidden));
  linear2 = register_module("linear2", torch::nn::Linear(hidden, dim));
  norm1 = register_module("norm1", layer_norm(dim));
  norm2 = register_module("norm2", layer_norm(dim));
  // IPT re-initialises the encoder self-attention projection.
  torch::NoGradGuard no_grad;
  torch::nn::init::kaiming_uniform_(self_attn->in_proj_weight, std::sqrt(5.0));
}

torch::Tensor TransformerEncoderLayerImpl::forward(const torch::Tensor& x_in, const torch::Tensor& pos) {
  auto s = norm1->forward(x_in);
  auto qk = with_pos(s, pos);
  auto x = x_in + attend(self_attn, qk, qk, s);
  return x + linear2->forward(torch::relu(linear1->forward(norm2->forward(x))));
}

TransformerDecoderLayerImpl::TransformerDecoderLayerImpl(int64_t dim, int64_t heads, int64_t hidden) {
  self_attn = register_module("self_attn", bias_free_mha(dim, heads));
  multihead_attn = register_module("multihead_attn", bias_free_mha(dim, heads));
  linear1 = register_module("linear1", torch::nn::Linear(dim, hidden));
  linear2 = register_module("linear2", torch::nn::Linear(hidden, dim));
  norm1 = register_module("norm1", layer_norm(dim));
  norm2 = register_module("norm2", layer_norm(dim));
  norm3 = register_module("norm3", layer_norm(dim));
}

torch::Tensor TransformerDecoderLayerImpl::forward(const torch::Tensor& x_in, const torch::Tensor& memory,
                                                   const torch::Tensor& pos, const torch::Tensor& query_pos) {
  auto s = norm1->forward(x_in);
  auto qk = with_pos(s, query_pos);
  auto x = x_in + attend(self_attn, qk, qk, s);
  s = norm2->forward(x);
  x = x + attend(multihead_attn, with_pos(s, query_pos), with_pos(memory, pos), memory);
  return x + linear2->forward(torch::relu(linear1->forward(norm3->forward(x))));
}

TransformerEncoderImpl::TransformerEncoderImpl(int64_t n, int64_t dim, int64_t heads, int64_t hidden) {
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < n; ++i) {
    typed.emplace_back(dim, heads, hidden);
    layers->push_back(typed.back());
  }
}

TransformerDecoderImpl::TransformerDecoderImpl(int64_t n, int64_t dim, int64_t heads, int64_t hidden) {
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < n; ++i) {
    typed.emplace_back(dim, heads, hidden);
    layers->push_back(typed.back());
  }
}

// ---------------------------------------------------------------------------------------------

LearnedPositionalEncodingImpl::LearnedPositionalEncodingImpl(int64_t seq_len, int64_t dim) {
  pe = register_module("pe", torch::nn::Embedding(seq_len, dim));
  position_ids = register_buffer("position_ids", torch::arange(seq_len, torch::kLong).unsqueeze(0));
}

torch::Tensor LearnedPositionalEncodingImpl::forward() {
  return pe->forward(position_ids.to(torch::kLong)).transpose(0, 1);
}

void LearnedPositionalEncodingImpl::to(torch::Device device, torch::Dtype dtype, bool non_blocking) {
  torch::nn::Module::to(device, dtype, non_blocking);
  position_ids.set_data(position_ids.to(torch::kLong));
}

void LearnedPositionalEncodingImpl::to(torch::Dtype dtype, bool non_blocking) {
  torch::nn::Module::to(dtype, non_blocking);
  position_ids.set_data(position_ids.to(torch::kLong));
}

// ---------------------------------------------------------------------------------------------

VisionTransformerImpl::VisionTransformerImpl(const VisionTransformerOptions& o) : options(o) {
  const int64_t d = o.dim();
  linear_encoding = register_module("linear_encoding", torch::nn::Linear(d, d));
  // Indices 0 and 3 carry the weights, as in IPT (Linear, Dropout, ReLU, Linear).
  mlp_head = register_module(
      "mlp_head",
      sequential_in_order([&] { return torch::nn::Linear(d, o.hidden_dim()); }, [] { return torch::nn::Dropout(0.0); },
                          [] { return torch::nn::ReLU(); }, [&] { return torch::nn::Linear(o.hidden_dim(), d); }));
  _query_embed = register_module("_query_embed", torch::nn::Embedding(o.num_queries(), d * o.seq_len()));
  encoder = register_module("encoder", TransformerEncoder(o.enc_layers(), d, o.heads(), o.hidden_dim()));
  decoder = register_module("decoder", TransformerDecoder(o.dec_layers(), d, o.heads(), o.hidden_dim()));
  _position_encoding = register_module("_position_encoding", LearnedPositionalEncoding(o.seq_len(), d));
}

torch::Tensor VisionTransformerImpl::forward_with_injections(const torch::Tensor& feat, const InjectFn& inject,
                                                             bool with_mlp_head) {
  const auto& o = options;
  const int64_t B = feat.size(0);
  auto x = map_to_tokens(feat);  // (L, B, D)
  x = linear_encoding->forward(x) + x;
  auto pos = _position_encoding->forward();  // (L, 1, D)
  auto query_pos = _query_embed->weight.select(0, o.query_index()).view({o.seq_len(), 1, o.dim()}).repeat({1, B, 1});
  torch::Tensor enc_pos, mem_pos;
  if (!o.pos_every()) {
    // IPT pretraining mode: position added once at the encoder input, none on the memory keys.
    x = x + pos;
  } else {
    enc_pos = pos;
    mem_pos = pos;
  }

  int64_t n_done = 0;
  auto after_layer = [&](torch::Tensor t) {
    n_done += 1;
    if (n_done % o.inject_every() == 0) t = inject(t, n_done / o.inject_every() - 1);
    return t;
  };
  for (auto& layer : encoder->typed) x = after_layer(layer->forward(x, enc_pos));
  const auto memory = x;  // encoder output, including the encoder-side injections
  for (auto& layer : decoder->typed) x = after_layer(layer->forward(x, memory, mem_pos, query_pos));
  if (with_mlp_head) x = mlp_head->forward(x) + x;
  return x;
}

}  // namespace specfuse::nn

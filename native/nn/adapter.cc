#include "nn/adapter.h"

namespace specfuse::nn {

// nn.MultiheadAttention's math with its own parameters (in_proj_weight/bias, out_proj), but through
// scaled_dot_product_attention, which dispatches to fused kernels (flash / memory-efficient on CUDA,
// a fused CPU kernel) instead of materialising the attention matrix step by step.
torch::Tensor attend(torch::nn::MultiheadAttention& mha, const torch::Tensor& q, const torch::Tensor& k,
                     const torch::Tensor& v) {
  const int64_t lq = q.size(0), lk = k.size(0), b = q.size(1), e = q.size(2);
  const int64_t heads = mha->options.num_heads(), d = e / heads;
  const auto& w = mha->in_proj_weight;
  const auto& bias = mha->in_proj_bias;
  auto project = [&](const torch::Tensor& x, int64_t i) {
    auto bi = bias.defined() ? bias.slice(0, i * e, (i + 1) * e) : torch::Tensor();
    return torch::nn::functional::linear(x, w.slice(0, i * e, (i + 1) * e), bi);
  };
  // (L, B, E) -> (B, H, L, d)
  auto split = [&](const torch::Tensor& x, int64_t l) { return x.reshape({l, b, heads, d}).permute({1, 2, 0, 3}); };
  auto out =
      at::scaled_dot_product_attention(split(project(q, 0), lq), split(project(k, 1), lk), split(project(v, 2), lk));
  out = out.permute({2, 0, 1, 3}).reshape({lq, b, e});
  return mha->out_proj->forward(out);
}

// ---------------------------------------------------------------------------------------------

LPEImpl::LPEImpl(int64_t feats, int64_t channels) {
  conv1 = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(feats, channels, 1)));
  dw = register_module("dw",
                       torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, channels, 3).padding(1).groups(channels)));
}

torch::Tensor LPEImpl::forward(const torch::Tensor& x) { return dw->forward(torch::gelu(conv1->forward(x))); }

// ---------------------------------------------------------------------------------------------

WeightingNetImpl::WeightingNetImpl(int64_t k) {
  fc1 = register_module("fc1", torch::nn::Linear(k, k / 4));
  fc2 = register_module("fc2", torch::nn::Linear(k / 4, k));
}

torch::Tensor WeightingNetImpl::forward(const torch::Tensor& x) {
  return torch::sigmoid(fc2->forward(torch::gelu(fc1->forward(x))));
}

TokenFFNImpl::TokenFFNImpl(int64_t k) {
  fc1 = register_module("fc1", torch::nn::Linear(k, k));
  fc2 = register_module("fc2", torch::nn::Linear(k, k));
}

torch::Tensor TokenFFNImpl::forward(const torch::Tensor& x) { return fc2->forward(torch::gelu(fc1->forward(x))); }

// ---------------------------------------------------------------------------------------------

CTFImpl::CTFImpl(const AdapterOptions& o) : options(o) {
  w = register_module("w", WeightingNet(o.k()));
  attn = register_module("attn", torch::nn::MultiheadAttention(torch::nn::MultiheadAttentionOptions(o.k(), o.heads())));
  ffn = register_module("ffn", TokenFFN(o.k()));
}

torch::Tensor CTFImpl::forward(const torch::Tensor& prior, const torch::Tensor& other, const torch::Tensor& vk) {
  auto f = prior * w->forward(other) + prior;
  if (options.roles() == AttentionRoles::Released) f = attend(attn, vk, f, f) + f;  // q = ViT, kv = prior
  else f = attend(attn, f, vk, vk) + f;                                             // q = prior, kv = ViT
  return f + ffn->forward(f);
}

CTIImpl::CTIImpl(const AdapterOptions& o) : options(o) {
  scale = register_parameter("scale", torch::zeros({1}));
  fus = register_module("fus", torch::nn::Linear(2 * o.k(), o.k()));
  attn = register_module("attn", torch::nn::MultiheadAttention(torch::nn::MultiheadAttentionOptions(o.k(), o.heads())));
}

torch::Tensor CTIImpl::forward(const torch::Tensor& spe, const torch::Tensor& spa, const torch::Tensor& vk) {
  auto u = fus->forward(torch::cat({spa, spe}, -1));  // spatial first, then spectral
  torch::Tensor out = options.roles() == AttentionRoles::Released ? attend(attn, u, vk, vk)  // q = prior, kv = ViT
                                                                  : attend(attn, vk, u, u);  // q = ViT, kv = prior
  return scale * out;
}

// ---------------------------------------------------------------------------------------------

PanAdapterLayerImpl::PanAdapterLayerImpl(const AdapterOptions& o) : options(o) {
  vit_to_k = register_module("vit_to_k", torch::nn::Linear(o.vit_dim(), o.k()));
  k_to_vit = register_module("k_to_vit", torch::nn::Linear(o.k(), o.vit_dim()));
  ctf_spa = register_module("ctf_spa", CTF(o));
  ctf_spe = register_module("ctf_spe", CTF(o));
  cti = register_module("cti", CTI(o));
}

AdapterOutput PanAdapterLayerImpl::forward(const torch::Tensor& v, const torch::Tensor& spe, const torch::Tensor& spa) {
  auto vk = vit_to_k->forward(v);
  auto new_spa = ctf_spa->forward(spa, spe, vk);
  auto new_spe = ctf_spe->forward(spe, spa, vk);  // uses the old spatial tokens
  auto delta = cti->forward(new_spe, new_spa, vk);
  return {v + k_to_vit->forward(delta), new_spe, new_spa};
}

}  // namespace specfuse::nn

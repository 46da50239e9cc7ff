#include "models/panadapter.h"

#include <sstream>

#include "core/device.h"
#include "core/dtype.h"
#include "core/errors.h"
#include "core/shape.h"

namespace specfuse {
namespace {

namespace F = torch::nn::functional;
constexpr int64_t kRatio = PanAdapterOptions::kRatio;

}  // namespace

// ---------------------------------------------------------------------------------------------
// config

PanAdapterOptions panadapter_options(const Config& c) {
  PanAdapterOptions o;
  o.bands = c.get_int("bands", o.bands);
  o.n_feats = c.get_int("nFeats", o.n_feats);
  o.heads = c.get_int("heads", o.heads);
  o.enc_layers = c.get_int("encLayers", o.enc_layers);
  o.dec_layers = c.get_int("decLayers", o.dec_layers);
  o.hidden_dim = c.get_int("hiddenDim", o.hidden_dim);
  o.num_queries = c.get_int("numQueries", o.num_queries);
  o.query_index = c.get_int("queryIndex", o.query_index);
  o.edsr_feats = c.get_int("edsrFeats", o.edsr_feats);
  o.edsr_blocks = c.get_int("edsrBlocks", o.edsr_blocks);
  o.lpe_ch = c.get_int("lpeCh", o.lpe_ch);
  o.prior_ch = c.get_int("priorCh", o.prior_ch);
  o.k = c.get_int("k", o.k);
  o.adapter_heads = c.get_int("adapterHeads", o.adapter_heads);
  o.n_adapters = c.get_int("nAdapters", o.n_adapters);
  o.inject_every = c.get_int("injectEvery", o.inject_every);
  o.inr_hidden = c.get_int("inrHidden", o.inr_hidden);
  o.pos_every = c.get_bool("posEvery", o.pos_every);
  o.tail_uses_vit = c.get_bool("tailUsesVit", o.tail_uses_vit);
  o.se_reduction = c.get_int("seReduction", o.se_reduction);

  const std::string spectral = c.get_string("spectralInput", "ms");
  if (spectral == "ms") o.spectral_from_ms = true;
  else if (spectral == "bicubic_lms") o.spectral_from_ms = false;
  else throw range_error("config.spectralInput: expected 'ms' or 'bicubic_lms', got '" + spectral + "'");
  const std::string roles = c.get_string("attentionRoles", "released");
  if (roles == "released") o.attention_roles = nn::AttentionRoles::Released;
  else if (roles == "vit_adapter") o.attention_roles = nn::AttentionRoles::VitAdapter;
  else throw range_error("config.attentionRoles: expected 'released' or 'vit_adapter', got '" + roles + "'");

  constexpr int64_t kMax = 1 << 16;
  check_range(o.bands, "bands", 1, 1024);
  check_range(o.n_feats, "nFeats", 1, kMax);
  check_range(o.heads, "heads", 1, kMax);
  check_range(o.enc_layers, "encLayers", 0, 1024);
  check_range(o.dec_layers, "decLayers", 0, 1024);
  check_range(o.hidden_dim, "hiddenDim", 1, kMax);
  check_range(o.num_queries, "numQueries", 1, 1024);
  check_range(o.query_index, "queryIndex", 0, o.num_queries - 1);
  check_range(o.edsr_feats, "edsrFeats", 1, kMax);
  check_range(o.edsr_blocks, "edsrBlocks", 1, 1024);
  check_range(o.lpe_ch, "lpeCh", 1, kMax);
  check_range(o.prior_ch, "priorCh", 1, kMax);
  check_range(o.k, "k", 4, kMax);  // WeightingNet hidden width is k / 4
  check_range(o.adapter_heads, "adapterHeads", 1, kMax);
  check_range(o.n_adapters, "nAdapters", 0, 1024);
  check_range(o.inject_every, "injectEvery", 1, 1024);
  check_range(o.inr_hidden, "inrHidden", 1, kMax);
  check_range(o.se_reduction, "seReduction", 1, kMax);
  // The LMS/PAN patch side is the one spelling of the token grid (patch / 4): no second key for it.
  const int64_t patch = c.get_int("patch", o.patch());
  if (patch % kRatio || patch < kRatio || patch > kRatio * 1024)
    throw range_error("config.patch: must be a multiple of 4 in [4, 4096], got " + std::to_string(patch));
  o.img_dim = patch / kRatio;
  if (o.n_feats % o.heads)
    throw range_error("config.nFeats: must be divisible by config.heads (" + std::to_string(o.n_feats) + " % " +
                      std::to_string(o.heads) + " != 0)");
  if (o.k % o.adapter_heads)
    throw range_error("config.k: must be divisible by config.adapterHeads (" + std::to_string(o.k) + " % " +
                      std::to_string(o.adapter_heads) + " != 0)");
  const int64_t total = o.enc_layers + o.dec_layers;
  if (total % o.inject_every)
    throw range_error("config.injectEvery: encLayers + decLayers = " + std::to_string(total) +
                      " is not a multiple of " + std::to_string(o.inject_every));
  if (total / o.inject_every != o.n_adapters)
    throw range_error("config.nAdapters: must equal (encLayers + decLayers) / injectEvery = " +
                      std::to_string(total / o.inject_every) + ", got " + std::to_string(o.n_adapters));
  c.check_all_used("config");  // before building: a full-size model takes seconds to initialise
  return o;
}

// ---------------------------------------------------------------------------------------------
// SSPEN

SSPENImpl::SSPENImpl(const PanAdapterOptions& o) {
  const int64_t f = o.edsr_feats, n = o.edsr_blocks, d = o.lpe_ch, m = o.prior_ch;
  spe_edsr = register_module("spe_edsr", nn::EDSRTrunk(nn::EDSROptions(o.bands, f, n)));
  spa_edsr = register_module("spa_edsr", nn::EDSRTrunk(nn::EDSROptions(o.bands + 1, f, n)));
  spe_lpes = register_module("spe_lpes", torch::nn::ModuleList());
  spa_lpes = register_module("spa_lpes", torch::nn::ModuleList());
  for (int64_t i = 0; i < n; ++i) {
    spe_typed_.emplace_back(f, d);
    spe_lpes->push_back(spe_typed_.back());
  }
  for (int64_t i = 0; i < n; ++i) {
    spa_typed_.emplace_back(f, d);
    spa_lpes->push_back(spa_typed_.back());
  }
  spe_proj = register_module("spe_proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(n * d, m, 1)));
  spa_proj = register_module("spa_proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(n * d, m, 1)));
}

std::pair<torch::Tensor, torch::Tensor> SSPENImpl::forward(const torch::Tensor& m_in, const torch::Tensor& q_in) {
  auto t_spe = spe_edsr->forward(m_in).taps;
  auto t_spa = spa_edsr->forward(q_in).taps;
  std::vector<torch::Tensor> p_spe, p_spa;
  p_spe.reserve(t_spe.size());
  p_spa.reserve(t_spa.size());
  for (size_t i = 0; i < t_spe.size(); ++i) p_spe.push_back(spe_typed_[i]->forward(t_spe[i]));
  for (size_t i = 0; i < t_spa.size(); ++i) p_spa.push_back(spa_typed_[i]->forward(t_spa[i]));
  return {spe_proj->forward(torch::cat(p_spe, 1)), spa_proj->forward(torch::cat(p_spa, 1))};
}

// ---------------------------------------------------------------------------------------------
// the model

PanAdapterImpl::PanAdapterImpl(const PanAdapterOptions& o) : options(o) {
  const int64_t c1 = o.bands + 1, d = o.n_feats;
  // Submodules are built in the reference's order (see nn::sequential_in_order): a seeded model then
  // starts from the same weights as the seeded Python reference.
  head = register_module("head",
                         nn::sequential_in_order([&] { return nn::SELayer(nn::SELayerOptions(c1, o.se_reduction)); },
                                                 [&] { return nn::same_conv(c1, d, 3); },
                                                 [&] { return nn::ResBlock(nn::ResBlockOptions(d, 5)); },
                                                 [&] { return nn::ResBlock(nn::ResBlockOptions(d, 5)); }));
  head_down = register_module("head_down", torch::nn::Conv2d(torch::nn::Conv2dOptions(d, d, kRatio).stride(kRatio)));
  vit = register_module("vit", nn::VisionTransformer(nn::VisionTransformerOptions()
                                                         .dim(d)
                                                         .heads(o.heads)
                                                         .enc_layers(o.enc_layers)
                                                         .dec_layers(o.dec_layers)
                                                         .hidden_dim(o.hidden_dim)
                                                         .num_queries(o.num_queries)
                                                         .query_index(o.query_index)
                                                         .seq_len(o.seq_len())
                                                         .pos_every(o.pos_every)
                                                         .inject_every(o.inject_every)));
  sspen = register_module("sspen", SSPEN(o));
  a_proj = register_module("a_proj", torch::nn::Linear(o.prior_ch, o.k));
  b_proj = register_module("b_proj", torch::nn::Linear(o.prior_ch * kRatio * kRatio, o.k));
  adapters = register_module("adapters", torch::nn::ModuleList());
  for (int64_t j = 0; j < o.n_adapters; ++j) {
    adapters_.emplace_back(nn::AdapterOptions(d, o.k, o.adapter_heads).roles(o.attention_roles));
    adapters->push_back(adapters_.back());
  }
  tail2 = register_module("tail2", nn::INRTail(nn::INRTailOptions(o.inr_in(), o.inr_hidden, o.bands)));
}

std::vector<std::string> PanAdapterImpl::required_inputs(const ForwardOptions&) const {
  if (options.spectral_from_ms) return {"lms", "pan", "ms"};
  return {"lms", "pan"};
}

void PanAdapterImpl::check_inputs(const NamedTensors& inputs) const {
  const auto params = parameters(true);
  const auto dtype = params.front().scalar_type();
  const auto device = params.front().device();
  const int64_t P = options.patch(), C = options.bands, h = options.img_dim;
  int64_t batch = -1;
  auto check = [&](const std::string& name, std::vector<int64_t> expected) {
    const auto& t = input(inputs, name);
    const std::string what = "inputs." + name;
    if (!t.defined()) throw type_error(what + ": expected a Tensor");
    if (t.scalar_type() != dtype)
      throw type_error(what + ": expected dtype " + dtype_name(dtype) + " (the module's), got " +
                       dtype_name(t.scalar_type()));
    std::string want = "[B";
    for (size_t i = 1; i < expected.size(); ++i) want += ", " + std::to_string(expected[i]);
    want += "]";
    bool ok = t.dim() == int64_t(expected.size());
    for (size_t i = 1; ok && i < expected.size(); ++i) ok = t.size(i) == expected[i];
    if (!ok) throw range_error(what + ": expected shape " + want + ", got " + shape_str(t.sizes()));
    if (t.size(0) < 1)
      throw range_error(what + ": expected shape " + want + " with B >= 1, got " + shape_str(t.sizes()));
    if (batch < 0) batch = t.size(0);
    else if (t.size(0) != batch)
      throw range_error(what + ": batch size " + std::to_string(t.size(0)) + " differs from inputs.lms (" +
                        std::to_string(batch) + ")");
    if (t.device() != device)
      throw range_error(what + ": is on " + device_name(t.device()) + ", the module is on " + device_name(device));
  };
  check("lms", {-1, C, P, P});
  check("pan", {-1, 1, P, P});
  if (options.spectral_from_ms) check("ms", {-1, C, h, h});
}

torch::Tensor PanAdapterImpl::forward_named(const NamedTensors& inputs, const ForwardOptions& opts) {
  const int stage = resolve_stage("panadapter", kStages, opts.stage);
  check_inputs(inputs);
  const auto& lms = input(inputs, "lms");
  const auto& pan = input(inputs, "pan");
  torch::Tensor ms;
  if (options.spectral_from_ms) ms = input(inputs, "ms");
  return stage == 1 ? forward_stage1(lms, pan, ms) : forward_stage2(lms, pan, ms);
}

NamedTensors PanAdapterImpl::forward_taps(const NamedTensors& inputs, const ForwardOptions& opts) {
  NamedTensors taps;
  taps_ = &taps;
  try {
    taps["out"] = forward_named(inputs, opts).detach();
  } catch (...) {
    taps_ = nullptr;
    throw;
  }
  taps_ = nullptr;
  return taps;
}

torch::Tensor PanAdapterImpl::spectral_source(const torch::Tensor& lms, const torch::Tensor& ms) const {
  if (options.spectral_from_ms) return ms;
  return F::interpolate(lms, F::InterpolateFuncOptions()
                                 .scale_factor(std::vector<double>{1.0 / kRatio, 1.0 / kRatio})
                                 .mode(torch::kBicubic)
                                 .align_corners(false)
                                 .recompute_scale_factor(false));  // use the scale (Python's default)
}

std::pair<torch::Tensor, torch::Tensor> PanAdapterImpl::tokenise_priors(const torch::Tensor& a,
                                                                        const torch::Tensor& b) {
  auto spe = a_proj->forward(a.flatten(2).transpose(1, 2));                                      // (B, L, k)
  auto patches = F::unfold(b, F::UnfoldFuncOptions({kRatio, kRatio}).stride({kRatio, kRatio}));  // (B, m*16, L)
  auto spa = b_proj->forward(patches.transpose(1, 2));                                           // (B, L, k)
  return {spe.transpose(0, 1), spa.transpose(0, 1)};
}

torch::Tensor PanAdapterImpl::decode(const torch::Tensor& spe_tok, const torch::Tensor& spa_tok,
                                     const torch::Tensor& vit_tok, const torch::Tensor& lms) {
  const int64_t B = lms.size(0), P = options.patch(), side = options.img_dim;
  auto grid = nn::coord_grid(P, B, lms.options().dtype(spe_tok.scalar_type()));
  auto up = [&](const torch::Tensor& tok) { return nn::sample_bilinear(nn::tokens_to_map(tok, side), grid); };
  std::vector<torch::Tensor> parts{up(spe_tok), up(spa_tok), grid.permute({0, 3, 1, 2})};
  if (options.tail_uses_vit) {
    if (!vit_tok.defined())  // stage 1 has no ViT: the ViT channels are zeros
      parts.push_back(torch::zeros({B, options.n_feats, P, P}, spe_tok.options()));
    else parts.push_back(up(vit_tok));
  }
  return tail2->forward(torch::cat(parts, 1)) + lms;
}

torch::Tensor PanAdapterImpl::forward_stage1(const torch::Tensor& lms, const torch::Tensor& pan,
                                             const torch::Tensor& ms) {
  auto m_in = spectral_source(lms, ms);
  auto q_in = torch::cat({lms, pan}, 1);     // LMS bands first, then PAN
  auto [a, b] = sspen->forward(m_in, q_in);  // gradient through the EDSR heads and bodies
  tap("sspen.spectral_prior", a);
  tap("sspen.spatial_prior", b);
  auto [spe_tok, spa_tok] = tokenise_priors(a, b);
  tap("tokens.spe", spe_tok);
  tap("tokens.spa", spa_tok);
  return decode(spe_tok, spa_tok, torch::Tensor(), lms);
}

torch::Tensor PanAdapterImpl::forward_stage2(const torch::Tensor& lms, const torch::Tensor& pan,
                                             const torch::Tensor& ms) {
  auto m_in = spectral_source(lms, ms);
  auto q_in = torch::cat({lms, pan}, 1);
  torch::Tensor a, b;
  {
    torch::NoGradGuard no_grad;
    std::tie(a, b) = sspen->forward(m_in, q_in);
  }
  tap("sspen.spectral_prior", a);
  tap("sspen.spatial_prior", b);
  auto tokens = tokenise_priors(a, b);
  torch::Tensor spe = tokens.first, spa = tokens.second;
  tap("tokens.spe", spe);
  tap("tokens.spa", spa);
  auto inject = [&, this](const torch::Tensor& tokens, int64_t j) {
    tap("adapters." + std::to_string(j) + ".in", tokens);
    auto r = adapters_.at(size_t(j))->forward(tokens, spe, spa);
    spe = r.spe;
    spa = r.spa;
    tap("adapters." + std::to_string(j) + ".vit", r.vit);
    tap("adapters." + std::to_string(j) + ".spe", r.spe);
    tap("adapters." + std::to_string(j) + ".spa", r.spa);
    return r.vit;
  };
  auto feat = head_down->forward(head->forward(q_in));  // (B, D, h, w)
  tap("stem", feat);
  auto vit_out = vit->forward_with_injections(feat, inject, options.tail_uses_vit);
  if (options.tail_uses_vit) tap("vit.out", vit_out);
  return decode(spe, spa, options.tail_uses_vit ? vit_out : torch::Tensor(), lms);
}

}  // namespace specfuse

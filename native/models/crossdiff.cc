#include "models/crossdiff.h"

#include <sstream>

#include "core/errors.h"
#include "core/shape.h"

namespace specfuse {
namespace {

torch::nn::Conv2d conv3(int64_t in, int64_t out) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1));
}

// Block(d): Conv3x3(d -> d) + LeakyReLU, registered as block.0.
torch::nn::Sequential head_block(int64_t d) {
  torch::nn::Sequential block(conv3(d, d), torch::nn::LeakyReLU());
  return block;
}

// AttentionBlock(d -> d'): Conv3x3 + LeakyReLU + cSE/sSE gate, registered as block.{0,2}.
torch::nn::Sequential attention_block(int64_t d, int64_t d_out) {
  torch::nn::Sequential block(conv3(d, d_out), torch::nn::LeakyReLU(), ChannelSpatialSE(d_out));
  return block;
}

// A module holding one child under `name` (the reference nests each block as <i>.block.<j>).
struct NamedHolderImpl : torch::nn::Module {
  NamedHolderImpl(const std::string& name, torch::nn::Sequential s) { seq = register_module(name, std::move(s)); }
  torch::Tensor forward(const torch::Tensor& x) { return seq->forward(x); }
  torch::nn::Sequential seq;
};
TORCH_MODULE(NamedHolder);

}  // namespace

CrossDiffOptions crossdiff_options(const Config& c) {
  CrossDiffOptions o;
  o.bands = c.get_int("bands", o.bands);
  o.width = c.get_int("width", o.width);
  o.embed_dim = c.get_int("embedDim", o.embed_dim);
  o.time_dim = c.get_int("timeDim", o.time_dim);
  o.head_inner = c.get_int("headInner", o.head_inner);
  o.diffusion_steps = c.get_int("diffusionSteps", o.diffusion_steps);
  o.feature_step = c.get_int("featureStep", o.feature_step);
  o.feature_noise = c.get_string("featureNoise", o.feature_noise);
  o.cond_dropout = c.get_double("condDropout", o.cond_dropout);
  o.use_finest = c.get_bool("useFinest", o.use_finest);
  o.residual_init = c.get_string("residualInit", o.residual_init);
  if (o.residual_init != "orthogonal" && o.residual_init != "zero")
    throw range_error("config.residualInit: expected 'orthogonal' or 'zero', got '" + o.residual_init + "'");
  constexpr int64_t kMaxWidth = 1 << 16;
  check_range(o.bands, "bands", 1, 1024);
  check_range(o.width, "width", 1, 4096);  // the UNet's deepest level is 8 * width wide
  check_range(o.embed_dim, "embedDim", 1, kMaxWidth);
  check_range(o.time_dim, "timeDim", 2, kMaxWidth);
  if (o.time_dim % 2)
    throw range_error("config.timeDim: must be even (sine and cosine halves), got " + std::to_string(o.time_dim));
  check_range(o.head_inner, "headInner", 1, kMaxWidth);
  check_range(o.diffusion_steps, "diffusionSteps", 2, 100000);
  check_range(o.feature_step, "featureStep", 0, o.diffusion_steps);
  if (o.feature_noise != "random" && o.feature_noise != "zero")
    throw range_error("config.featureNoise: expected 'random' or 'zero', got '" + o.feature_noise + "'");
  if (!(o.cond_dropout >= 0 && o.cond_dropout <= 1))
    throw range_error("config.condDropout: must be a probability in [0, 1], got " + std::to_string(o.cond_dropout));
  return o;
}

ChannelSpatialSEImpl::ChannelSpatialSEImpl(int64_t channels) {
  auto cse = register_module("cSE", std::make_shared<torch::nn::Module>());
  fc1 = cse->register_module("fc1", torch::nn::Linear(channels, channels / 2));
  fc2 = cse->register_module("fc2", torch::nn::Linear(channels / 2, channels));
  auto sse = register_module("sSE", std::make_shared<torch::nn::Module>());
  conv = sse->register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, 1, 1)));
}

torch::Tensor ChannelSpatialSEImpl::forward(const torch::Tensor& x) {
  auto g = torch::leaky_relu(fc2(torch::relu(fc1(x.mean({2, 3})))));  // cSE: a LeakyReLU gate, not a sigmoid
  auto s = torch::leaky_relu(conv(x));                                // sSE: likewise
  return x * g.unsqueeze(-1).unsqueeze(-1) + x * s;
}

CrossDiffHeadImpl::CrossDiffHeadImpl(int64_t bands, int64_t width, int64_t inner, bool finest, bool zero_residual)
    : use_finest(finest) {
  decoder = register_module("decoder", torch::nn::ModuleList());
  // dims 16w, 8w, 4w, 2w: the two encoders' level widths concatenated, coarsest first
  for (int level = 0; level < 4; ++level) {
    const int64_t d = 2 * width * (int64_t(8) >> level);
    decoder->push_back(NamedHolder("block", head_block(d)));
    if (level < 3) decoder->push_back(NamedHolder("block", attention_block(d, d / 2)));
  }
  final = register_module("final", conv3(2 * width, inner));
  final2 = register_module("final2", conv3(inner, bands));
  nn::orthogonal_init(*this);
  // A zero last layer makes the untrained head output exactly LMS (EXP): training then only adds
  // detail, instead of first undoing a random residual (gradients reach final2 from step 1).
  if (zero_residual) {
    torch::NoGradGuard no_grad;
    final2->weight.zero_();
  }
}

torch::Tensor CrossDiffHeadImpl::forward(const nn::UNetFeatures& a, const nn::UNetFeatures& b, NamedTensors* taps) {
  auto up2 = [](const torch::Tensor& x) {  // 'area' interpolation upwards = nearest replication
    return torch::upsample_nearest2d(x, {x.size(2) * 2, x.size(3) * 2});
  };
  auto block = [&](size_t i, const torch::Tensor& x) { return decoder[i]->as<NamedHolderImpl>()->forward(x); };
  torch::Tensor x, d;
  for (int level = 0; level < 4; ++level) {
    d = block(2 * level, torch::cat({a[3 - level], b[3 - level]}, 1));
    if (level > 0) d = d + x;
    if (taps) (*taps)["head.d" + std::to_string(level)] = d;
    if (level < 3) x = up2(block(2 * level + 1, d));
  }
  // The released code reads x (the upsampled attention output) here and drops d3, the block over
  // the full-resolution features; use_finest feeds d3 as the paper's figure draws it.
  return final2(torch::leaky_relu(final(use_finest ? d : x)));
}

CrossDiffImpl::CrossDiffImpl(const CrossDiffOptions& o) : options(o), schedule(o.diffusion_steps) {
  // Construction order = the reference's (P2M, M2P, then the head) for seeded parity.
  p2m = register_module(
      "p2m", nn::DiffusionUNet(
                 nn::DiffusionUNetOptions(o.bands, 1).width(o.width).embed_dim(o.embed_dim).time_dim(o.time_dim)));
  m2p = register_module(
      "m2p", nn::DiffusionUNet(
                 nn::DiffusionUNetOptions(1, o.bands).width(o.width).embed_dim(o.embed_dim).time_dim(o.time_dim)));
  head =
      register_module("head", CrossDiffHead(o.bands, o.width, o.head_inner, o.use_finest, o.residual_init == "zero"));
}

std::vector<std::string> CrossDiffImpl::required_inputs(const ForwardOptions&) const { return {"lms", "pan"}; }

bool CrossDiffImpl::needs_target(const ForwardOptions& opts) const { return stage_of(opts) != 1; }

std::pair<torch::Tensor, torch::Tensor> CrossDiffImpl::diffusion_inputs(const NamedTensors& inputs) const {
  const auto& lms = input(inputs, "lms");
  const auto& pan = input(inputs, "pan");
  std::string err;
  if (lms.dim() != 4 || lms.size(1) != options.bands)
    err = "inputs.lms: expected (B, " + std::to_string(options.bands) + ", H, W), got " + shape_str(lms.sizes());
  else if (pan.dim() != 4 || pan.size(1) != 1 || pan.size(0) != lms.size(0) || pan.size(2) != lms.size(2) ||
           pan.size(3) != lms.size(3))
    err = "inputs.pan: expected (" + std::to_string(lms.size(0)) + ", 1, " + std::to_string(lms.size(2)) + ", " +
          std::to_string(lms.size(3)) + ") to match lms, got " + shape_str(pan.sizes());
  else if (lms.size(2) % 8 != 0 || lms.size(3) % 8 != 0)
    err = "inputs.lms: height and width must be multiples of 8 (the UNets downsample three times), got " +
          std::to_string(lms.size(2)) + "x" + std::to_string(lms.size(3));
  else if (!lms.is_floating_point() || !pan.is_floating_point()) err = "inputs: lms and pan must be floating point";
  if (!err.empty()) throw range_error(err);
  return {lms * 2.0 - 1.0, pan * 2.0 - 1.0};
}

namespace {
// randn_like(x), drawn for the global batch of a data-parallel shard and sliced (shard_draw), and
// always drawn in NCHW order: the same seed gives the same noise whatever layout x is in
// (randn_like fills a channels-last tensor in memory order, which would change every value).
torch::Tensor shard_randn_like(const ForwardOptions& opts, const torch::Tensor& x) {
  return shard_draw(opts, x.size(0), [&](int64_t n) {
    auto sizes = x.sizes().vec();
    sizes[0] = n;
    return torch::randn(sizes, x.options());
  });
}
}  // namespace

std::pair<nn::UNetFeatures, nn::UNetFeatures> CrossDiffImpl::features(const torch::Tensor& ms, const torch::Tensor& pan,
                                                                      const ForwardOptions& opts) {
  const int64_t b = ms.size(0);
  const auto t = torch::full({b}, options.feature_step, ms.options().dtype(torch::kLong));
  auto noise = [&](const torch::Tensor& x) {
    return options.feature_noise == "zero" ? torch::zeros_like(x) : shard_randn_like(opts, x);
  };
  // Fresh noise on every call, at training and test time, as the reference does (featureNoise
  // 'zero' makes the features deterministic).
  auto a = p2m->encode(schedule.q_sample(ms, t, noise(ms)), t, pan);
  auto bb = m2p->encode(schedule.q_sample(pan, t, noise(pan)), t, ms);
  return {a, bb};
}

torch::Tensor CrossDiffImpl::forward_named(const NamedTensors& inputs, const ForwardOptions& opts) {
  if (stage_of(opts) == 1)
    throw range_error(
        "crossdiff: stage 1 has no fused output (it trains the two denoisers); train it with a Trainer, "
        "draw samples with call('sample'), or run stage 2");
  auto [ms, pan] = diffusion_inputs(inputs);
  auto [a, b] = features(ms, pan, opts);
  return input(inputs, "lms") + head(a, b);
}

NamedTensors CrossDiffImpl::forward_taps(const NamedTensors& inputs, const ForwardOptions& opts) {
  if (stage_of(opts) != 2) return FusionModel::forward_taps(inputs, opts);
  auto [ms, pan] = diffusion_inputs(inputs);
  auto [a, b] = features(ms, pan, opts);
  NamedTensors taps;
  for (int i = 0; i < 4; ++i) {
    taps["p2m.h" + std::to_string(i + 1)] = a[i];
    taps["m2p.h" + std::to_string(i + 1)] = b[i];
  }
  taps["out"] = input(inputs, "lms") + head(a, b, &taps);
  return taps;
}

FusionModel::TrainingPair CrossDiffImpl::training_pair(const NamedTensors& inputs, const torch::Tensor& target,
                                                       const ForwardOptions& opts) {
  if (stage_of(opts) != 1) return FusionModel::training_pair(inputs, target, opts);
  auto [ms, pan] = diffusion_inputs(inputs);
  const int64_t b = ms.size(0);
  auto steps = [&]() {
    return shard_draw(opts, b, [&](int64_t n) {
      return torch::randint(1, options.diffusion_steps + 1, {n}, ms.options().dtype(torch::kLong));
    });
  };
  // Classifier-free guidance training: one coin per batch (as the reference) zeroes both conditions.
  const bool drop = options.cond_dropout > 0 && torch::rand({1}).item<double>() < options.cond_dropout;
  const auto pan_cond = drop ? torch::zeros_like(pan) : pan;
  const auto ms_cond = drop ? torch::zeros_like(ms) : ms;
  // Independent steps and noise per UNet: the reference trains them as two separate models.
  const auto t_a = steps(), t_b = steps();
  const auto eps_a = shard_randn_like(opts, ms), eps_b = shard_randn_like(opts, pan);
  auto pred_a = p2m(schedule.q_sample(ms, t_a, eps_a), t_a, pan_cond);
  auto pred_b = m2p(schedule.q_sample(pan, t_b, eps_b), t_b, ms_cond);
  // One loss over both: the mean over all predicted elements (each UNet's gradient only depends on
  // its own term; Adam is invariant to the constant weighting).
  return {torch::cat({pred_a.flatten(1), pred_b.flatten(1)}, 1), torch::cat({eps_a.flatten(1), eps_b.flatten(1)}, 1)};
}

std::vector<std::string> CrossDiffImpl::call_inputs(const std::string& method) const {
  if (method == "sample") return {"lms", "pan"};
  if (method == "schedule") return {};
  if (method == "denoise") return {"x_t", "cond"};
  return FusionModel::call_inputs(method);
}

torch::Tensor CrossDiffImpl::call(const std::string& method, const NamedTensors& inputs, const Config& c) {
  call_inputs(method);
  if (method == "schedule") {  // ᾱ_t for t = 0..T (float64), the table both stages noise with
    c.check_all_used("options");
    auto out = torch::empty({schedule.steps() + 1}, torch::kFloat64);
    for (int64_t t = 0; t <= schedule.steps(); ++t) out[t] = schedule.alpha_bar(t);
    return out;
  }
  const std::string net = c.get_string("net", "p2m");
  if (net != "p2m" && net != "m2p")
    throw range_error("options.net: expected 'p2m' (MS given PAN) or 'm2p' (PAN given MS), got '" + net + "'");
  if (method == "denoise") {  // one ε̂(x_t, t, cond) evaluation in the diffusion range [-1, 1], for custom samplers
    const int64_t t = c.get_int("t", options.feature_step);
    c.check_all_used("options");
    if (t < 0 || t > options.diffusion_steps)
      throw range_error("options.t: must be in [0, " + std::to_string(options.diffusion_steps) + "]");
    const auto& x = input(inputs, "x_t");
    auto unet = net == "p2m" ? p2m : m2p;
    return unet(x, torch::full({x.dim() > 0 ? x.size(0) : 0}, t, x.options().dtype(torch::kLong)),
                input(inputs, "cond"));
  }
  SamplerOptions so;
  so.sampler = c.get_string("sampler", so.sampler);
  so.steps = c.get_int("steps", so.steps);
  so.guidance = c.get_double("guidance", so.guidance);
  const int64_t seed = c.get_int("seed", 0);
  c.check_all_used("options");
  if (seed < 0) throw range_error("options.seed: must be >= 0");
  so.seed = uint64_t(seed);
  auto [ms, pan] = diffusion_inputs(inputs);
  torch::NoGradGuard no_grad;
  auto unet = net == "p2m" ? p2m : m2p;
  const auto& cond = net == "p2m" ? pan : ms;
  auto shape = (net == "p2m" ? ms : pan).sizes().vec();
  auto denoise = [&](const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& cnd) {
    return unet(x, t, cnd);
  };
  return (sample(schedule, denoise, cond, shape, so) + 1.0) * 0.5;
}

}  // namespace specfuse

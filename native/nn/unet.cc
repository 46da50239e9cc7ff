#include "nn/unet.h"

#include <cmath>
#include <sstream>

#include "core/errors.h"

namespace specfuse::nn {
namespace {

// GroupNorm groups: the reference's count, or one group per channel when a narrow (tiny) preset has
// fewer channels than that.
torch::nn::GroupNorm group_norm(int64_t groups, int64_t channels) {
  return torch::nn::GroupNorm(torch::nn::GroupNormOptions(std::min(groups, channels), channels));
}

torch::nn::Conv2d conv3(int64_t in, int64_t out, int64_t stride) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(1));
}

torch::nn::ConvTranspose2d up_conv3(int64_t in, int64_t out) {
  return torch::nn::ConvTranspose2d(
      torch::nn::ConvTranspose2dOptions(in, out, 3).stride(2).padding(1).output_padding(1));
}

}  // namespace

DenseImpl::DenseImpl(int64_t in, int64_t out) { dense = register_module("dense", torch::nn::Linear(in, out)); }

torch::Tensor DenseImpl::forward(const torch::Tensor& emb) { return dense(emb).unsqueeze(-1).unsqueeze(-1); }

UNetLevelImpl::UNetLevelImpl(int64_t in, int64_t out, int64_t embed_dim, int64_t groups, bool up) {
  // Registration order = the reference's attribute order (conv20, dense1, groupnorm1).
  if (up) conv20 = torch::nn::AnyModule(register_module("conv20", up_conv3(in, out)));
  else conv20 = torch::nn::AnyModule(register_module("conv20", conv3(in, out, 2)));
  dense1 = register_module("dense1", Dense(embed_dim, in));
  groupnorm1 = register_module("groupnorm1", group_norm(groups, in));
}

torch::Tensor UNetLevelImpl::forward(const torch::Tensor& x, const torch::Tensor& emb) {
  return conv20.forward(torch::silu(groupnorm1(x + dense1(emb))));
}

DiffusionUNetImpl::DiffusionUNetImpl(const DiffusionUNetOptions& o) : options(o) {
  if (o.target_channels() < 1 || o.cond_channels() < 1)
    throw range_error("unet: target and condition channels must be >= 1");
  if (o.width() < 1 || o.embed_dim() < 1) throw range_error("unet: width and embedDim must be >= 1");
  if (o.time_dim() < 2 || o.time_dim() % 2 != 0) throw range_error("unet: timeDim must be an even number >= 2");
  const int64_t c0 = o.width(), c1 = 2 * c0, c2 = 4 * c0, c3 = 8 * c0, e = o.embed_dim();
  const int64_t io = o.target_channels() + o.cond_channels();
  embed = register_module("embed", torch::nn::Sequential(torch::nn::Linear(o.time_dim(), e)));
  conv1 = register_module("conv1", conv3(io, c0, 1));
  res3 = register_module("res3", UNetLevel(c0, c1, e, 4, false));
  down1 = register_module("down1", UNetLevel(c1, c2, e, 32, false));
  down2 = register_module("down2", UNetLevel(c2, c3, e, 32, false));
  up1 = register_module("up1", UNetLevel(c3, c2, e, 32, true));
  dense2 = register_module("dense2", Dense(e, c2));
  groupnorm2 = register_module("groupnorm2", group_norm(32, c2));
  up2 = register_module("up2", up_conv3(2 * c2, c1));
  dense3 = register_module("dense3", Dense(e, c1));
  groupnorm3 = register_module("groupnorm3", group_norm(32, c1));
  up3 = register_module("up3", up_conv3(2 * c1, c0));
  dense4 = register_module("dense4", Dense(e, c0));
  groupnorm4 = register_module("groupnorm4", group_norm(4, c0));
  final1 = register_module("final1", conv3(2 * c0, c0, 1));
  dense5 = register_module("dense5", Dense(e, c0));
  groupnorm5 = register_module("groupnorm5", group_norm(4, c0));
  final2 = register_module("final2", conv3(c0 + io, o.target_channels(), 1));
  reset_parameters();
}

void orthogonal_init(torch::nn::Module& root) {
  torch::NoGradGuard no_grad;
  for (auto& m : root.modules(/*include_self=*/false)) {
    const bool weighted =
        m->as<torch::nn::Conv2d>() || m->as<torch::nn::ConvTranspose2d>() || m->as<torch::nn::Linear>();
    if (!weighted) continue;
    for (auto& p : m->named_parameters(false)) {
      if (p.key() == "weight") torch::nn::init::orthogonal_(p.value(), 1.0);
      else if (p.key() == "bias") p.value().zero_();
    }
  }
}

void DiffusionUNetImpl::reset_parameters() { orthogonal_init(*this); }

torch::Tensor DiffusionUNetImpl::time_embedding(const torch::Tensor& t, const torch::TensorOptions& like) {
  const int64_t half = options.time_dim() / 2;
  const auto f32 = like.dtype(torch::kFloat32);
  auto freqs = torch::exp(-std::log(10000.0) * torch::arange(half, f32) / double(half));
  auto args = t.to(f32).reshape({-1, 1}) * freqs.unsqueeze(0);
  auto gamma = torch::cat({torch::cos(args), torch::sin(args)}, 1);
  return torch::silu(embed->forward(gamma.to(like.dtype())));
}

void DiffusionUNetImpl::check_inputs(const torch::Tensor& x_t, const torch::Tensor& t,
                                     const torch::Tensor& cond) const {
  std::ostringstream err;
  if (x_t.dim() != 4 || x_t.size(1) != options.target_channels())
    err << "unet: x_t must be (B, " << options.target_channels() << ", H, W), got " << x_t.sizes();
  else if (cond.dim() != 4 || cond.size(1) != options.cond_channels() || cond.size(0) != x_t.size(0) ||
           cond.size(2) != x_t.size(2) || cond.size(3) != x_t.size(3))
    err << "unet: the condition must be (" << x_t.size(0) << ", " << options.cond_channels() << ", " << x_t.size(2)
        << ", " << x_t.size(3) << "), got " << cond.sizes();
  else if (x_t.size(2) % 8 != 0 || x_t.size(3) % 8 != 0)
    err << "unet: height and width must be multiples of 8 (three stride-2 levels), got " << x_t.size(2) << "x"
        << x_t.size(3);
  else if (t.numel() != x_t.size(0))
    err << "unet: one time step per sample expected, got " << t.numel() << " for a batch of " << x_t.size(0);
  if (!err.str().empty()) throw range_error(err.str());
}

UNetFeatures DiffusionUNetImpl::encode_with(const torch::Tensor& x_t, const torch::Tensor& emb,
                                            const torch::Tensor& cond) {
  UNetFeatures f;
  f[0] = conv1(torch::cat({x_t, cond}, 1));
  f[1] = res3(f[0], emb);
  f[2] = down1(f[1], emb);
  f[3] = down2(f[2], emb);
  return f;
}

UNetFeatures DiffusionUNetImpl::encode(const torch::Tensor& x_t, const torch::Tensor& t, const torch::Tensor& cond) {
  check_inputs(x_t, t, cond);
  return encode_with(x_t, time_embedding(t, x_t.options()), cond);
}

torch::Tensor DiffusionUNetImpl::forward(const torch::Tensor& x_t, const torch::Tensor& t, const torch::Tensor& cond) {
  check_inputs(x_t, t, cond);
  const auto emb = time_embedding(t, x_t.options());
  const auto f = encode_with(x_t, emb, cond);
  auto h = up1(f[3], emb);
  h = up2(torch::cat({torch::silu(groupnorm2(h + dense2(emb))), f[2]}, 1));
  h = up3(torch::cat({torch::silu(groupnorm3(h + dense3(emb))), f[1]}, 1));
  h = final1(torch::cat({torch::silu(groupnorm4(h + dense4(emb))), f[0]}, 1));
  return final2(torch::cat({torch::silu(groupnorm5(h + dense5(emb))), x_t, cond}, 1));
}

}  // namespace specfuse::nn

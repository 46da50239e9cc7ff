#include "models/infn.h"

#include <cmath>
#include <sstream>

#include "core/device.h"
#include "core/dtype.h"
#include "core/errors.h"
#include "core/shape.h"

namespace specfuse {
namespace {

namespace F = torch::nn::functional;

// LIIF's eps_shift: nudges the neighbour coordinates off the exact cell borders so that nearest
// sampling never meets a tie (the ±1/h offsets from pixel centres land exactly on them for even r).
constexpr double kEpsShift = 1e-6;
constexpr double kCosEps = 1e-8;

// TypeScript passes the layer widths array as "256,128" (configs are flat); errors name the element.
std::vector<int64_t> parse_widths(const std::string& s) {
  std::vector<int64_t> out;
  if (s.empty()) return out;  // no hidden layer: the MLP is a single Linear layer
  std::stringstream ss(s);
  std::string item;
  for (size_t i = 0; std::getline(ss, item, ','); ++i) {
    size_t pos = 0;
    int64_t v = -1;
    try {
      v = std::stoll(item, &pos);
    } catch (const std::exception&) {
      pos = 0;
    }
    if (pos == 0 || pos != item.size() || v < 1 || v > (1 << 16))
      throw range_error("config.mlpHidden[" + std::to_string(i) + "]: expected an integer in [1, 65536], got '" + item +
                        "'");
    out.push_back(v);
  }
  return out;
}

// make_coord of LIIF: pixel-centre coordinates in [-1, 1], v_k = -1 + (2k + 1) / n; (n_y, n_x, 2) as (y, x).
torch::Tensor make_coord(int64_t ny, int64_t nx, const torch::TensorOptions& opts) {
  auto ys = -1.0 + (2.0 * torch::arange(ny, opts) + 1.0) / double(ny);
  auto xs = -1.0 + (2.0 * torch::arange(nx, opts) + 1.0) / double(nx);
  auto yx = torch::meshgrid({ys, xs}, "ij");
  return torch::stack({yx[0], yx[1]}, -1);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// config

InfnOptions infn_options(const Config& c) {
  InfnOptions o;
  o.bands = c.get_int("bands", o.bands);
  o.msi_bands = c.get_int("msiBands", o.msi_bands);
  o.ratio = c.get_int("ratio", o.ratio);
  o.feats = c.get_int("feats", o.feats);
  o.blocks = c.get_int("blocks", o.blocks);
  std::string widths;  // the default as the same flat text, so the resolved config lists it too
  for (int64_t w : o.mlp_hidden) {
    if (!widths.empty()) widths += ',';
    widths += std::to_string(w);
  }
  o.mlp_hidden = parse_widths(c.get_string("mlpHidden", widths));
  o.hf_msi = c.get_bool("hfMsi", o.hf_msi);
  o.zero_head = c.get_bool("zeroHead", o.zero_head);
  o.temperature = c.get_double("temperature", o.temperature);
  o.chunk = c.get_int("chunk", o.chunk);

  const std::string spatial = c.get_string("spatialInput", "cat");
  if (spatial == "cat") o.spatial_cat = true;
  else if (spatial == "msi") o.spatial_cat = false;
  else throw range_error("config.spatialInput: expected 'cat' or 'msi', got '" + spatial + "'");
  const std::string weighting = c.get_string("weighting", "softmax");
  if (weighting == "softmax") o.softmax_weights = true;
  else if (weighting == "cosine") o.softmax_weights = false;
  else throw range_error("config.weighting: expected 'softmax' or 'cosine', got '" + weighting + "'");
  const std::string border = c.get_string("border", "zeros");
  if (border == "zeros") o.clamp_border = false;
  else if (border == "clamp") o.clamp_border = true;
  else throw range_error("config.border: expected 'zeros' or 'clamp', got '" + border + "'");

  check_range(o.bands, "bands", 1, 1024);
  check_range(o.msi_bands, "msiBands", 1, 1024);
  check_range(o.ratio, "ratio", 1, 64);
  check_range(o.feats, "feats", 1, 1 << 16);
  check_range(o.blocks, "blocks", 0, 1024);
  check_range(o.chunk, "chunk", 1, int64_t(1) << 31);
  if (!(o.temperature > 0) || !std::isfinite(o.temperature))
    throw range_error("config.temperature: must be a positive number, got " + std::to_string(o.temperature));
  c.check_all_used("config");
  return o;
}

// ---------------------------------------------------------------------------------------------
// the model

InfnImpl::InfnImpl(const InfnOptions& o) : options(o) {
  spa_encoder = register_module("spa_encoder", nn::EDSRBaseline(nn::EDSROptions(o.spa_in(), o.feats, o.blocks)));
  spe_encoder = register_module("spe_encoder", nn::EDSRBaseline(nn::EDSROptions(o.bands, o.feats, o.blocks)));
  imnet = register_module("imnet", torch::nn::Sequential());
  int64_t width = o.mlp_in();
  for (int64_t hidden : o.mlp_hidden) {
    imnet->push_back(torch::nn::Linear(width, hidden));
    imnet->push_back(torch::nn::ReLU());
    width = hidden;
  }
  torch::nn::Linear last(width, o.bands);
  if (o.zero_head) {
    // The MLP predicts a residual on Y_up: starting it at zero makes the untrained model the bicubic
    // baseline, so early training refines rather than first unlearns random residuals (inf.md gives
    // no initialisation; zeroHead: false keeps PyTorch's default Linear init).
    torch::NoGradGuard no_grad;
    last->weight.zero_();
    last->bias.zero_();
  }
  imnet->push_back(last);
  // FeINFN's high-pass [[0,-1,0],[-1,1,-1],[0,-1,0]] (inf.md §2.3), one copy per channel for a
  // depth-wise conv. A buffer: it moves and casts with the module but is never trained.
  auto k = torch::tensor({0.f, -1.f, 0.f, -1.f, 1.f, -1.f, 0.f, -1.f, 0.f}).view({1, 1, 3, 3});
  hp_kernel = register_buffer("hp_kernel", k.repeat({o.feats, 1, 1, 1}).contiguous());
}

void InfnImpl::check_inputs(const NamedTensors& inputs) const {
  const auto params = parameters(true);
  const auto dtype = params.front().scalar_type();
  const auto device = params.front().device();
  const auto& y = input(inputs, "lrhsi");
  const auto& z = input(inputs, "msi");
  const auto& yup = input(inputs, "hsi_up");
  const int64_t S = options.bands, s = options.msi_bands, r = options.ratio;
  auto basic = [&](const torch::Tensor& t, const std::string& name) {
    const std::string what = "inputs." + name;
    if (!t.defined()) throw type_error(what + ": expected a Tensor");
    if (t.scalar_type() != dtype)
      throw type_error(what + ": expected dtype " + dtype_name(dtype) + " (the module's), got " +
                       dtype_name(t.scalar_type()));
    if (t.dim() != 4)
      throw range_error(what + ": expected a 4-D B x C x H x W tensor, got shape " + shape_str(t.sizes()));
    if (t.size(0) < 1 || t.size(2) < 1 || t.size(3) < 1)
      throw range_error(what + ": empty tensor of shape " + shape_str(t.sizes()));
    if (t.device() != device)
      throw range_error(what + ": is on " + device_name(t.device()) + ", the module is on " + device_name(device));
  };
  basic(y, "lrhsi");
  basic(z, "msi");
  basic(yup, "hsi_up");
  if (y.size(1) != S)
    throw range_error("inputs.lrhsi: expected " + std::to_string(S) + " bands (config.bands), got shape " +
                      shape_str(y.sizes()));
  if (z.size(1) != s)
    throw range_error("inputs.msi: expected " + std::to_string(s) + " bands (config.msiBands), got shape " +
                      shape_str(z.sizes()));
  const int64_t B = y.size(0), h = y.size(2), w = y.size(3);
  if (z.size(0) != B || yup.size(0) != B)
    throw range_error("inputs: batch sizes differ: lrhsi " + shape_str(y.sizes()) + ", msi " + shape_str(z.sizes()) +
                      ", hsi_up " + shape_str(yup.sizes()));
  if (z.size(2) != r * h || z.size(3) != r * w)
    throw range_error("inputs.msi: expected H x W = " + std::to_string(r * h) + " x " + std::to_string(r * w) +
                      " (config.ratio " + std::to_string(r) + " x the lrhsi " + std::to_string(h) + " x " +
                      std::to_string(w) + "), got shape " + shape_str(z.sizes()));
  const std::vector<int64_t> want{B, S, r * h, r * w};
  if (!yup.sizes().equals(want))
    throw range_error("inputs.hsi_up: expected shape " + shape_str(want) + " (lrhsi upsampled x" + std::to_string(r) +
                      "), got " + shape_str(yup.sizes()));
}

torch::Tensor InfnImpl::forward_named(const NamedTensors& inputs, const ForwardOptions& opts) {
  resolve_stage("infn", kStages, opts.stage);
  check_inputs(inputs);
  return fuse(input(inputs, "lrhsi"), input(inputs, "msi"), input(inputs, "hsi_up"));
}

NamedTensors InfnImpl::forward_taps(const NamedTensors& inputs, const ForwardOptions& opts) {
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

torch::Tensor InfnImpl::fuse(const torch::Tensor& lrhsi, const torch::Tensor& msi, const torch::Tensor& hsi_up) {
  const int64_t B = lrhsi.size(0), h = lrhsi.size(2), w = lrhsi.size(3);
  const int64_t H = msi.size(2), W = msi.size(3), N = H * W;
  const int64_t C = options.feats, S = options.bands, r = options.ratio;
  const auto fopts = lrhsi.options();

  auto G = spa_encoder->forward(options.spatial_cat ? torch::cat({msi, hsi_up}, 1) : msi);  // B C H W
  auto Fs = spe_encoder->forward(lrhsi);                                                    // B C h w
  auto Fh = F::conv2d(Fs, hp_kernel.to(Fs.scalar_type()), F::Conv2dFuncOptions().padding(1).groups(C));
  tap("G", G);
  tap("F", Fs);
  tap("F_hp", Fh);

  // Everything taken at the LR neighbours is sampled in one grid_sample: [F, HP(F), (G_lr), x_i].
  std::vector<torch::Tensor> lr_parts{Fs, Fh};
  if (options.hf_msi) {
    // G_lr = E_spa at LR resolution (JIIF's guide encoder on the downsampled guide); Z is
    // downsampled by r x r averaging (area), the LR image itself stands in for Y_up.
    auto z_lr = F::avg_pool2d(msi, F::AvgPool2dFuncOptions(r).stride(r));
    auto G_lr = spa_encoder->forward(options.spatial_cat ? torch::cat({z_lr, lrhsi}, 1) : z_lr);
    tap("G_lr", G_lr);
    lr_parts.push_back(G_lr);
  }
  auto lr_coord = make_coord(h, w, fopts).permute({2, 0, 1}).unsqueeze(0).expand({B, 2, h, w});
  lr_parts.push_back(lr_coord);
  auto lr_stack = torch::cat(lr_parts, 1).contiguous();  // B x K x h x w

  auto q_coord = make_coord(H, W, fopts).view({1, N, 2}).expand({B, N, 2});  // (y, x)
  auto g_flat = G.flatten(2).transpose(1, 2);                                // B N C
  auto scale = torch::tensor({double(h), double(w)}, fopts);                 // delta in LR pixels
  const double offs[2] = {-1.0, 1.0};

  auto sample_opts = F::GridSampleFuncOptions().mode(torch::kNearest).padding_mode(torch::kZeros).align_corners(false);
  std::vector<torch::Tensor> res_chunks, w_chunks, c_chunks;
  for (int64_t q0 = 0; q0 < N; q0 += options.chunk) {
    const int64_t q1 = std::min(N, q0 + options.chunk), n = q1 - q0;
    auto qc = q_coord.slice(1, q0, q1);  // B n 2
    auto gq = g_flat.slice(1, q0, q1);   // B n C
    auto gq_norm = gq.norm(2, -1);
    std::vector<torch::Tensor> zs, cs;
    for (double vy : offs) {
      for (double vx : offs) {
        auto shift = torch::tensor({vy / double(h) + kEpsShift, vx / double(w) + kEpsShift}, fopts);
        auto c = qc + shift;
        if (options.clamp_border) c = c.clamp(-1 + 1e-6, 1 - 1e-6);
        // grid_sample wants (x, y); output B x K x 1 x n
        auto smp = F::grid_sample(lr_stack, c.flip(-1).unsqueeze(1), sample_opts).squeeze(2).transpose(1, 2);  // B n K
        auto f = smp.narrow(-1, 0, C);
        auto fh = smp.narrow(-1, C, C);
        auto xi = smp.narrow(-1, smp.size(-1) - 2, 2);
        auto delta = (qc - xi) * scale;
        std::vector<torch::Tensor> parts{f, gq, fh};
        if (options.hf_msi) parts.push_back(gq - smp.narrow(-1, 2 * C, C));
        parts.push_back(delta);
        auto in = torch::cat(parts, -1);
        zs.push_back(imnet->forward(in.reshape({B * n, in.size(-1)})).view({B, n, S}));
        cs.push_back((gq * f).sum(-1) / (gq_norm * f.norm(2, -1) + kCosEps));
      }
    }
    auto z = torch::stack(zs, 2);    // B n 4 S
    auto cos = torch::stack(cs, 2);  // B n 4
    torch::Tensor wts;
    if (options.softmax_weights) {
      wts = torch::softmax(cos / options.temperature, -1);
    } else {
      // Normalised non-negative cosines; when no neighbour is positive the weights are all 0 and
      // the output is Y_up there (the clamp_min keeps 0/0 out).
      auto pos = cos.clamp_min(0);
      wts = pos / pos.sum(-1, true).clamp_min(kCosEps);
    }
    res_chunks.push_back((wts.unsqueeze(-1) * z).sum(2));  // B n S
    if (taps_) {
      w_chunks.push_back(wts.detach());
      c_chunks.push_back(cos.detach());
    }
  }
  auto res = torch::cat(res_chunks, 1).transpose(1, 2).reshape({B, S, H, W});
  if (taps_) {
    tap("weights", torch::cat(w_chunks, 1).transpose(1, 2).reshape({B, 4, H, W}));
    tap("cosine", torch::cat(c_chunks, 1).transpose(1, 2).reshape({B, 4, H, W}));
    tap("residual", res);
  }
  return hsi_up + res;
}

}  // namespace specfuse

#include "ops/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <sstream>

#include "core/errors.h"
#include "core/shape.h"
#include "ops/resample.h"

namespace specfuse::metrics {

using torch::Tensor;

namespace {

constexpr double kMatlabEps = std::numeric_limits<double>::epsilon();  // MATLAB eps = 2^-52

// ---- argument checks ----------------------------------------------------------------------------

std::string hw_str(int64_t h, int64_t w) { return std::to_string(h) + "×" + std::to_string(w); }

void check_real(const Tensor& t, const std::string& name) {
  if (!t.defined()) throw type_error(name + ": missing");
  const auto s = t.scalar_type();
  if (s == torch::kBool || c10::isComplexType(s) || !(c10::isFloatingType(s) || c10::isIntegralType(s, false)))
    throw type_error(name + ": expected a real-valued tensor (float or integer dtype), got " +
                     std::string(c10::toString(s)));
}

// fused: C×H×W or N×C×H×W, non-empty. Returns N.
int64_t check_image(const Tensor& t, const std::string& name) {
  check_real(t, name);
  if (t.dim() != 3 && t.dim() != 4)
    throw range_error(name + ": expected a C×H×W image or an N×C×H×W batch, got shape " + shape_str(t.sizes()));
  for (auto d : t.sizes())
    if (d < 1) throw range_error(name + ": empty image, shape " + shape_str(t.sizes()));
  return t.dim() == 4 ? t.size(0) : 1;
}

// `other` must have exactly the layout of `ref`.
void check_same(const Tensor& other, const std::string& name, const Tensor& ref, const std::string& ref_name) {
  check_real(other, name);
  if (other.dim() != ref.dim())
    throw range_error(name + ": shape " + shape_str(other.sizes()) + " does not match " + ref_name + " " +
                      shape_str(ref.sizes()));
  const int64_t c = ref.dim() - 3;
  if (other.size(c) != ref.size(c))
    throw range_error(name + ": has " + std::to_string(other.size(c)) + " bands but " + ref_name + " has " +
                      std::to_string(ref.size(c)) + " (shapes " + shape_str(other.sizes()) + " and " +
                      shape_str(ref.sizes()) + ")");
  if (other.sizes() != ref.sizes())
    throw range_error(name + ": shape " + shape_str(other.sizes()) + " does not match " + ref_name + " " +
                      shape_str(ref.sizes()));
}

// A PAN-like image for `n` images of h×w: accepts H×W, 1×H×W, N×H×W and N×1×H×W. Returns N×H×W.
Tensor pan_view(const Tensor& t, const std::string& name, int64_t n, int64_t h, int64_t w) {
  check_real(t, name);
  const auto s = t.sizes();
  const bool hw = s.size() >= 2 && s[s.size() - 2] == h && s[s.size() - 1] == w;
  if (hw) {
    if (s.size() == 2 && n == 1) return t.unsqueeze(0);
    if (s.size() == 3 && s[0] == n) return t;
    if (s.size() == 4 && s[0] == n && s[1] == 1) return t.squeeze(1);
  }
  throw range_error(name + ": expected " + hw_str(h, w) + (n == 1 ? " (or 1×H×W)" : "") + " or " + std::to_string(n) +
                    "×1×H×W to match the fused image, got shape " + shape_str(s));
}

void check_finite(const Tensor& t, const std::string& name) {
  if (!c10::isFloatingType(t.scalar_type())) return;
  if (!torch::isfinite(t).all().item<bool>()) throw range_error(name + ": contains non-finite values (NaN or ±Inf)");
}

void check_int_option(int64_t v, int64_t lo, int64_t hi, const std::string& name) {
  if (v < lo || v > hi)
    throw range_error("options." + name + ": must be in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                      "], got " + std::to_string(v));
}

void check_positive(double v, const std::string& name) {
  if (!std::isfinite(v) || v <= 0) throw range_error("options." + name + ": must be a finite number > 0");
}

std::vector<std::string> select_metrics(const std::vector<std::string>& asked, const std::vector<std::string>& known) {
  if (asked.empty()) return known;
  for (const auto& m : asked) {
    if (std::find(known.begin(), known.end(), m) == known.end()) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      throw range_error("options.metrics: unknown metric '" + m + "' (known: " + list + ")");
    }
  }
  std::vector<std::string> out;  // canonical order, no duplicates
  for (const auto& k : known)
    if (std::find(asked.begin(), asked.end(), k) != asked.end()) out.push_back(k);
  return out;
}

bool has(const std::vector<std::string>& list, const char* name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

Tensor as_batch(const Tensor& t) { return t.dim() == 3 ? t.unsqueeze(0) : t; }

Tensor to_f64(const Tensor& t, const torch::Device& dev) { return t.to(dev, torch::kFloat64); }

// ---- building blocks ------------------------------------------------------------------------------

// Sums of k consecutive elements along `dim`, valid positions only (size n-k+1).
Tensor sliding_sum(const Tensor& x, int64_t k, int64_t dim) {
  const int64_t n = x.size(dim);
  auto c = x.cumsum(dim);
  auto first = c.narrow(dim, k - 1, 1);
  if (n == k) return first;
  return torch::cat({first, c.narrow(dim, k, n - k) - c.narrow(dim, 0, n - k)}, dim);
}

// filter2(ones(k), x, 'valid') on the last two dims.
Tensor box_valid(const Tensor& x, int64_t k) { return sliding_sum(sliding_sum(x, k, -2), k, -1); }

// [x0, -x1, ..., -x_{n-1}] along dim 1 (the onion "conjugate" of the toolbox).
Tensor conj_tail(const Tensor& x) {
  const int64_t n = x.size(1);
  if (n == 1) return x;
  return torch::cat({x.narrow(1, 0, 1), -x.narrow(1, 1, n - 1)}, 1);
}

// onion_mult.m / onion_mult2D.m: the Cayley–Dickson product, hypercomplex components on dim 1
// (a power of two). Same recursion as the toolbox, so the same rounding order per component.
Tensor onion_mult(const Tensor& x, const Tensor& y) {
  const int64_t n = x.size(1);
  if (n == 1) return x * y;
  const int64_t h = n / 2;
  auto a = x.narrow(1, 0, h);
  auto b = conj_tail(x.narrow(1, h, h));
  auto c = y.narrow(1, 0, h);
  auto d = conj_tail(y.narrow(1, h, h));
  if (n == 2) return torch::cat({a * c - d * b, a * d + c * b}, 1);
  auto r1 = onion_mult(a, c);
  auto r2 = onion_mult(d, conj_tail(b));
  auto r3 = onion_mult(conj_tail(a), d);
  auto r4 = onion_mult(c, b);
  return torch::cat({r1 - r2, r3 + r4}, 1);
}

// onions_quality.m for a batch of blocks: gt, fused are nb × N × n (n = block²), N a power of two.
// Returns the hypercomplex quality per block and component, nb × N.
Tensor onions_quality(const Tensor& gt, const Tensor& fused, int64_t block) {
  const int64_t nbands = gt.size(1);
  const double n = double(block) * double(block);
  const double nn = n / (n - 1);
  // norm_blocco on the reference: (x - mean2) / std2 + 1, std2 = 0 -> eps.
  auto s = gt.mean(2, true);
  auto t = ((gt - s) * (gt - s)).sum(2, true).div(n - 1).sqrt();
  t = torch::where(t == 0, torch::full_like(t, kMatlabEps), t);
  auto dat1 = (gt - s) / t + 1;
  // The fused block is conjugated, normalised with the reference's mean and std, and conjugated
  // back; when the reference mean is 0 the toolbox skips the division (`if s==0`).
  auto centred = fused - s;
  auto normed = torch::where(s == 0, centred + 1, centred / t + 1);
  std::vector<double> sign(size_t(nbands), -1.0);
  sign[0] = 1.0;
  auto sg = torch::tensor(sign, gt.options()).view({1, nbands, 1});
  auto dat2 = normed * sg;

  auto m1 = dat1.mean(2);  // nb × N
  auto m2 = dat2.mean(2);
  auto mod_q1m = (m1 * m1).sum(1).sqrt();  // nb
  auto mod_q2m = (m2 * m2).sum(1).sqrt();
  auto mod_q1 = (dat1 * dat1).sum(1).sqrt();  // nb × n
  auto mod_q2 = (dat2 * dat2).sum(1).sqrt();
  auto termine2 = mod_q1m * mod_q2m;
  auto termine4 = mod_q1m.pow(2) + mod_q2m.pow(2);
  auto int1 = nn * mod_q1.pow(2).mean(1);
  auto int2 = nn * mod_q2.pow(2).mean(1);
  auto termine3 = int1 + int2 - nn * (mod_q1m.pow(2) + mod_q2m.pow(2));
  auto mean_bias = 2 * termine2 / termine4;  // nb

  auto qu = onion_mult(dat1, dat2);  // nb × N × n
  auto qm = onion_mult(m1, m2);      // nb × N
  auto qv = nn * qu.mean(2);
  auto q = qv - nn * qm;
  auto cbm = 2 / termine3;
  q = q * mean_bias.unsqueeze(1) * cbm.unsqueeze(1);
  // termine3 == 0: q = [0 ... 0 mean_bias]
  auto flat = torch::zeros_like(q);
  flat.select(1, nbands - 1).copy_(mean_bias);
  return torch::where((termine3 == 0).unsqueeze(1), flat, q);
}

// Distinct S×S blocks (blockproc [S S]) of ...×H×W, H and W multiples of S: ... × nblocks × S².
Tensor distinct_blocks(const Tensor& x, int64_t s) {
  const int64_t h = x.size(-2), w = x.size(-1);
  auto lead = x.sizes().slice(0, x.dim() - 2).vec();
  auto v = x.reshape([&] {
    auto d = lead;
    d.insert(d.end(), {h / s, s, w / s, s});
    return d;
  }());
  v = v.transpose(-3, -2);
  auto out = lead;
  out.insert(out.end(), {(h / s) * (w / s), s * s});
  return v.reshape(out);
}

// The `uqi` subfunction of D_lambda.m / D_s.m, per block (last dim): 4 cov mx my / (vx + vy) /
// (mx² + my²) with MATLAB's cov (normalised by n-1). No guard against zero denominators, as in the
// toolbox: a constant block gives NaN, which propagates to the index.
Tensor uqi_blocks(const Tensor& x, const Tensor& y) {
  const double n = double(x.size(-1));
  auto mx = x.mean(-1, true);
  auto my = y.mean(-1, true);
  auto xc = x - mx, yc = y - my;
  auto c11 = (xc * xc).sum(-1) / (n - 1);
  auto c22 = (yc * yc).sum(-1) / (n - 1);
  auto c12 = (xc * yc).sum(-1) / (n - 1);
  mx = mx.squeeze(-1);
  my = my.squeeze(-1);
  return 4 * c12 * mx * my / (c11 + c22) / (mx.pow(2) + my.pow(2));
}

Tensor cut_bounds(const Tensor& x, int64_t d) {
  if (d <= 0) return x;
  const int64_t h = x.size(-2), w = x.size(-1);
  return x.slice(-2, d - 1, h - d).slice(-1, d - 1, w - d);
}

}  // namespace

// ---- formulas -----------------------------------------------------------------------------------

Tensor matlab_uint16(const Tensor& x) {
  auto c = x.clamp(0, 65535);
  auto fl = c.floor();
  return torch::where(c - fl >= 0.5, fl + 1, fl).clamp_max(65535);
}

// Q.m: mean over bands of img_qi(GT_b, F_b, block): Wang–Bovik UIQI with box sums over a sliding
// block×block window (filter2 'valid'), the toolbox's special cases for flat windows kept.
double q_avg(const Tensor& gt, const Tensor& fused, int64_t block) {
  const double nw = double(block) * double(block);
  auto s1 = box_valid(gt, block);
  auto s2 = box_valid(fused, block);
  auto s11 = box_valid(gt * gt, block);
  auto s22 = box_valid(fused * fused, block);
  auto s12 = box_valid(gt * fused, block);
  auto mul = s1 * s2;
  auto sq_mul = s1 * s1 + s2 * s2;
  auto numerator = 4 * (nw * s12 - mul) * mul;
  auto denominator1 = nw * (s11 + s22) - sq_mul;
  auto denominator = denominator1 * sq_mul;
  auto map = torch::ones_like(denominator);
  map = torch::where((denominator1 == 0) & (sq_mul != 0), 2 * mul / sq_mul, map);
  map = torch::where(denominator != 0, numerator / denominator, map);
  return map.mean({1, 2}).mean().item<double>();
}

// SAM.m: per pixel acos(<a,b> / (|a||b|)), pixels with |a||b| = 0 left out, mean, then the real part
// in degrees. MATLAB's acos of a ratio rounded past ±1 is complex with real part 0 or π: clamping
// to [-1, 1] gives that real part. No valid pixel at all: 0/0 = NaN, as in the toolbox.
double sam_degrees(const Tensor& gt, const Tensor& fused) {
  auto prod_scal = (gt * fused).sum(0);
  auto norm_orig = (gt * gt).sum(0);
  auto norm_fusa = (fused * fused).sum(0);
  auto prod_norm = (norm_orig * norm_fusa).sqrt();
  auto valid = prod_norm != 0;
  auto ratio = torch::where(valid, prod_scal / torch::where(valid, prod_norm, torch::ones_like(prod_norm)),
                            torch::zeros_like(prod_norm));
  auto angle = torch::where(valid, ratio.clamp(-1, 1).acos(), torch::zeros_like(ratio));
  const double sum = angle.sum().item<double>();
  const double count = double(valid.sum().item<int64_t>());
  return (sum / count) * 180 / std::numbers::pi;
}

// ERGAS.m: (100/ratio) sqrt(1/C Σ_b mean((GT_b - F_b)²) / mean(GT_b)²).
double ergas(const Tensor& gt, const Tensor& fused, double ratio) {
  auto err = gt - fused;
  auto terms = (err * err).mean({1, 2}) / gt.mean({1, 2}).pow(2);
  const double acc = terms.sum().item<double>();
  return (100 / ratio) * std::sqrt((1.0 / double(gt.size(0))) * acc);
}

namespace {
// sqrt(sobel_y² + sobel_x²) with imfilter semantics: correlation, zero padding, same size.
Tensor sobel_magnitude(const Tensor& x) {
  const int64_t h = x.size(1), w = x.size(2);
  auto p = torch::constant_pad_nd(x, {1, 1, 1, 1}, 0);
  auto at = [&](int64_t a, int64_t b) { return p.slice(1, a, a + h).slice(2, b, b + w); };  // x(i+a-1, j+b-1)
  // fspecial('sobel') = [1 2 1; 0 0 0; -1 -2 -1] and its transpose [1 0 -1; 2 0 -2; 1 0 -1]
  auto gy = at(0, 0) + 2 * at(0, 1) + at(0, 2) - at(2, 0) - 2 * at(2, 1) - at(2, 2);
  auto gx = at(0, 0) - at(0, 2) + 2 * at(1, 0) - 2 * at(1, 2) + at(2, 0) - at(2, 2);
  return (gy * gy + gx * gx).sqrt();
}
}  // namespace

// SCC.m: Sobel gradient magnitudes of the interior I(2:end-1, 2:end-1, b), then one global
// uncentred normalised dot product over all bands.
double scc(const Tensor& fused, const Tensor& gt) {
  const int64_t h = fused.size(1), w = fused.size(2);
  auto mf = sobel_magnitude(fused.slice(1, 1, h - 1).slice(2, 1, w - 1));
  auto mg = sobel_magnitude(gt.slice(1, 1, h - 1).slice(2, 1, w - 1));
  const double num = (mf * mg).sum().item<double>();
  const double nf = std::sqrt((mf * mf).sum().item<double>());
  const double ng = std::sqrt((mg * mg).sum().item<double>());
  return num / nf / ng;
}

// q2n.m: mirror-pad to whole blocks, cast to uint16, zero-pad the bands to a power of two, the
// hypercomplex quality per block, its modulus, mean over blocks.
double q2n(const Tensor& gt_in, const Tensor& fused_in, int64_t block, int64_t shift) {
  Tensor gt = gt_in, fused = fused_in;
  const int64_t h = gt.size(1), w = gt.size(2);
  const int64_t stepx = (h + shift - 1) / shift, stepy = (w + shift - 1) / shift;
  const int64_t est1 = (stepx - 1) * shift + block - h;
  const int64_t est2 = (stepy - 1) * shift + block - w;
  if (est1 != 0 || est2 != 0) {
    auto pad = [&](Tensor x) {  // columns first, then rows, each mirrored including the edge sample
      if (est2 > 0) x = torch::cat({x, x.slice(2, w - est2, w).flip(2)}, 2);
      if (est1 > 0) x = torch::cat({x, x.slice(1, h - est1, h).flip(1)}, 1);
      return x;
    };
    gt = pad(gt);
    fused = pad(fused);
  }
  gt = matlab_uint16(gt);
  fused = matlab_uint16(fused);
  int64_t nbands = gt.size(0);
  int64_t p2 = 1;
  while (p2 < nbands) p2 *= 2;
  if (p2 != nbands) {
    auto z = torch::zeros({p2 - nbands, gt.size(1), gt.size(2)}, gt.options());
    gt = torch::cat({gt, z}, 0);
    fused = torch::cat({fused, z}, 0);
    nbands = p2;
  }
  auto to_blocks = [&](const Tensor& x) {                        // nb × N × block²
    auto u = x.unfold(1, block, shift).unfold(2, block, shift);  // N × sx × sy × B × B
    return u.permute({1, 2, 0, 3, 4}).reshape({stepx * stepy, nbands, block * block});
  };
  auto q = onions_quality(to_blocks(gt), to_blocks(fused), block);
  auto map = (q * q).sum(1).sqrt();
  return map.mean().item<double>();
}

// UDL analysis_accu: 10 log10(1 / mean((F - G)²)) per band on data scaled to [0, 1], then the mean.
double psnr(const Tensor& gt, const Tensor& fused, double peak) {
  auto d = fused / peak - gt / peak;
  auto mse = (d * d).mean({1, 2});
  return (10 * torch::log10(1.0 / mse)).mean().item<double>();
}

// UDL _ssim (pytorch-ssim style): 11-tap Gaussian window, sigma 1.5, normalised; zero-padded 'same'
// filtering; C1 = (0.01)², C2 = (0.03)² on data scaled to [0, 1]; mean of the map per band, then the
// mean over bands. The 2-D window is separable, so it is applied as two 1-D passes.
double ssim(const Tensor& gt, const Tensor& fused, double peak) {
  constexpr int64_t ws = 11;
  constexpr double sigma = 1.5;
  std::vector<double> g(ws);
  double total = 0;
  for (int64_t k = 0; k < ws; ++k) {
    g[size_t(k)] = std::exp(-double((k - ws / 2) * (k - ws / 2)) / (2 * sigma * sigma));
    total += g[size_t(k)];
  }
  for (auto& v : g) v /= total;
  // One zero-padded 1-D pass: out[i] = Σ_k g[k]·x[i + k - 5] (shift and add; float64 conv2d has no
  // fast CPU kernel).
  auto pass = [&](const Tensor& x, int64_t dim) {
    const int64_t n = x.size(dim);
    std::vector<int64_t> pad =
        dim == 1 ? std::vector<int64_t>{0, 0, ws / 2, ws / 2} : std::vector<int64_t>{ws / 2, ws / 2};
    auto p = torch::constant_pad_nd(x, pad, 0);
    Tensor out = p.narrow(dim, 0, n) * g[0];
    for (int64_t k = 1; k < ws; ++k) out = out + p.narrow(dim, k, n) * g[size_t(k)];
    return out;
  };
  auto filt = [&](const Tensor& x) { return pass(pass(x, 1), 2); };  // C×H×W: rows, then columns
  auto x1 = gt / peak, x2 = fused / peak;
  auto mu1 = filt(x1), mu2 = filt(x2);
  auto mu1_sq = mu1 * mu1, mu2_sq = mu2 * mu2, mu1_mu2 = mu1 * mu2;
  auto s1 = filt(x1 * x1) - mu1_sq;
  auto s2 = filt(x2 * x2) - mu2_sq;
  auto s12 = filt(x1 * x2) - mu1_mu2;
  const double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;
  auto v1 = 2.0 * s12 + c2;
  auto v2 = s1 + s2 + c2;
  auto map = ((2 * mu1_mu2 + c1) * v1) / ((mu1_sq + mu2_sq + c1) * v2);
  return map.mean({1, 2}).mean().item<double>();
}

// D_lambda.m, toolbox-1.0 mode (flag_orig_paper = 0): band-pair UIQIs on distinct S×S blocks of the
// fused image and of the upsampled MS, (mean over pairs of |ΔQ|^p)^(1/p).
double d_lambda(const Tensor& fused, const Tensor& lms, int64_t block, double p) {
  const int64_t nb = fused.size(0);
  std::vector<int64_t> is, js;
  for (int64_t i = 0; i < nb - 1; ++i)
    for (int64_t j = i + 1; j < nb; ++j) {
      is.push_back(i);
      js.push_back(j);
    }
  auto opts = torch::TensorOptions().dtype(torch::kLong).device(fused.device());
  auto I = torch::tensor(is, opts), J = torch::tensor(js, opts);
  auto fb = distinct_blocks(fused, block), mb = distinct_blocks(lms, block);  // C × nblk × S²
  auto q_exp = uqi_blocks(mb.index_select(0, I), mb.index_select(0, J)).mean(1);
  auto q_fused = uqi_blocks(fb.index_select(0, I), fb.index_select(0, J)).mean(1);
  const double acc = (q_fused - q_exp).abs().pow(p).sum().item<double>();
  const double s = (double(nb) * double(nb) - double(nb)) / 2;
  return std::pow(acc / s, 1 / p);
}

// D_s.m, toolbox-1.0 mode: per band |Q(F_b, PAN) - Q(MS_b, PAN_LP)|^q with UIQI averaged over
// distinct S×S blocks, (mean over bands)^(1/q).
double d_s(const Tensor& fused, const Tensor& lms, const Tensor& pan, const Tensor& pan_lp, int64_t block, double q) {
  auto fb = distinct_blocks(fused, block), mb = distinct_blocks(lms, block);
  auto pb = distinct_blocks(pan.unsqueeze(0), block), lb = distinct_blocks(pan_lp.unsqueeze(0), block);
  auto q_high = uqi_blocks(fb, pb.expand_as(fb)).mean(1);
  auto q_low = uqi_blocks(mb, lb.expand_as(mb)).mean(1);
  const double acc = (q_high - q_low).abs().pow(q).sum().item<double>();
  return std::pow(acc / double(fused.size(0)), 1 / q);
}

// D_lambda_K.m (Khan): 1 - Q2n(I_MS, MTF(I_F)) with S×S blocks, shift S.
double d_lambda_k(const Tensor& lms, const Tensor& fused_mtf, int64_t block) {
  return 1 - q2n(lms, fused_mtf, block, block);
}

// ---- reduced resolution -------------------------------------------------------------------------

const std::vector<std::string>& reduced_metric_names() {
  static const std::vector<std::string> names = {"Q", "SAM", "ERGAS", "SCC", "Q2n", "PSNR", "SSIM"};
  return names;
}

int64_t validate_reduced(const Tensor& fused, const Tensor& gt, const ReducedOptions& o) {
  const int64_t n = check_image(fused, "fused");
  check_same(gt, "gt", fused, "fused");
  check_int_option(o.ratio, 1, 1 << 20, "ratio");
  check_int_option(o.bits, 1, 32, "bits");
  check_int_option(o.block, 2, 1 << 20, "blockSize");
  check_int_option(o.shift, 1, o.block, "q2nShift");
  check_int_option(o.dim_cut, 0, 1 << 20, "dimCut");
  check_positive(o.peak, "peak");
  check_positive(o.scale, "scale");
  const auto metrics = select_metrics(o.metrics, reduced_metric_names());
  const int64_t h = fused.size(-2), w = fused.size(-1);
  if (o.dim_cut > 0 && (2 * o.dim_cut > h || 2 * o.dim_cut > w))
    throw range_error("options.dimCut: " + std::to_string(o.dim_cut) + " leaves no pixels of the " + hw_str(h, w) +
                      " image (I(dimCut:end-dimCut) needs H, W >= 2*dimCut)");
  const int64_t hc = o.dim_cut > 0 ? h - 2 * o.dim_cut + 1 : h;
  const int64_t wc = o.dim_cut > 0 ? w - 2 * o.dim_cut + 1 : w;
  auto need = [&](const char* metric, int64_t size, const std::string& what) {
    if (has(metrics, metric) && (hc < size || wc < size))
      throw range_error("fused: the evaluated image is " + hw_str(hc, wc) +
                        (o.dim_cut > 0 ? " after the border cut" : "") + ", smaller than " + what + " that " + metric +
                        " needs");
  };
  need("Q", o.block, "the " + hw_str(o.block, o.block) + " block (options.blockSize)");
  need("Q2n", o.block, "the " + hw_str(o.block, o.block) + " block (options.blockSize)");
  need("SCC", 3, "3×3");
  need("SSIM", 11, "the 11×11 Gaussian window");
  return n;
}

std::vector<Values> reduced_metrics(const Tensor& fused_in, const Tensor& gt_in, const ReducedOptions& o) {
  const int64_t n = validate_reduced(fused_in, gt_in, o);
  const auto metrics = select_metrics(o.metrics, reduced_metric_names());
  torch::NoGradGuard no_grad;
  const auto dev = fused_in.device();
  auto F = as_batch(to_f64(fused_in, dev));
  auto G = as_batch(to_f64(gt_in, dev));
  check_finite(F, "fused");
  check_finite(G, "gt");
  if (o.scale != 1) {
    F = F * o.scale;
    G = G * o.scale;
  }
  const double top = std::ldexp(1.0, int(o.bits));
  std::vector<Values> out;
  for (int64_t i = 0; i < n; ++i) {
    auto g = cut_bounds(G[i], o.dim_cut);
    auto f = cut_bounds(F[i], o.dim_cut);
    if (o.th_values) f = f.clamp(0, top);
    Values v;
    for (const auto& m : metrics) {
      double x = 0;
      if (m == "Q") x = q_avg(g, f, o.block);
      else if (m == "SAM") x = sam_degrees(g, f);
      else if (m == "ERGAS") x = ergas(g, f, double(o.ratio));
      else if (m == "SCC") x = scc(f, g);
      else if (m == "Q2n") x = q2n(g, f, o.block, o.shift);
      else if (m == "PSNR") x = psnr(g, f, o.peak);
      else if (m == "SSIM") x = ssim(g, f, o.peak);
      v.emplace_back(m, x);
    }
    out.push_back(std::move(v));
  }
  return out;
}

// ---- full resolution ----------------------------------------------------------------------------

const std::vector<std::string>& full_metric_names() {
  static const std::vector<std::string> names = {"D_lambda", "D_s", "QNR", "D_lambda_K", "HQNR"};
  return names;
}

namespace {
struct FullNeeds {
  bool d_lambda, d_s, d_lambda_k;
};
FullNeeds full_needs(const std::vector<std::string>& m) {
  return {has(m, "D_lambda") || has(m, "QNR"), has(m, "D_s") || has(m, "QNR") || has(m, "HQNR"),
          has(m, "D_lambda_K") || has(m, "HQNR")};
}
}  // namespace

namespace {
bool power_of_two(int64_t v) { return v >= 1 && (v & (v - 1)) == 0; }

// What full_metrics will compute itself (inputs not given but needed).
struct FullDerived {
  bool lms, pan_lp, fused_mtf;
};

FullDerived full_derived(const FullInputs& in, const FullNeeds& need) {
  return {!in.lms.defined(), need.d_s && !in.pan_lp.defined(), need.d_lambda_k && !in.fused_mtf.defined()};
}

// interp23tap and the imresize of PAN_LP need H, W divisible by a power-of-two ratio.
void check_resample_ratio(int64_t ratio, int64_t h, int64_t w, const std::string& what) {
  if (!power_of_two(ratio) || ratio < 2)
    throw range_error("options.ratio: computing " + what +
                      " uses interp23tap, which needs a power-of-two ratio >= 2, got " + std::to_string(ratio));
  if (h % ratio != 0 || w % ratio != 0)
    throw range_error("fused: " + hw_str(h, w) + " is not divisible by options.ratio " + std::to_string(ratio) +
                      " (needed to compute " + what + ")");
}
}  // namespace

int64_t validate_full(const FullInputs& in, const FullOptions& o) {
  const int64_t n = check_image(in.fused, "fused");
  const auto metrics = select_metrics(o.metrics, full_metric_names());
  const auto need = full_needs(metrics);
  const auto derive = full_derived(in, need);
  check_int_option(o.ratio, 1, 1 << 20, "ratio");
  check_int_option(o.bits, 1, 32, "bits");
  check_int_option(o.block, 2, 1 << 20, "blockSize");
  check_positive(o.scale, "scale");
  check_positive(o.p, "p");
  check_positive(o.q, "q");
  check_positive(o.alpha, "alpha");
  check_positive(o.beta, "beta");
  const int64_t c = in.fused.size(-3), h = in.fused.size(-2), w = in.fused.size(-1);
  if (h % o.block != 0 || w % o.block != 0)
    throw range_error("fused: " + hw_str(h, w) + " is not a whole number of " + hw_str(o.block, o.block) +
                      " blocks (options.blockSize); the toolbox's D_lambda, D_s and D_lambda_K refuse such sizes");
  if (need.d_lambda && c < 2)
    throw range_error("fused: D_lambda compares band pairs and needs at least 2 bands, got " + std::to_string(c));
  if (derive.lms) {
    if (!in.ms.defined())
      throw type_error(
          "lms: required (the MS image upsampled to the PAN size, I_MS), or give ms to have it computed as "
          "interp23tap(ms, ratio)");
    check_real(in.ms, "ms");
    check_resample_ratio(o.ratio, h, w, "lms = interp23tap(ms, ratio)");
    std::vector<int64_t> want = in.fused.sizes().vec();
    want[want.size() - 2] = h / o.ratio;
    want[want.size() - 1] = w / o.ratio;
    if (in.ms.sizes().vec() != want)
      throw range_error("ms: shape " + shape_str(in.ms.sizes()) + " does not match the fused image " +
                        shape_str(in.fused.sizes()) + " reduced by options.ratio " + std::to_string(o.ratio) +
                        " (expected " + shape_str(want) + ")");
  } else {
    check_same(in.lms, "lms", in.fused, "fused");
  }
  if (need.d_s) {
    if (!in.pan.defined()) throw type_error("pan: required for D_s (and QNR, HQNR)");
    pan_view(in.pan, "pan", n, h, w);
    if (derive.pan_lp) check_resample_ratio(o.ratio, h, w, "panLP = interp23tap(imresize(pan, 1/ratio), ratio)");
    else pan_view(in.pan_lp, "panLP", n, h, w);
  }
  if (need.d_lambda_k) {
    if (derive.fused_mtf) {
      if (o.sensor.empty())
        throw type_error(
            "options.sensor: required to compute MTF(fused, sensor, ratio) for D_lambda_K (and HQNR), or give "
            "fusedMTF");
      try {
        ops::ms_gnyq(ops::canonical_sensor(o.sensor), c);  // the name must be known, the band count fit it
      } catch (const ArgError& e) {
        std::string msg = e.what();
        if (msg.rfind("sensor: ", 0) == 0) msg = msg.substr(8);
        throw ArgError(e.kind, "options.sensor: " + msg + " (MTF(fused) for D_lambda_K; or give fusedMTF)");
      }
      check_int_option(o.ratio, 2, 64, "ratio");
    } else {
      check_same(in.fused_mtf, "fusedMTF", in.fused, "fused");
    }
  }
  return n;
}

std::vector<Values> full_metrics(const FullInputs& in, const FullOptions& o) {
  const int64_t n = validate_full(in, o);
  const auto metrics = select_metrics(o.metrics, full_metric_names());
  const auto need = full_needs(metrics);
  const auto derive = full_derived(in, need);
  torch::NoGradGuard no_grad;
  const auto dev = in.fused.device();
  const int64_t h = in.fused.size(-2), w = in.fused.size(-1);
  auto scaled = [&](Tensor t, const char* name) {
    check_finite(t, name);
    return o.scale != 1 ? t * o.scale : t;
  };
  auto F = scaled(as_batch(to_f64(in.fused, dev)), "fused");
  if (o.th_values) F = F.clamp(0, std::ldexp(1.0, int(o.bits)));
  Tensor M = derive.lms ? ops::interp23tap(scaled(as_batch(to_f64(in.ms, dev)), "ms"), o.ratio)
                        : scaled(as_batch(to_f64(in.lms, dev)), "lms");
  Tensor P, PL, FM;
  if (need.d_s) {
    P = scaled(to_f64(pan_view(in.pan, "pan", n, h, w), dev), "pan");
    PL = derive.pan_lp
             ? ops::interp23tap(ops::imresize_bicubic(P.unsqueeze(1), 1.0 / double(o.ratio), true), o.ratio).squeeze(1)
             : scaled(to_f64(pan_view(in.pan_lp, "panLP", n, h, w), dev), "panLP");
  }
  if (need.d_lambda_k)
    FM = derive.fused_mtf ? ops::mtf_filter(F, ops::canonical_sensor(o.sensor), o.ratio)
                          : scaled(as_batch(to_f64(in.fused_mtf, dev)), "fusedMTF");
  std::vector<Values> out;
  for (int64_t i = 0; i < n; ++i) {
    auto f = F[i];
    double dl = 0, ds = 0, dlk = 0;
    if (need.d_lambda) dl = d_lambda(f, M[i], o.block, o.p);
    if (need.d_s) ds = d_s(f, M[i], P[i], PL[i], o.block, o.q);
    if (need.d_lambda_k) dlk = d_lambda_k(M[i], FM[i], o.block);
    Values v;
    for (const auto& m : metrics) {
      if (m == "D_lambda") v.emplace_back(m, dl);
      else if (m == "D_s") v.emplace_back(m, ds);
      else if (m == "QNR") v.emplace_back(m, std::pow(1 - dl, o.alpha) * std::pow(1 - ds, o.beta));
      else if (m == "D_lambda_K") v.emplace_back(m, dlk);
      else if (m == "HQNR") v.emplace_back(m, (1 - dlk) * (1 - ds));
    }
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace specfuse::metrics

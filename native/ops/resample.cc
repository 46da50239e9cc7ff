#include "ops/resample.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include "core/errors.h"
#include "core/shape.h"

namespace specfuse::ops {
namespace {

using torch::indexing::None;
using torch::indexing::Slice;

torch::TensorOptions f64(const torch::Device& d = torch::kCPU) {
  return torch::TensorOptions().dtype(torch::kFloat64).device(d);
}
torch::TensorOptions i64(const torch::Device& d = torch::kCPU) {
  return torch::TensorOptions().dtype(torch::kLong).device(d);
}

// Index vector of length n + lo + hi extending [0, n) by `lo` samples before and `hi` after.
enum class Border { Replicate, Circular, Symmetric };
torch::Tensor border_index(int64_t n, int64_t lo, int64_t hi, Border b, const torch::Device& dev) {
  std::vector<int64_t> idx(static_cast<size_t>(n + lo + hi));
  for (int64_t j = -lo; j < n + hi; ++j) {
    int64_t k = j;
    switch (b) {
      case Border::Replicate: k = std::clamp<int64_t>(j, 0, n - 1); break;
      case Border::Circular: k = ((j % n) + n) % n; break;
      case Border::Symmetric: {  // half-point: ... x1 x0 | x0 x1 ... x_{n-1} | x_{n-1} x_{n-2} ...
        int64_t m = ((j % (2 * n)) + 2 * n) % (2 * n);
        k = m < n ? m : 2 * n - 1 - m;
        break;
      }
    }
    idx[size_t(j + lo)] = k;
  }
  return torch::tensor(idx, i64()).to(dev);
}

double cubic(double x) {  // MATLAB imresize's cubic kernel (Keys, a = -0.5)
  const double ax = std::fabs(x), ax2 = ax * ax, ax3 = ax2 * ax;
  if (ax <= 1) return 1.5 * ax3 - 2.5 * ax2 + 1;
  if (ax <= 2) return -0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2;
  return 0;
}

// The 23-tap interpolator of interp23tap.m: 2 * [0.5, 0.305334091185, 0, -0.072698593239, 0,
// 0.021809577942, 0, -0.005192756653, 0, 0.000807762146, 0, -0.000060081482] mirrored about 0.
std::vector<double> cdf23_taps() {
  const double half[12] = {0.5, 0.305334091185,  0, -0.072698593239, 0, 0.021809577942,
                           0,   -0.005192756653, 0, 0.000807762146,  0, -0.000060081482};
  std::vector<double> t(23);
  for (int k = -11; k <= 11; ++k) t[size_t(k + 11)] = 2.0 * half[std::abs(k)];
  return t;
}

void check_same_device(const torch::Tensor& a, const torch::Tensor& b, const char* an, const char* bn) {
  if (a.device() != b.device())
    throw type_error(std::string(bn) + ": on " + b.device().str() + " but " + an + " is on " + a.device().str());
}

}  // namespace

void check_ratio(int64_t ratio, const char* arg) {
  if (ratio < 2 || ratio > 64)
    throw range_error(std::string(arg) + ": must be an integer in [2, 64], got " + std::to_string(ratio));
}

void check_power_of_two(int64_t ratio, const char* arg) {
  check_ratio(ratio, arg);
  if ((ratio & (ratio - 1)) != 0)
    throw range_error(std::string(arg) + ": interp23tap needs a power of two, got " + std::to_string(ratio));
}

torch::Tensor image_f64(const torch::Tensor& x, const char* arg) {
  if (!x.defined()) throw type_error(std::string(arg) + ": missing");
  if (x.dim() != 4)
    throw range_error(std::string(arg) + ": expected a [N, C, H, W] image, got shape " + shape_str(x.sizes()));
  if (x.is_complex() || x.scalar_type() == torch::kBool) throw type_error(std::string(arg) + ": expected real values");
  if (x.numel() == 0) throw range_error(std::string(arg) + ": image is empty (shape " + shape_str(x.sizes()) + ")");
  return x.to(torch::kFloat64);
}

// ---- filter design -------------------------------------------------------------------------------

torch::Tensor gaussian_fir(double gnyq, int64_t ratio, int64_t taps, double span) {
  if (!(gnyq > 0 && gnyq < 1)) throw range_error("GNyq: must be in (0, 1), got " + std::to_string(gnyq));
  if (taps < 3 || taps % 2 == 0 || taps > 255) throw range_error("taps: must be odd in [3, 255]");
  if (ratio < 1) throw range_error("ratio: must be >= 1");
  const int64_t n = taps, half = (n - 1) / 2;
  const double fcut = 1.0 / double(ratio);
  const double sigma = std::sqrt(std::pow(span * (fcut / 2), 2) / (-2 * std::log(gnyq)));

  // fspecial('gaussian', n, sigma): exp(-(x^2+y^2) / (2 sigma^2)), entries below eps * max zeroed,
  // normalised to sum 1; then divided by its max (the centre), i.e. back to a peak of 1.
  auto hd = torch::empty({n, n}, f64());
  auto a = hd.accessor<double, 2>();
  double sum = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      const double x = double(j - half), y = double(i - half);
      double v = std::exp(-(x * x + y * y) / (2 * sigma * sigma));
      if (v < kMatlabEps) v = 0;  // max is exp(0) = 1
      a[i][j] = v;
      sum += v;
    }
  hd /= sum;
  hd /= hd.max();

  // fsamp2: rot90(fftshift(ifft2(ifftshift(Hd))), 2), real part (Hd is even, so h is real and even).
  auto h = torch::fft::fftshift(torch::fft::ifft2(torch::fft::ifftshift(hd)));
  h = torch::rot90(torch::real(h), 2, {0, 1}).contiguous();

  // fwind1's Huang window: the 1-D Kaiser window (beta 0.5, MATLAB's kaiser(n) default) sampled at
  // the radius sqrt(t1^2 + t2^2) with t = linspace(-1, 1, n), linear interpolation, 0 beyond t = 1.
  const double beta = 0.5;
  std::vector<double> t(static_cast<size_t>(n)), w1(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) {
    t[size_t(k)] = double(k - half) * (2.0 / double(n - 1));
    const double r = 2.0 * double(k) / double(n - 1) - 1.0;
    w1[size_t(k)] = std::cyl_bessel_i(0.0, beta * std::sqrt(std::max(0.0, 1.0 - r * r))) / std::cyl_bessel_i(0.0, beta);
  }
  auto w = torch::zeros({n, n}, f64());
  auto wa = w.accessor<double, 2>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      const double r = std::sqrt(t[size_t(j)] * t[size_t(j)] + t[size_t(i)] * t[size_t(i)]);
      if (r < t.front() || r > t.back()) continue;
      // interval [t[k], t[k+1]] holding r (t is increasing; r >= 0 so k >= half)
      int64_t k = int64_t(std::upper_bound(t.begin(), t.end(), r) - t.begin()) - 1;
      k = std::clamp<int64_t>(k, 0, n - 2);
      const double f = (r - t[size_t(k)]) / (t[size_t(k + 1)] - t[size_t(k)]);
      wa[i][j] = w1[size_t(k)] + f * (w1[size_t(k + 1)] - w1[size_t(k)]);
    }
  return h * w;
}

torch::Tensor mtf_kernels(const std::string& sensor, int64_t bands, int64_t ratio) {
  check_ratio(ratio);
  const auto g = ms_gnyq(sensor, bands);
  std::vector<torch::Tensor> ks;
  ks.reserve(g.size());
  for (double v : g) ks.push_back(gaussian_fir(v, ratio));
  return torch::stack(ks);
}

torch::Tensor mtf_pan_kernel(const std::string& sensor, int64_t ratio) {
  check_ratio(ratio);
  return gaussian_fir(pan_gnyq(sensor), ratio);
}

torch::Tensor lp_gauss_kernel(int64_t ratio) {
  check_ratio(ratio);
  return gaussian_fir(0.3, ratio, kMtfTaps, double(kMtfTaps));
}

// ---- filtering and resampling --------------------------------------------------------------------

torch::Tensor filter2_replicate(const torch::Tensor& x_in, const torch::Tensor& kernels) {
  auto x = image_f64(x_in, "image");
  auto k = kernels.to(x.device(), torch::kFloat64);
  if (k.dim() == 2) k = k.unsqueeze(0);
  if (k.dim() != 3 || k.size(1) != k.size(2) || k.size(1) % 2 == 0)
    throw range_error("kernels: expected [C, K, K] with odd K, got " + shape_str(k.sizes()));
  if (k.size(0) != 1 && k.size(0) != x.size(1))
    throw range_error("kernels: " + std::to_string(k.size(0)) + " kernels for " + std::to_string(x.size(1)) +
                      " channels");
  const int64_t H = x.size(2), W = x.size(3), K = k.size(1), r = K / 2;
  const int64_t Hp = H + 2 * r, Wp = W + 2 * r;
  auto xp = x.index_select(2, border_index(H, r, r, Border::Replicate, x.device()))
                .index_select(3, border_index(W, r, r, Border::Replicate, x.device()));
  // Kernel embedded with its centre at the origin; correlation = X * conj(K) in frequency.
  auto kp = torch::zeros({k.size(0), Hp, Wp}, f64(x.device()));
  kp.index_put_({Slice(), Slice(0, K), Slice(0, K)}, k);
  kp = torch::roll(kp, {-r, -r}, {1, 2});
  auto X = torch::fft::rfft2(xp);
  auto Kf = torch::fft::rfft2(kp);
  auto y = torch::fft::irfft2(X * torch::conj(Kf), c10::IntArrayRef{Hp, Wp});
  return y.index({Slice(), Slice(), Slice(r, r + H), Slice(r, r + W)}).contiguous();
}

torch::Tensor mtf_filter(const torch::Tensor& x_in, const std::string& sensor, int64_t ratio) {
  auto x = image_f64(x_in, "image");
  return filter2_replicate(x, mtf_kernels(sensor, x.size(1), ratio));
}

torch::Tensor decimate_nearest(const torch::Tensor& x_in, int64_t ratio) {
  check_ratio(ratio);
  auto x = image_f64(x_in, "image");
  if (x.size(2) % ratio || x.size(3) % ratio)
    throw range_error("image: height and width (" + std::to_string(x.size(2)) + "x" + std::to_string(x.size(3)) +
                      ") must be divisible by the ratio " + std::to_string(ratio));
  const int64_t off = ratio / 2;
  return x.index({Slice(), Slice(), Slice(off, None, ratio), Slice(off, None, ratio)}).contiguous();
}

torch::Tensor imresize_matrix(int64_t in, double scale, bool antialias) {
  if (in < 1) throw range_error("imresize: input length must be >= 1");
  if (!(scale > 0) || !std::isfinite(scale)) throw range_error("scale: must be a positive number");
  const int64_t out = int64_t(std::ceil(scale * double(in) - 1e-9));
  if (out < 1) throw range_error("scale: output would be empty");
  const bool widen = antialias && scale < 1;
  const double width = widen ? 4.0 / scale : 4.0;
  const int64_t P = int64_t(std::ceil(width)) + 2;
  auto m = torch::zeros({out, in}, f64());
  auto a = m.accessor<double, 2>();
  std::vector<double> wts(static_cast<size_t>(P));
  for (int64_t x = 1; x <= out; ++x) {  // MATLAB's 1-based output coordinate
    const double u = double(x) / scale + 0.5 * (1.0 - 1.0 / scale);
    const int64_t left = int64_t(std::floor(u - width / 2));
    double sum = 0;
    for (int64_t p = 0; p < P; ++p) {
      const double d = u - double(left + p);
      wts[size_t(p)] = widen ? scale * cubic(scale * d) : cubic(d);
      sum += wts[size_t(p)];
    }
    for (int64_t p = 0; p < P; ++p) {
      // mirror the 1-based index into [1, in]: aux = [1:in, in:-1:1]
      const int64_t j = left + p - 1;
      const int64_t mm = ((j % (2 * in)) + 2 * in) % (2 * in);
      const int64_t src = mm < in ? mm : 2 * in - 1 - mm;
      a[x - 1][src] += wts[size_t(p)] / sum;
    }
  }
  return m;
}

torch::Tensor imresize_bicubic(const torch::Tensor& x_in, double scale, bool antialias) {
  auto x = image_f64(x_in, "image");
  auto mh = imresize_matrix(x.size(2), scale, antialias).to(x.device());
  auto mw = imresize_matrix(x.size(3), scale, antialias).to(x.device());
  return torch::matmul(torch::matmul(mh, x), mw.t()).contiguous();
}

torch::Tensor bicubic_torch(const torch::Tensor& x_in, int64_t ratio) {
  check_ratio(ratio);
  auto x = image_f64(x_in, "image");
  if (x.size(2) % ratio || x.size(3) % ratio)
    throw range_error("image: height and width must be divisible by the ratio " + std::to_string(ratio));
  namespace F = torch::nn::functional;
  const double s = 1.0 / double(ratio);
  return F::interpolate(
      x,
      F::InterpolateFuncOptions().scale_factor(std::vector<double>{s, s}).mode(torch::kBicubic).align_corners(false));
}

namespace {

// One x2 stage of interp23tap along `dim`, polyphase: the samples land at positions off, off+2, ...
// of a zero-filled signal of twice the length, which is then correlated with the 23-tap CDF filter
// (circular borders). The filter's even taps are 0 except the centre (1), so the samples pass
// unchanged and each in-between position is a 12-tap sum of the samples around it.
torch::Tensor upsample2_cdf23(const torch::Tensor& x, int64_t dim, int64_t off) {
  const auto taps = cdf23_taps();
  const int64_t n = x.size(dim);
  auto ext = x.index_select(dim, border_index(n, 6, 6, Border::Circular, x.device()));  // ext[j + 6] = x[j mod n]
  torch::Tensor mid;
  for (int64_t k = -11; k <= 11; k += 2) {  // odd taps
    // in-between output 2i + (1 - off) reads z[2i + 1 - off + k] = x[i + (k + 1 - 2 off) / 2]
    const int64_t shift = (k + 1 - 2 * off) / 2;
    auto term = ext.narrow(dim, 6 + shift, n) * taps[size_t(k + 11)];
    mid = mid.defined() ? mid.add_(term) : term;
  }
  auto pair = off == 0 ? torch::stack({x, mid}, dim + 1) : torch::stack({mid, x}, dim + 1);
  return pair.flatten(dim, dim + 1);
}

}  // namespace

torch::Tensor interp23tap(const torch::Tensor& x_in, int64_t ratio) {
  check_power_of_two(ratio);
  auto x = image_f64(x_in, "image");
  bool first = true;
  for (int64_t r = ratio; r > 1; r /= 2) {
    const int64_t off = first ? 1 : 0;  // MATLAB: 2:2:end on the first stage, 1:2:end afterwards
    first = false;
    // Zero insertion and the separable filter commute per axis: upsample rows, then columns.
    x = upsample2_cdf23(upsample2_cdf23(x, 2, off), 3, off);
  }
  return x.contiguous();
}

namespace {

// The 1-D operator of LPfilterPlusDec before decimation, as an [n, n] matrix (applied to columns):
// `levels` analysis steps of MATLAB's ndwt2 'sym' mode (half-point symmetric extension, full
// convolution, length +4 each) then `levels` synthesis steps of indwt2 from the approximation only
// (full convolution, central crop, length -4 each). The filters are sqrt(2)*[1 4 6 4 1]/16; with the
// synthesis /4 the 2-D gains cancel, so [1 4 6 4 1]/16 is used per dimension.
torch::Tensor starck_murtagh_matrix(int64_t n, int64_t levels) {
  const double b[5] = {1 / 16.0, 4 / 16.0, 6 / 16.0, 4 / 16.0, 1 / 16.0};
  auto x = torch::eye(n, f64());  // row i = response to an impulse at i
  for (int64_t l = 0; l < levels; ++l) {
    const int64_t L = x.size(1);
    auto ext = x.index_select(1, border_index(L, 4, 4, Border::Symmetric, torch::kCPU));  // ext[j + 4] = x_ext[j]
    torch::Tensor y;
    for (int k = 0; k < 5; ++k) {  // y[m] = sum_k b[k] x_ext[m - k], m in [0, L + 4)
      auto term = ext.narrow(1, 4 - k, L + 4) * b[k];
      y = y.defined() ? y.add_(term) : term;
    }
    x = y;
  }
  for (int64_t l = 0; l < levels; ++l) {
    const int64_t L = x.size(1);
    torch::Tensor y;
    for (int k = 0; k < 5; ++k) {  // full convolution, keep samples 4 .. L-1: y[i] = sum_k b[k] x[i + 4 - k]
      auto term = x.narrow(1, 4 - k, L - 4) * b[k];
      y = y.defined() ? y.add_(term) : term;
    }
    x = y;
  }
  return x.t().contiguous();
}

}  // namespace

torch::Tensor lp_plus_dec(const torch::Tensor& x_in, int64_t ratio) {
  check_ratio(ratio);
  auto x = image_f64(x_in, "image");
  const int64_t H = x.size(2), W = x.size(3);
  if (H % ratio || W % ratio)
    throw range_error("image: height and width (" + std::to_string(H) + "x" + std::to_string(W) +
                      ") must be divisible by the ratio " + std::to_string(ratio));
  const int64_t levels = int64_t(std::ceil(std::log2(double(ratio)) - 1e-12));
  const int64_t off = ratio / 2;
  auto rows = torch::arange(off, H, ratio, i64());
  auto cols = torch::arange(off, W, ratio, i64());
  auto mh = starck_murtagh_matrix(H, levels).index_select(0, rows).to(x.device());
  auto mw = starck_murtagh_matrix(W, levels).index_select(0, cols).to(x.device());
  return torch::matmul(torch::matmul(mh, x), mw.t()).contiguous();
}

// ---- Wald's protocol -----------------------------------------------------------------------------

WaldSet wald_degrade(const torch::Tensor& ms_in, const torch::Tensor& pan_in, const std::string& sensor, int64_t ratio,
                     const WaldOptions& opts) {
  check_power_of_two(ratio);
  auto ms = image_f64(ms_in, "ms");
  auto pan = image_f64(pan_in, "pan");
  check_same_device(ms, pan, "ms", "pan");
  const int64_t N = ms.size(0), C = ms.size(1), h = ms.size(2), w = ms.size(3);
  ms_gnyq(sensor, C);  // band-count check
  if (pan.size(1) != 1) throw range_error("pan: expected 1 channel, got " + std::to_string(pan.size(1)));
  if (pan.size(0) != N)
    throw range_error("pan: batch of " + std::to_string(pan.size(0)) + " but ms has " + std::to_string(N));
  if (pan.size(2) != ratio * h || pan.size(3) != ratio * w)
    throw range_error("pan: expected " + std::to_string(ratio * h) + "x" + std::to_string(ratio * w) + " (ratio " +
                      std::to_string(ratio) + " x the ms " + std::to_string(h) + "x" + std::to_string(w) + "), got " +
                      std::to_string(pan.size(2)) + "x" + std::to_string(pan.size(3)));
  if (h % ratio || w % ratio)
    throw range_error("ms: height and width (" + std::to_string(h) + "x" + std::to_string(w) +
                      ") must be divisible by the ratio " + std::to_string(ratio) + " to be degraded");
  WaldSet s;
  s.gt = ms;
  s.ms = decimate_nearest(mtf_filter(ms, sensor, ratio), ratio);
  s.pan = opts.pan_mtf ? decimate_nearest(filter2_replicate(pan, mtf_pan_kernel(sensor, ratio)), ratio)
                       : imresize_bicubic(pan, 1.0 / double(ratio), true);
  s.lms = interp23tap(s.ms, ratio);
  return s;
}

namespace {
torch::Tensor cut(const torch::Tensor& x, int64_t p, int64_t s) {
  // [N, C, H, W] -> [N * nY * nX, C, p, p], row-major grid per image
  auto u = x.unfold(2, p, s).unfold(3, p, s);  // [N, C, nY, nX, p, p]
  return u.permute({0, 2, 3, 1, 4, 5}).reshape({-1, x.size(1), p, p});
}
torch::Tensor with_flips(const torch::Tensor& x, bool flips) {
  if (!flips) return x.contiguous();
  return torch::cat({x, x.flip({2}), x.flip({3})}, 0);
}
}  // namespace

WaldSet wald_patches(const torch::Tensor& ms, const torch::Tensor& pan, const std::string& sensor, int64_t ratio,
                     const PatchOptions& o) {
  check_power_of_two(ratio);
  if (o.patch < ratio || o.patch % ratio)
    throw range_error("patch: must be a positive multiple of the ratio " + std::to_string(ratio) + ", got " +
                      std::to_string(o.patch));
  if (o.stride < ratio || o.stride % ratio)
    throw range_error("stride: must be a positive multiple of the ratio " + std::to_string(ratio) + ", got " +
                      std::to_string(o.stride));
  if (ms.defined() && ms.dim() == 4 && (ms.size(2) < o.patch || ms.size(3) < o.patch))
    throw range_error("patch: " + std::to_string(o.patch) + " is larger than the reduced-resolution image (" +
                      std::to_string(ms.size(2)) + "x" + std::to_string(ms.size(3)) + ")");
  auto d = wald_degrade(ms, pan, sensor, ratio, o.wald);
  WaldSet out;
  out.gt = with_flips(cut(d.gt, o.patch, o.stride), o.flips);
  out.lms = with_flips(cut(d.lms, o.patch, o.stride), o.flips);
  out.ms = with_flips(cut(d.ms, o.patch / ratio, o.stride / ratio), o.flips);
  out.pan = with_flips(cut(d.pan, o.patch, o.stride), o.flips);
  return out;
}

}  // namespace specfuse::ops

// Wald's-protocol resampling for pansharpening, reproducing the MATLAB toolbox of Vivone et al. (as
// shipped in DLPan-Toolbox, Tools/): the sensor-MTF-matched Gaussian filters (genMTF.m, MTF_PAN.m,
// LPfilterGauss.m), their 'replicate' filtering (imfilter), decimation by imresize(., 1/r, 'nearest'),
// MATLAB's bicubic imresize with antialiasing, the 23-tap CDF interpolator (interp23tap.m), the
// Starck-Murtagh low-pass + decimation used by GSA (LPfilterPlusDec.m) and the full reduced-resolution
// degradation of an MS + PAN pair (resize_images.m).
//
// Pure C++ over libtorch: no Node-API here. Every image is a 4-D [N, C, H, W] tensor (any real dtype,
// any device); results are float64 on the input's device. Bad arguments throw ArgError (TypeError /
// RangeError in JS) naming the argument.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ops/sensors.h"  // sensor names and MTF gains, used by every MTF-matched filter here

namespace specfuse::ops {

constexpr int64_t kMtfTaps = 41;
constexpr double kMatlabEps = 2.220446049250313e-16;  // MATLAB eps (std::numeric_limits<double>::epsilon())

// ---- filter design -------------------------------------------------------------------------------

// The toolbox's Gaussian FIR design: sigma = sqrt((span * fcut / 2)^2 / (-2 ln gnyq)), fcut = 1/ratio;
// H = fspecial('gaussian', taps, sigma) normalised by its max is used as the desired *frequency
// response*; h = fwind1(H, kaiser(taps)) (frequency sampling + Huang's circular Kaiser window,
// beta 0.5). Not renormalised, exactly as MATLAB's fwind1 (sum(h) is ~0.99..1, not exactly 1).
// genMTF / MTF_PAN use span = taps - 1, LPfilterGauss uses span = taps. Returns [taps, taps] f64 (CPU).
torch::Tensor gaussian_fir(double gnyq, int64_t ratio, int64_t taps = kMtfTaps, double span = kMtfTaps - 1);
// genMTF(ratio, sensor, bands): [bands, 41, 41] f64.
torch::Tensor mtf_kernels(const std::string& sensor, int64_t bands, int64_t ratio);
// MTF_PAN's filter: [41, 41] f64.
torch::Tensor mtf_pan_kernel(const std::string& sensor, int64_t ratio);
// LPfilterGauss's filter (GNyq 0.3, span N): [41, 41] f64.
torch::Tensor lp_gauss_kernel(int64_t ratio);

// ---- filtering and resampling --------------------------------------------------------------------

// imfilter(x_c, k_c, 'replicate') per channel: correlation, 'same' size, odd square kernels.
// kernels [C, K, K] (one per channel) or [K, K] / [1, K, K] (shared). Computed by FFT in float64.
torch::Tensor filter2_replicate(const torch::Tensor& x, const torch::Tensor& kernels);
// MTF(I_MS, sensor, ratio): the per-band genMTF filters.
torch::Tensor mtf_filter(const torch::Tensor& x, const std::string& sensor, int64_t ratio);
// imresize(x, 1/ratio, 'nearest'): keeps rows/cols floor(ratio/2) + k*ratio. H, W divisible by ratio.
torch::Tensor decimate_nearest(const torch::Tensor& x, int64_t ratio);
// The [out, in] matrix of MATLAB's imresize along one dimension (bicubic, a = -0.5, mirrored
// borders, weights normalised per output sample; kernel widened by 1/scale when antialiasing a
// downscale). out = ceil(scale * in).
torch::Tensor imresize_matrix(int64_t in, double scale, bool antialias);
// imresize(x, scale) (bicubic; antialias = MATLAB's default 'Antialiasing', true).
torch::Tensor imresize_bicubic(const torch::Tensor& x, double scale, bool antialias = true);
// PyTorch's F.interpolate(x, scale_factor=1/ratio, mode='bicubic', align_corners=False) (a = -0.75,
// no antialias, clamped borders): the downsample PanAdapter applies to LMS.
torch::Tensor bicubic_torch(const torch::Tensor& x, int64_t ratio);
// interp23tap(x, ratio): log2(ratio) stages of x2 zero insertion (first stage at odd 0-based
// positions, later ones at even positions) + the separable 23-tap CDF filter, circular borders.
// ratio must be a power of two.
torch::Tensor interp23tap(const torch::Tensor& x, int64_t ratio);
// LPfilterPlusDec(x, ratio): ceil(log2 ratio) levels of MATLAB's ndwt2 ('sym' mode) with the
// Starck-Murtagh [1 4 6 4 1]/16 filters, reconstruction from the approximation only, then
// imresize(., 1/ratio, 'nearest'). [N, C, H, W] -> [N, C, H/ratio, W/ratio].
torch::Tensor lp_plus_dec(const torch::Tensor& x, int64_t ratio);

// ---- Wald's protocol -----------------------------------------------------------------------------

struct WaldSet {
  torch::Tensor gt;   // the original MS, [N, C, h, w]
  torch::Tensor lms;  // interp23tap(ms), [N, C, h, w]
  torch::Tensor ms;   // MTF-filtered + decimated MS, [N, C, h/r, w/r]
  torch::Tensor pan;  // degraded PAN, [N, 1, h, w]
};

struct WaldOptions {
  // PAN degradation: false (toolbox default, flag_PAN_MTF = 0) = imresize(PAN, 1/ratio) bicubic with
  // antialiasing; true = MTF_PAN filter + nearest decimation.
  bool pan_mtf = false;
};

// resize_images.m on an original pair ms [N, C, h, w] + pan [N, 1, ratio*h, ratio*w], plus
// lms = interp23tap(ms_lr, ratio); h, w divisible by ratio; C must fit the sensor.
WaldSet wald_degrade(const torch::Tensor& ms, const torch::Tensor& pan, const std::string& sensor, int64_t ratio,
                     const WaldOptions& opts = {});

struct PatchOptions {
  int64_t patch = 64;   // HR patch side (gt, lms, pan); ms patches are patch / ratio
  int64_t stride = 48;  // HR stride (DLPan's Demo_DataSimu: 64 with an overlap of 4 LR pixels)
  bool flips = false;   // append up-down then left-right flipped copies (Demo_DataSimu order)
  WaldOptions wald;
};

// Degrades each image and cuts it into PanCollection-layout patches (row-major grid, images in order).
WaldSet wald_patches(const torch::Tensor& ms, const torch::Tensor& pan, const std::string& sensor, int64_t ratio,
                     const PatchOptions& opts);

// ---- shared validation helpers (also used by baselines.cc) ---------------------------------------

// A real-valued, non-empty 4-D image (TypeError / RangeError naming `arg`); returns it as float64.
torch::Tensor image_f64(const torch::Tensor& x, const char* arg);
// ratio in [2, 64] (RangeError naming `arg` otherwise).
void check_ratio(int64_t ratio, const char* arg = "ratio");
void check_power_of_two(int64_t ratio, const char* arg = "ratio");

}  // namespace specfuse::ops

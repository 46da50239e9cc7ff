// Pansharpening quality metrics, computed as the reference MATLAB toolbox computes them (Vivone et
// al. "Pansharpening Toolbox for Distribution", as shipped in the DLPan toolbox: Quality_Indices/*.m
// and Tools/indexes_evaluation*.m), plus PSNR/SSIM as the UDL/PanCollection Python code computes
// them. Pure C++ over libtorch: nothing here knows about Node.
//
// Layout: one image is C×H×W (bands first, row-major), a batch N×C×H×W; a PAN image is H×W, 1×H×W
// or, in a batch, N×1×H×W. Inputs may have any real dtype and live on any device; every value is
// computed in float64 on the device of the fused image (other inputs are copied there).
//
// The toolbox's formulas are kept literally, including its quirks (documented per function in
// metrics.cc): that is what makes the numbers comparable with published tables.
#pragma once
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace specfuse::metrics {

// Named values of one image, in a fixed order.
using Values = std::vector<std::pair<std::string, double>>;

// ---- reduced resolution (indexes_evaluation.m + PSNR/SSIM) ----------------------------------------

struct ReducedOptions {
  int64_t ratio = 4;                 // PAN/MS scale ratio (ERGAS: 100/ratio)
  int64_t bits = 11;                 // L: radiometric resolution; the threshold is 2^L
  int64_t block = 32;                // Q window and Q2n block (Q_blocks_size)
  int64_t shift = 32;                // Q2n block shift (the toolbox passes Q_blocks_size)
  int64_t dim_cut = 0;               // 0: flag_cut_bounds = 0; d >= 1: I(d:end-d, d:end-d, :)
  bool th_values = false;            // clip the fused image to [0, 2^L] first
  double peak = 2047;                // PSNR/SSIM: the value that maps to 1.0 (UDL works on x / peak)
  double scale = 1;                  // both images are multiplied by this first (2047: [0,1] data back to DN)
  std::vector<std::string> metrics;  // any of Q, SAM, ERGAS, SCC, Q2n, PSNR, SSIM (empty: all)
};

const std::vector<std::string>& reduced_metric_names();

// Checks names, dtypes, shapes and options (cheap, no data touched); throws TypeError/RangeError
// naming the argument. Returns the batch size (1 for a C×H×W image).
int64_t validate_reduced(const torch::Tensor& fused, const torch::Tensor& gt, const ReducedOptions& o);
// One Values per image. Also checks that the data are finite.
std::vector<Values> reduced_metrics(const torch::Tensor& fused, const torch::Tensor& gt, const ReducedOptions& o);

// ---- full resolution (indexes_evaluation_FS.m: QNR / HQNR) ----------------------------------------

struct FullOptions {
  int64_t ratio = 4;
  int64_t bits = 11;
  int64_t block = 32;      // S
  bool th_values = false;  // clip the fused image to [0, 2^L] first
  double scale = 1;        // every input image is multiplied by this first
  std::string sensor;      // for MTF(fused) when fused_mtf is not given (resample.h names)
  double p = 1, q = 1, alpha = 1, beta = 1;
  std::vector<std::string> metrics;  // any of D_lambda, D_s, QNR, D_lambda_K, HQNR (empty: all)
};

const std::vector<std::string>& full_metric_names();

// Inputs that are not given are computed with ops/resample.h when a metric needs them:
//   lms       = interp23tap(ms, ratio)                          (needs ms)
//   pan_lp    = interp23tap(imresize(pan, 1/ratio), ratio)      (bicubic with antialiasing)
//   fused_mtf = MTF(fused, sensor, ratio)                       (needs options.sensor)
struct FullInputs {
  torch::Tensor fused;      // I_F, C×H×W (or N×C×H×W)
  torch::Tensor lms;        // I_MS: the MS image upsampled to the PAN size, C×H×W
  torch::Tensor ms;         // I_MS_LR: C×(H/ratio)×(W/ratio); only used to compute lms
  torch::Tensor pan;        // I_PAN, H×W
  torch::Tensor pan_lp;     // PAN_LP (D_s), H×W
  torch::Tensor fused_mtf;  // MTF(I_F) (D_lambda_K), C×H×W
};

int64_t validate_full(const FullInputs& in, const FullOptions& o);
std::vector<Values> full_metrics(const FullInputs& in, const FullOptions& o);

// ---- the single formulas, on float64 C×H×W tensors of equal shape (no checks) --------------------

double q_avg(const torch::Tensor& gt, const torch::Tensor& fused, int64_t block);                // Q.m + img_qi.m
double sam_degrees(const torch::Tensor& gt, const torch::Tensor& fused);                         // SAM.m
double ergas(const torch::Tensor& gt, const torch::Tensor& fused, double ratio);                 // ERGAS.m
double scc(const torch::Tensor& fused, const torch::Tensor& gt);                                 // SCC.m
double q2n(const torch::Tensor& gt, const torch::Tensor& fused, int64_t block, int64_t shift);   // q2n.m
double psnr(const torch::Tensor& gt, const torch::Tensor& fused, double peak);                   // UDL analysis_accu
double ssim(const torch::Tensor& gt, const torch::Tensor& fused, double peak);                   // UDL _ssim
double d_lambda(const torch::Tensor& fused, const torch::Tensor& lms, int64_t block, double p);  // D_lambda.m
double d_s(const torch::Tensor& fused, const torch::Tensor& lms, const torch::Tensor& pan, const torch::Tensor& pan_lp,
           int64_t block, double q);                                                         // D_s.m
double d_lambda_k(const torch::Tensor& lms, const torch::Tensor& fused_mtf, int64_t block);  // D_lambda_K.m

// MATLAB's uint16(x) on double data: round half away from zero, saturate to [0, 65535]; the result
// stays float64.
torch::Tensor matlab_uint16(const torch::Tensor& x);

}  // namespace specfuse::metrics

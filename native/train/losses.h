// Training losses beyond the pixel losses: CrossDiff's no-reference loss for full-resolution
// training (the reference's fusionnet.py train_step), usable with any pansharpening model whose
// output is the fused image in the inputs' scale.
#pragma once
#include "models/model.h"

namespace specfuse {

// Global (not block-wise) universal image quality index of each (b, c) plane of x against y:
// 4·σxy·μx·μy / ((σx² + σy²)(μx² + μy²)), (B, C).
torch::Tensor q_index_global(const torch::Tensor& x, const torch::Tensor& y);

struct QnrTerms {
  torch::Tensor d_lambda, d_s, qnr;  // scalars, averaged over the batch
};

// D_λ = mean_{i≠j} |Q(F_i, F_j) − Q(M_i, M_j)|, D_s = mean_i |Q(F_i, P) − Q(M_i, area↓(P))|,
// QNR = (1 − D_λ)(1 − D_s); fused (B, C, H, W), ms (B, C, H/r, W/r), pan (B, 1, H, W).
QnrTerms qnr_global(const torch::Tensor& fused, const torch::Tensor& ms, const torch::Tensor& pan);

// (1 − QNR) + 1e-4·[L1(area↓(G(F)), MS) + 1 − SSIM₅] + 1e-5·[L1(G(F), LMS) + 1 − SSIM₅], G the
// depth-wise 5×5 Gaussian of σ = 2; inputs pan, ms and lms.
torch::Tensor no_reference_loss(const torch::Tensor& fused, const NamedTensors& inputs);

// SSIM with a 5×5 Gaussian window (σ = 1.5), zero padding, data range 1, averaged.
torch::Tensor ssim5(const torch::Tensor& x, const torch::Tensor& y);

}  // namespace specfuse

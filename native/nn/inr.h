// PanAdapter's INR tail: edge-aligned coordinate grids, bilinear grid sampling of token maps, and the
// 1x1-conv sine MLP (`net.{0,2,4}`). Names follow test/pyref/panadapter.py.
#pragma once
#include <cstdint>

namespace specfuse::nn {

// sin(omega * x).
class SineImpl : public torch::nn::Module {
 public:
  explicit SineImpl(double omega = 1.0) : omega(omega) {}
  torch::Tensor forward(const torch::Tensor& x) { return torch::sin(x * omega); }
  double omega;
};
TORCH_MODULE(Sine);

struct INRTailOptions {
  INRTailOptions(int64_t in_channels, int64_t hidden, int64_t out_channels)
      : in_channels_(in_channels), hidden_(hidden), out_channels_(out_channels) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, hidden);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(double, omega) = 1.0;
};

// Conv1x1(in -> hidden) -> sin -> Conv1x1(hidden -> hidden) -> sin -> Conv1x1(hidden -> out).
class INRTailImpl : public torch::nn::Module {
 public:
  explicit INRTailImpl(const INRTailOptions& options);
  torch::Tensor forward(const torch::Tensor& x);

  INRTailOptions options;
  torch::nn::Sequential net{nullptr};
};
TORCH_MODULE(INRTail);

// Edge-aligned INR coordinates (batch, size, size, 2): x and y are linspace(-1, 1, size),
// grid[b, i, j] = (x_j, y_i), the grid_sample convention.
torch::Tensor coord_grid(int64_t size, int64_t batch, const torch::TensorOptions& options);

// (L, B, E) sequence-first tokens -> (B, E, side, side), row-major (index = y * side + x).
torch::Tensor tokens_to_map(const torch::Tensor& tokens, int64_t side);

// grid_sample(map, grid), bilinear, zeros padding, align_corners = false.
torch::Tensor sample_bilinear(const torch::Tensor& map, const torch::Tensor& grid);

}  // namespace specfuse::nn

#include "nn/inr.h"

#include "nn/sequential.h"

namespace specfuse::nn {

INRTailImpl::INRTailImpl(const INRTailOptions& o) : options(o) {
  auto conv1x1 = [](int64_t cin, int64_t cout) { return torch::nn::Conv2d(torch::nn::Conv2dOptions(cin, cout, 1)); };
  net = register_module(
      "net", sequential_in_order([&] { return conv1x1(o.in_channels(), o.hidden()); }, [&] { return Sine(o.omega()); },
                                 [&] { return conv1x1(o.hidden(), o.hidden()); }, [&] { return Sine(o.omega()); },
                                 [&] { return conv1x1(o.hidden(), o.out_channels()); }));
}

torch::Tensor INRTailImpl::forward(const torch::Tensor& x) { return net->forward(x); }

torch::Tensor coord_grid(int64_t size, int64_t batch, const torch::TensorOptions& options) {
  auto lin = torch::linspace(-1.0, 1.0, size, options);
  auto yx = torch::meshgrid({lin, lin}, "ij");
  auto grid = torch::stack({yx[1], yx[0]}, -1);  // (size, size, 2), last dim (x, y)
  return grid.unsqueeze(0).expand({batch, size, size, 2});
}

torch::Tensor tokens_to_map(const torch::Tensor& tokens, int64_t side) {
  const int64_t B = tokens.size(1), E = tokens.size(2);
  return tokens.permute({1, 2, 0}).reshape({B, E, side, side});
}

torch::Tensor sample_bilinear(const torch::Tensor& map, const torch::Tensor& grid) {
  namespace F = torch::nn::functional;
  return F::grid_sample(
      map, grid, F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kZeros).align_corners(false));
}

}  // namespace specfuse::nn

// Building torch::nn::Sequential containers in a fixed order.
#pragma once

namespace specfuse::nn {

// A Sequential built from modules in the order given. Construct submodules one statement at a time
// (or through this helper's callers in order): the evaluation order of function arguments is
// unspecified (GCC goes right to left), and the order in which modules are constructed is the order
// in which their initialisation draws random numbers. Keeping it equal to PyTorch's makes a seeded
// C++ model start from the same weights as the seeded Python reference.
template <typename... Builders>
torch::nn::Sequential sequential_in_order(Builders&&... builders) {
  torch::nn::Sequential seq;
  (seq->push_back(builders()), ...);  // a fold over the comma operator runs left to right
  return seq;
}

}  // namespace specfuse::nn

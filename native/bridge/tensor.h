// The JS Tensor: one ObjectWrap holding one torch::Tensor.
//
// Data crosses the boundary by copy in both directions (external ArrayBuffers are refused by V8
// sandboxed builds, and a copy decouples GC from libtorch's allocator). dispose() frees at once.
// Undisposed tensors are freed by the destructor, which Node runs inside the GC (the addon is built
// with the experimental Node-API version, see CMakeLists.txt), so it must touch no JS state: it only
// drops the torch::Tensor and adjusts counters. CPU bytes are reported to V8 so that it collects.
#pragma once
#include <napi.h>

#include <memory>

#include "bridge/async.h"
#include "bridge/env.h"

namespace specfuse {

class TensorWrap : public Napi::ObjectWrap<TensorWrap>, public Pinnable {
 public:
  static Napi::Function Init(Napi::Env env, Napi::Object exports);
  static Napi::Object Wrap(Napi::Env env, torch::Tensor t);
  // Unwraps a JS Tensor argument (TypeError naming `arg` otherwise; Error when disposed).
  static TensorWrap* From(const Napi::Value& v, const char* arg);
  static bool Is(const Napi::Value& v);

  explicit TensorWrap(const Napi::CallbackInfo& info);
  ~TensorWrap() override;

  const torch::Tensor& tensor(const char* arg = "tensor") const;

 private:
  void Set(torch::Tensor t);
  void Release();

  // accessors
  Napi::Value Shape(const Napi::CallbackInfo& info);
  Napi::Value Strides(const Napi::CallbackInfo& info);
  Napi::Value DType(const Napi::CallbackInfo& info);
  Napi::Value Device(const Napi::CallbackInfo& info);
  Napi::Value Numel(const Napi::CallbackInfo& info);
  Napi::Value Disposed(const Napi::CallbackInfo& info);
  Napi::Value RequiresGrad(const Napi::CallbackInfo& info);
  Napi::Value Busy(const Napi::CallbackInfo& info);
  // data out
  Napi::Value DataSync(const Napi::CallbackInfo& info);
  Napi::Value Data(const Napi::CallbackInfo& info);
  Napi::Value Item(const Napi::CallbackInfo& info);
  // conversions and views
  Napi::Value To(const Napi::CallbackInfo& info);
  Napi::Value Clone(const Napi::CallbackInfo& info);
  Napi::Value Contiguous(const Napi::CallbackInfo& info);
  Napi::Value Reshape(const Napi::CallbackInfo& info);
  Napi::Value Permute(const Napi::CallbackInfo& info);
  Napi::Value Transpose(const Napi::CallbackInfo& info);
  Napi::Value Slice(const Napi::CallbackInfo& info);
  Napi::Value Select(const Napi::CallbackInfo& info);
  Napi::Value Flip(const Napi::CallbackInfo& info);
  Napi::Value Squeeze(const Napi::CallbackInfo& info);
  Napi::Value Unsqueeze(const Napi::CallbackInfo& info);
  // arithmetic and reductions
  Napi::Value Binary(const Napi::CallbackInfo& info, int op);
  Napi::Value Add(const Napi::CallbackInfo& info) { return Binary(info, 0); }
  Napi::Value Sub(const Napi::CallbackInfo& info) { return Binary(info, 1); }
  Napi::Value Mul(const Napi::CallbackInfo& info) { return Binary(info, 2); }
  Napi::Value Div(const Napi::CallbackInfo& info) { return Binary(info, 3); }
  Napi::Value Matmul(const Napi::CallbackInfo& info);
  Napi::Value MatmulAsync(const Napi::CallbackInfo& info);
  Napi::Value Unary(const Napi::CallbackInfo& info, int op);
  Napi::Value Neg(const Napi::CallbackInfo& info) { return Unary(info, 0); }
  Napi::Value Abs(const Napi::CallbackInfo& info) { return Unary(info, 1); }
  Napi::Value Sqrt(const Napi::CallbackInfo& info) { return Unary(info, 2); }
  Napi::Value Exp(const Napi::CallbackInfo& info) { return Unary(info, 3); }
  Napi::Value Log(const Napi::CallbackInfo& info) { return Unary(info, 4); }
  Napi::Value Pow(const Napi::CallbackInfo& info);
  Napi::Value Clamp(const Napi::CallbackInfo& info);
  Napi::Value Reduce(const Napi::CallbackInfo& info, int op);
  Napi::Value Sum(const Napi::CallbackInfo& info) { return Reduce(info, 0); }
  Napi::Value Mean(const Napi::CallbackInfo& info) { return Reduce(info, 1); }
  Napi::Value Max(const Napi::CallbackInfo& info) { return Reduce(info, 2); }
  Napi::Value Min(const Napi::CallbackInfo& info) { return Reduce(info, 3); }
  Napi::Value ReduceAsync(const Napi::CallbackInfo& info, int op);
  Napi::Value SumAsync(const Napi::CallbackInfo& info) { return ReduceAsync(info, 0); }
  Napi::Value MeanAsync(const Napi::CallbackInfo& info) { return ReduceAsync(info, 1); }
  Napi::Value MaxAsync(const Napi::CallbackInfo& info) { return ReduceAsync(info, 2); }
  Napi::Value MinAsync(const Napi::CallbackInfo& info) { return ReduceAsync(info, 3); }
  Napi::Value Equal(const Napi::CallbackInfo& info);
  Napi::Value Allclose(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  torch::Tensor t_;
  bool has_ = false;
  int64_t bytes_ = 0;
  bool host_ = false;  // counted towards V8 external memory
  napi_env env_ = nullptr;
  std::shared_ptr<MemoryCounters> mem_;
};

// Module-level factories: fromTypedArray, fromStrided, zeros, ones, full, rand, randn, cat, stack, manualSeed.
void InitTensorFactories(Napi::Env env, Napi::Object exports);

// A contiguous CPU copy's bytes as a new JS TypedArray of the matching kind.
Napi::Value typed_array_from_tensor(Napi::Env env, const torch::Tensor& t);

}  // namespace specfuse

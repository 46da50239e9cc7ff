#include "bridge/tensor.h"

#include <cstring>
#include <functional>

#include "bridge/convert.h"
#include "bridge/napi_errors.h"
#include "core/device.h"
#include "core/dtype.h"
#include "core/host_allocator.h"

namespace specfuse {
namespace {

// The JS constructor is private: only Wrap() may create tensors, passing this token.
struct ConstructToken {
  torch::Tensor* t;
};

struct ArrayKind {
  napi_typedarray_type js;
  const char* js_name;
};

ArrayKind array_kind_for(c10::ScalarType s) {
  switch (s) {
    case c10::kFloat: return {napi_float32_array, "Float32Array"};
    case c10::kDouble: return {napi_float64_array, "Float64Array"};
    case c10::kInt: return {napi_int32_array, "Int32Array"};
    case c10::kLong: return {napi_bigint64_array, "BigInt64Array"};
    case c10::kShort: return {napi_int16_array, "Int16Array"};
    case c10::kChar: return {napi_int8_array, "Int8Array"};
    case c10::kByte:
    case c10::kBool: return {napi_uint8_array, "Uint8Array"};
    case c10::kUInt16:
    case c10::kHalf:
    case c10::kBFloat16: return {napi_uint16_array, "Uint16Array"};
    default: throw_type("dtype " + dtype_name(s) + " cannot cross into JS");
  }
}

c10::ScalarType default_dtype_for(napi_typedarray_type t) {
  switch (t) {
    case napi_float32_array: return c10::kFloat;
    case napi_float64_array: return c10::kDouble;
    case napi_int32_array: return c10::kInt;
    case napi_bigint64_array: return c10::kLong;
    case napi_int16_array: return c10::kShort;
    case napi_int8_array: return c10::kChar;
    case napi_uint8_array:
    case napi_uint8_clamped_array: return c10::kByte;
    case napi_uint16_array: return c10::kUInt16;
    default:
      throw_type(
          "data: unsupported TypedArray kind (use Float32Array, Float64Array, Int32Array, BigInt64Array, Int16Array, "
          "Int8Array, Uint8Array or Uint16Array)");
  }
}

struct TypedView {
  uint8_t* ptr;
  size_t length;  // elements
  c10::ScalarType dtype;
};

// Checks `data` against the requested dtype (or infers it) and returns a raw view of its bytes.
TypedView read_typed(const Napi::Value& data, const Napi::Value& dtype_arg) {
  if (!data.IsTypedArray()) throw_type("data: expected a TypedArray");
  auto ta = data.As<Napi::TypedArray>();
  const auto kind = ta.TypedArrayType();
  c10::ScalarType dtype = default_dtype_for(kind);
  if (!dtype_arg.IsUndefined() && !dtype_arg.IsNull()) {
    dtype = dtype_from_name(read_string(dtype_arg, "dtype"));
    const auto want = array_kind_for(dtype);
    const bool ok = kind == want.js || (kind == napi_uint8_clamped_array && want.js == napi_uint8_array);
    if (!ok) throw_type("data: dtype " + dtype_name(dtype) + " needs a " + want.js_name);
  }
  auto* base = static_cast<uint8_t*>(ta.ArrayBuffer().Data());
  return {base ? base + ta.ByteOffset() : nullptr, ta.ElementLength(), dtype};
}

// Bool tensors are filled from bytes; any other dtype is a byte copy.
torch::Tensor storage_dtype_tensor(const std::vector<int64_t>& shape, c10::ScalarType dtype) {
  return torch::empty(shape, torch::TensorOptions().dtype(dtype == c10::kBool ? c10::kByte : dtype));
}

torch::Tensor finish_dtype(torch::Tensor t, c10::ScalarType dtype) { return dtype == c10::kBool ? t.ne(0) : t; }

Napi::Value make_typed_array(Napi::Env env, napi_typedarray_type type, size_t length, Napi::ArrayBuffer buf) {
  napi_value out = nullptr;
  NAPI_THROW_IF_FAILED(env, napi_create_typedarray(env, type, length, buf, 0, &out), Napi::Value());
  return Napi::Value(env, out);
}

Napi::Value ret(const Napi::CallbackInfo& info, torch::Tensor t) { return TensorWrap::Wrap(info.Env(), std::move(t)); }

torch::Tensor other_operand(const Napi::Value& v, const torch::Tensor& self) {
  if (v.IsNumber())
    return torch::scalar_tensor(
        v.As<Napi::Number>().DoubleValue(),
        self.options().dtype(c10::isFloatingType(self.scalar_type()) ? self.scalar_type() : c10::kDouble));
  return TensorWrap::From(v, "other")->tensor("other");
}

std::vector<int64_t> optional_dims(const Napi::Value& v, const char* arg) {
  if (v.IsUndefined() || v.IsNull()) return {};
  if (v.IsNumber()) return {read_int(v, arg)};
  return read_int_list(v, arg);
}

// One tensor op with its arguments read and checked on the JS thread. `compute` is the op itself:
// the sync method calls it on the JS thread, the *Async method on the compute thread, so both give
// the same result from the same code. `inputs` are the JS tensors it reads, pinned while it runs.
struct PreparedOp {
  std::function<torch::Tensor()> compute;
  std::vector<std::pair<Napi::Object, Pinnable*>> inputs;
  // Shape and dtype errors (a matmul's inner sizes, a dimension out of range) are thrown by the
  // op itself; the async form replays it on meta tensors first, so they throw before queueing.
  std::function<void()> check;
};

torch::Tensor meta_like(const torch::Tensor& t) {
  return torch::empty(t.sizes(), t.options().device(c10::kMeta).requires_grad(false));
}

PreparedOp prepare_matmul(const Napi::CallbackInfo& info, TensorWrap& self) {
  const auto other_js = arg_or_undefined(info, 0);
  auto* other = TensorWrap::From(other_js, "other");
  torch::Tensor a = self.tensor(), b = other->tensor("other");
  return {[a, b] { return a.matmul(b); },
          {{info.This().As<Napi::Object>(), &self}, {other_js.As<Napi::Object>(), other}},
          [a, b] { (void)meta_like(a).matmul(meta_like(b)); }};
}

// sum (0), mean (1), max (2), min (3) over all elements or `dims` (max/min: one dimension).
PreparedOp prepare_reduce(const Napi::CallbackInfo& info, TensorWrap& self, int op) {
  torch::Tensor t = self.tensor();
  auto dims = optional_dims(arg_or_undefined(info, 0), "dims");
  const auto kv = arg_or_undefined(info, 1);
  const bool keep = kv.IsUndefined() ? false : read_bool(kv, "keepdim");
  std::function<torch::Tensor(const torch::Tensor&)> f;
  if (op == 2 || op == 3) {
    if (t.numel() == 0) throw_range(std::string(op == 2 ? "max" : "min") + ": tensor is empty");
    if (dims.size() > 1) throw_range("dims: max/min reduce one dimension at a time");
    if (dims.empty()) f = [op](const torch::Tensor& x) { return op == 2 ? x.max() : x.min(); };
    else
      f = [op, d = dims[0], keep](const torch::Tensor& x) {
        return op == 2 ? std::get<0>(x.max(d, keep)) : std::get<0>(x.min(d, keep));
      };
  } else {
    if (op == 1 && !c10::isFloatingType(t.scalar_type()))
      throw_type("mean: needs a floating-point tensor, got " + dtype_name(t.scalar_type()));
    if (dims.empty()) f = [op](const torch::Tensor& x) { return op == 0 ? x.sum() : x.mean(); };
    else f = [op, dims, keep](const torch::Tensor& x) { return op == 0 ? x.sum(dims, keep) : x.mean(dims, keep); };
  }
  return {[f, t] { return f(t); }, {{info.This().As<Napi::Object>(), &self}}, [f, t] { (void)f(meta_like(t)); }};
}

// Checks `op` on meta tensors, then runs it on the compute thread with the caller's grad mode
// (thread-local in libtorch) and resolves with the new Tensor.
Napi::Value run_async(const Napi::CallbackInfo& info, PreparedOp op) {
  try {
    op.check();
  } catch (const c10::NotImplementedError&) {
    // no meta kernel for this op: its errors then reject the Promise instead
  }
  auto out = std::make_shared<torch::Tensor>();
  const bool grad = torch::GradMode::is_enabled();
  return PromiseWorker::Run(
      info.Env(), std::move(op.inputs),
      [compute = std::move(op.compute), out, grad] {
        torch::AutoGradMode mode(grad);
        *out = compute();
      },
      [out](Napi::Env env, const std::vector<Napi::Object>&) -> Napi::Value {
        return TensorWrap::Wrap(env, std::move(*out));
      });
}

}  // namespace

// ---- lifetime ----------------------------------------------------------------------------------

Napi::Function TensorWrap::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "NativeTensor",
                                    {
                                        InstanceAccessor<&TensorWrap::Shape>("shape"),
                                        InstanceAccessor<&TensorWrap::Strides>("strides"),
                                        InstanceAccessor<&TensorWrap::DType>("dtype"),
                                        InstanceAccessor<&TensorWrap::Device>("device"),
                                        InstanceAccessor<&TensorWrap::Numel>("numel"),
                                        InstanceAccessor<&TensorWrap::Disposed>("disposed"),
                                        InstanceAccessor<&TensorWrap::RequiresGrad>("requiresGrad"),
                                        InstanceAccessor<&TensorWrap::Busy>("busy"),
                                        InstanceMethod<&TensorWrap::DataSync>("dataSync"),
                                        InstanceMethod<&TensorWrap::Data>("data"),
                                        InstanceMethod<&TensorWrap::Item>("item"),
                                        InstanceMethod<&TensorWrap::To>("to"),
                                        InstanceMethod<&TensorWrap::Clone>("clone"),
                                        InstanceMethod<&TensorWrap::Contiguous>("contiguous"),
                                        InstanceMethod<&TensorWrap::Reshape>("reshape"),
                                        InstanceMethod<&TensorWrap::Permute>("permute"),
                                        InstanceMethod<&TensorWrap::Transpose>("transpose"),
                                        InstanceMethod<&TensorWrap::Slice>("slice"),
                                        InstanceMethod<&TensorWrap::Select>("select"),
                                        InstanceMethod<&TensorWrap::Flip>("flip"),
                                        InstanceMethod<&TensorWrap::Squeeze>("squeeze"),
                                        InstanceMethod<&TensorWrap::Unsqueeze>("unsqueeze"),
                                        InstanceMethod<&TensorWrap::Add>("add"),
                                        InstanceMethod<&TensorWrap::Sub>("sub"),
                                        InstanceMethod<&TensorWrap::Mul>("mul"),
                                        InstanceMethod<&TensorWrap::Div>("div"),
                                        InstanceMethod<&TensorWrap::Matmul>("matmul"),
                                        InstanceMethod<&TensorWrap::MatmulAsync>("matmulAsync"),
                                        InstanceMethod<&TensorWrap::Neg>("neg"),
                                        InstanceMethod<&TensorWrap::Abs>("abs"),
                                        InstanceMethod<&TensorWrap::Sqrt>("sqrt"),
                                        InstanceMethod<&TensorWrap::Exp>("exp"),
                                        InstanceMethod<&TensorWrap::Log>("log"),
                                        InstanceMethod<&TensorWrap::Pow>("pow"),
                                        InstanceMethod<&TensorWrap::Clamp>("clamp"),
                                        InstanceMethod<&TensorWrap::Sum>("sum"),
                                        InstanceMethod<&TensorWrap::Mean>("mean"),
                                        InstanceMethod<&TensorWrap::Max>("max"),
                                        InstanceMethod<&TensorWrap::Min>("min"),
                                        InstanceMethod<&TensorWrap::SumAsync>("sumAsync"),
                                        InstanceMethod<&TensorWrap::MeanAsync>("meanAsync"),
                                        InstanceMethod<&TensorWrap::MaxAsync>("maxAsync"),
                                        InstanceMethod<&TensorWrap::MinAsync>("minAsync"),
                                        InstanceMethod<&TensorWrap::Equal>("equal"),
                                        InstanceMethod<&TensorWrap::Allclose>("allclose"),
                                        InstanceMethod<&TensorWrap::Dispose>("dispose"),
                                    });
  addon_data(env).tensor_ctor = Napi::Persistent(ctor);
  exports.Set("NativeTensor", ctor);
  return ctor;
}

TensorWrap::TensorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorWrap>(info) {
  env_ = info.Env();
  mem_ = addon_data(info.Env()).memory;
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throw Napi::TypeError::New(info.Env(),
                               "Tensor cannot be constructed directly: use tensor(), fromTypedArray() or zeros()");
  }
  Set(std::move(*info[0].As<Napi::External<ConstructToken>>().Data()->t));
}

TensorWrap::~TensorWrap() { Release(); }

Napi::Object TensorWrap::Wrap(Napi::Env env, torch::Tensor t) {
  ConstructToken token{&t};
  return addon_data(env).tensor_ctor.New({Napi::External<ConstructToken>::New(env, &token)});
}

bool TensorWrap::Is(const Napi::Value& v) {
  if (!v.IsObject()) return false;
  return v.As<Napi::Object>().InstanceOf(addon_data(v.Env()).tensor_ctor.Value());
}

TensorWrap* TensorWrap::From(const Napi::Value& v, const char* arg) {
  if (!Is(v)) throw_type(std::string(arg) + ": expected a Tensor");
  auto* w = Napi::ObjectWrap<TensorWrap>::Unwrap(v.As<Napi::Object>());
  w->tensor(arg);  // throws if disposed
  return w;
}

const torch::Tensor& TensorWrap::tensor(const char* arg) const {
  if (!has_) throw RuntimeError(std::string(arg) + ": tensor was disposed");
  return t_;
}

void TensorWrap::Set(torch::Tensor t) {
  t_ = std::move(t);
  has_ = true;
  bytes_ = int64_t(t_.numel()) * int64_t(t_.element_size());
  host_ = t_.device().is_cpu();
  mem_->tensors += 1;
  mem_->bytes += bytes_;
  if (host_) report_external_memory(env_, *mem_, bytes_);
}

void TensorWrap::Release() {
  if (!has_) return;
  has_ = false;
  t_ = torch::Tensor();
  mem_->tensors -= 1;
  mem_->bytes -= bytes_;
  if (host_ && env_) report_external_memory(env_, *mem_, -bytes_);
  bytes_ = 0;
}

Napi::Value TensorWrap::Dispose(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    if (busy()) throw RuntimeError("dispose: tensor is in use by a pending async operation; await it first");
    Release();
    return info.Env().Undefined();
  });
}

// ---- accessors -----------------------------------------------------------------------------------

Napi::Value TensorWrap::Shape(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value { return to_js_shape(info.Env(), tensor().sizes()); });
}
// Element strides, as torch's Tensor.stride(): which memory layout (NCHW or channels-last) a tensor has.
Napi::Value TensorWrap::Strides(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value { return to_js_shape(info.Env(), tensor().strides()); });
}
Napi::Value TensorWrap::DType(const Napi::CallbackInfo& info) {
  return guard(info.Env(),
               [&]() -> Napi::Value { return Napi::String::New(info.Env(), dtype_name(tensor().scalar_type())); });
}
Napi::Value TensorWrap::Device(const Napi::CallbackInfo& info) {
  return guard(info.Env(),
               [&]() -> Napi::Value { return Napi::String::New(info.Env(), device_name(tensor().device())); });
}
Napi::Value TensorWrap::Numel(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value { return Napi::Number::New(info.Env(), double(tensor().numel())); });
}
Napi::Value TensorWrap::Disposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !has_); }
Napi::Value TensorWrap::Busy(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), busy()); }
Napi::Value TensorWrap::RequiresGrad(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value { return Napi::Boolean::New(info.Env(), tensor().requires_grad()); });
}

// ---- data out -------------------------------------------------------------------------------------

// Host bytes for JS: filled by us (off-thread where possible), then handed to V8 as an external
// ArrayBuffer without another copy. Where V8 refuses external buffers (sandboxed builds) the
// bytes are copied once into a V8-owned buffer instead.
struct HostBytes {
  void* p = nullptr;
  size_t n = 0;
  HostBytes() = default;
  explicit HostBytes(size_t size) : p(host_alloc(size)), n(size) {
    if (!p) throw std::bad_alloc();
  }
  HostBytes(const HostBytes&) = delete;
  HostBytes& operator=(const HostBytes&) = delete;
  ~HostBytes() {
    if (p) host_free(p);
  }
  void* release() {
    void* q = p;
    p = nullptr;
    return q;
  }
};

void free_host_bytes(napi_env, void* data, void*) { host_free(data); }

Napi::ArrayBuffer to_array_buffer(Napi::Env env, HostBytes& bytes) {
  const size_t n = bytes.n;
  if (n == 0) return Napi::ArrayBuffer::New(env, 0);  // V8 may not keep a pointer for an empty store
  napi_value value = nullptr;
  const napi_status st = napi_create_external_arraybuffer(env, bytes.p, n, free_host_bytes, nullptr, &value);
  if (st == napi_ok) {
    bytes.release();  // V8 owns the block now and frees it through free_host_bytes
    return Napi::ArrayBuffer(env, value);
  }
  // Sandboxed V8 (Electron, some builds) refuses external memory: copy once; HostBytes frees ours.
  auto ab = Napi::ArrayBuffer::New(env, n);
  std::memcpy(ab.Data(), bytes.p, n);
  return ab;
}

Napi::Value typed_array_from_tensor(Napi::Env env, const torch::Tensor& src) {
  torch::Tensor t = src.detach().to(torch::kCPU).contiguous();
  const auto kind = array_kind_for(t.scalar_type());
  const size_t nbytes = size_t(t.numel()) * t.element_size();
  // A V8-owned buffer here, not HostBytes: a synchronous loop gives the GC no chance to free
  // external blocks, and fresh huge pages for each call then cost more than they save
  // (measured on 64 MB: 0.4 GB/s external vs 2.2 GB/s V8-owned).
  napi_value raw = nullptr;
  void* dst = nullptr;
  NAPI_THROW_IF_FAILED(env, napi_create_buffer(env, nbytes, &dst, &raw), Napi::Value());
  auto buf = Napi::Buffer<uint8_t>(env, raw);
  Napi::ArrayBuffer ab = buf.ArrayBuffer();
  if (buf.ByteOffset() != 0 || ab.ByteLength() != nbytes) {  // pooled small buffer: use a plain one
    ab = Napi::ArrayBuffer::New(env, nbytes);
    dst = ab.Data();
  }
  if (nbytes) std::memcpy(dst, t.data_ptr(), nbytes);
  return make_typed_array(env, kind.js, size_t(t.numel()), ab);
}

Napi::Value TensorWrap::DataSync(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value { return typed_array_from_tensor(info.Env(), tensor()); });
}

Napi::Value TensorWrap::Data(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    torch::Tensor t = tensor();
    const auto kind = array_kind_for(t.scalar_type());
    const size_t n = size_t(t.numel());
    const size_t nbytes = n * t.element_size();
    // Allocated and filled on the worker thread; handed to V8 on the JS thread.
    auto bytes = std::make_shared<HostBytes>();
    return PromiseWorker::Run(
        env, {{info.This().As<Napi::Object>(), this}},
        [t, bytes, nbytes]() {
          torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
          HostBytes filled(nbytes);
          if (nbytes) std::memcpy(filled.p, c.data_ptr(), nbytes);
          std::swap(bytes->p, filled.p);
          std::swap(bytes->n, filled.n);
        },
        [kind, n, bytes](Napi::Env env, const std::vector<Napi::Object>&) -> Napi::Value {
          return make_typed_array(env, kind.js, n, to_array_buffer(env, *bytes));
        });
  });
}

Napi::Value TensorWrap::Item(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    const auto& t = tensor();
    if (t.numel() != 1) throw_range("item: tensor has " + std::to_string(t.numel()) + " elements, expected 1");
    if (t.scalar_type() == c10::kLong) return Napi::BigInt::New(info.Env(), t.item<int64_t>());
    if (t.scalar_type() == c10::kBool) return Napi::Boolean::New(info.Env(), t.item<bool>());
    return Napi::Number::New(info.Env(), t.item<double>());
  });
}

// ---- conversions and views --------------------------------------------------------------------------

Napi::Value TensorWrap::To(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    const std::string target = read_string(arg_or_undefined(info, 0), "target");
    const auto& t = tensor();
    const bool is_device = target == "cpu" || target.rfind("cuda", 0) == 0 || target.find(':') != std::string::npos;
    if (is_device) return ret(info, t.to(parse_device(target, "target")));
    return ret(info, t.to(dtype_from_name(target, "target")));
  });
}

Napi::Value TensorWrap::Clone(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value { return ret(info, tensor().detach().clone()); });
}
Napi::Value TensorWrap::Contiguous(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value { return ret(info, tensor().contiguous()); });
}
Napi::Value TensorWrap::Reshape(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    auto shape = read_int_list(arg_or_undefined(info, 0), "shape");
    return ret(info, tensor().reshape(shape));
  });
}
Napi::Value TensorWrap::Permute(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    return ret(info, tensor().permute(read_int_list(arg_or_undefined(info, 0), "dims")));
  });
}
Napi::Value TensorWrap::Transpose(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    return ret(info, tensor().transpose(read_int(arg_or_undefined(info, 0), "dim0"),
                                        read_int(arg_or_undefined(info, 1), "dim1")));
  });
}
Napi::Value TensorWrap::Slice(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    const auto& t = tensor();
    const int64_t dim = read_int(arg_or_undefined(info, 0), "dim");
    const int64_t start = info.Length() > 1 && !info[1].IsUndefined() ? read_int(info[1], "start") : 0;
    const int64_t end = info.Length() > 2 && !info[2].IsUndefined() ? read_int(info[2], "end") : INT64_MAX;
    const int64_t step = info.Length() > 3 && !info[3].IsUndefined() ? read_int(info[3], "step") : 1;
    if (step <= 0) throw_range("step: must be > 0");
    return ret(info, t.slice(dim, start, end, step));
  });
}
Napi::Value TensorWrap::Select(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    return ret(info, tensor().select(read_int(arg_or_undefined(info, 0), "dim"),
                                     read_int(arg_or_undefined(info, 1), "index")));
  });
}
Napi::Value TensorWrap::Flip(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    return ret(info, tensor().flip(optional_dims(arg_or_undefined(info, 0), "dims")));
  });
}
Napi::Value TensorWrap::Squeeze(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    auto v = arg_or_undefined(info, 0);
    return ret(info, v.IsUndefined() ? tensor().squeeze() : tensor().squeeze(read_int(v, "dim")));
  });
}
Napi::Value TensorWrap::Unsqueeze(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    return ret(info, tensor().unsqueeze(read_int(arg_or_undefined(info, 0), "dim")));
  });
}

// ---- arithmetic -------------------------------------------------------------------------------------

Napi::Value TensorWrap::Binary(const Napi::CallbackInfo& info, int op) {
  return guard(info.Env(), [&]() -> Napi::Value {
    const auto& a = tensor();
    auto b = other_operand(arg_or_undefined(info, 0), a);
    switch (op) {
      case 0: return ret(info, a + b);
      case 1: return ret(info, a - b);
      case 2: return ret(info, a * b);
      default: return ret(info, a / b);
    }
  });
}
Napi::Value TensorWrap::Matmul(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value { return ret(info, prepare_matmul(info, *this).compute()); });
}
Napi::Value TensorWrap::MatmulAsync(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value { return run_async(info, prepare_matmul(info, *this)); });
}
Napi::Value TensorWrap::Unary(const Napi::CallbackInfo& info, int op) {
  return guard(info.Env(), [&]() -> Napi::Value {
    const auto& t = tensor();
    switch (op) {
      case 0: return ret(info, t.neg());
      case 1: return ret(info, t.abs());
      case 2: return ret(info, t.sqrt());
      case 3: return ret(info, t.exp());
      default: return ret(info, t.log());
    }
  });
}
Napi::Value TensorWrap::Pow(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    return ret(info, tensor().pow(read_number(arg_or_undefined(info, 0), "exponent")));
  });
}
Napi::Value TensorWrap::Clamp(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    auto lo = arg_or_undefined(info, 0), hi = arg_or_undefined(info, 1);
    std::optional<c10::Scalar> min, max;
    if (!lo.IsUndefined() && !lo.IsNull()) min = read_number(lo, "min");
    if (!hi.IsUndefined() && !hi.IsNull()) max = read_number(hi, "max");
    if (!min && !max) throw_type("clamp: give min, max or both");
    return ret(info, tensor().clamp(min, max));
  });
}
Napi::Value TensorWrap::Reduce(const Napi::CallbackInfo& info, int op) {
  return guard(info.Env(), [&]() -> Napi::Value { return ret(info, prepare_reduce(info, *this, op).compute()); });
}
Napi::Value TensorWrap::ReduceAsync(const Napi::CallbackInfo& info, int op) {
  return guard(info.Env(), [&]() -> Napi::Value { return run_async(info, prepare_reduce(info, *this, op)); });
}
Napi::Value TensorWrap::Equal(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    const auto& o = From(arg_or_undefined(info, 0), "other")->tensor("other");
    const auto& t = tensor();
    return Napi::Boolean::New(info.Env(), t.sizes() == o.sizes() && t.scalar_type() == o.scalar_type() &&
                                              t.device() == o.device() && t.equal(o));
  });
}
Napi::Value TensorWrap::Allclose(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    const auto& o = From(arg_or_undefined(info, 0), "other")->tensor("other");
    const auto r = arg_or_undefined(info, 1), a = arg_or_undefined(info, 2);
    const double rtol = r.IsUndefined() ? 1e-5 : read_number(r, "rtol");
    const double atol = a.IsUndefined() ? 1e-8 : read_number(a, "atol");
    const auto& t = tensor();
    if (t.sizes() != o.sizes()) return Napi::Boolean::New(info.Env(), false);
    return Napi::Boolean::New(info.Env(), t.to(o.device()).allclose(o, rtol, atol));
  });
}

// ---- factories ------------------------------------------------------------------------------------

namespace {

Napi::Value FromTypedArray(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    const auto view = read_typed(arg_or_undefined(info, 0), arg_or_undefined(info, 2));
    const auto shape = read_shape(arg_or_undefined(info, 1), "shape");
    int64_t n = 1;
    for (auto d : shape) n *= d;
    if (size_t(n) != view.length)
      throw_range("data: length " + std::to_string(view.length) + " does not match shape (" + std::to_string(n) +
                  " elements)");
    torch::Tensor t = storage_dtype_tensor(shape, view.dtype);
    if (n) std::memcpy(t.data_ptr(), view.ptr, size_t(n) * t.element_size());
    return ret(info, finish_dtype(t, view.dtype));
  });
}

// A strided view into a TypedArray (scijs ndarray: data, shape, stride, offset), copied out.
Napi::Value FromStrided(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    const auto view = read_typed(arg_or_undefined(info, 0), arg_or_undefined(info, 4));
    const auto shape = read_shape(arg_or_undefined(info, 1), "shape");
    auto strides = read_int_list(arg_or_undefined(info, 2), "strides");
    const int64_t offset = read_int(arg_or_undefined(info, 3), "offset");
    if (strides.size() != shape.size())
      throw_range("strides: " + std::to_string(strides.size()) + " strides for " + std::to_string(shape.size()) +
                  " dimensions");
    int64_t n = 1;
    for (auto d : shape) n *= d;
    if (n == 0) return ret(info, finish_dtype(storage_dtype_tensor(shape, view.dtype), view.dtype));
    // Negative strides: start from the lowest address and flip those dimensions afterwards.
    int64_t lo = offset, hi = offset;
    std::vector<int64_t> flips;
    for (size_t i = 0; i < shape.size(); ++i) {
      const int64_t span = strides[i] * (shape[i] - 1);
      if (span < 0) lo += span;
      else hi += span;
      if (strides[i] < 0) {
        flips.push_back(int64_t(i));
        strides[i] = -strides[i];
      }
    }
    if (lo < 0 || hi >= int64_t(view.length))
      throw_range("strides/offset: the view reaches elements [" + std::to_string(lo) + ", " + std::to_string(hi) +
                  "] outside the data (length " + std::to_string(view.length) + ")");
    const auto stor = view.dtype == c10::kBool ? c10::kByte : view.dtype;
    const size_t item = c10::elementSize(stor);
    torch::Tensor src =
        torch::from_blob(view.ptr + size_t(lo) * item, shape, strides, torch::TensorOptions().dtype(stor));
    if (!flips.empty()) src = src.flip(flips);
    return ret(info, finish_dtype(src.clone(at::MemoryFormat::Contiguous), view.dtype));
  });
}

struct FactoryArgs {
  std::vector<int64_t> shape;
  torch::TensorOptions opts;
};

FactoryArgs factory_args(const Napi::CallbackInfo& info, size_t dtype_i) {
  FactoryArgs a{read_shape(arg_or_undefined(info, 0), "shape"), torch::TensorOptions().dtype(c10::kFloat)};
  auto dt = arg_or_undefined(info, dtype_i), dev = arg_or_undefined(info, dtype_i + 1);
  if (!dt.IsUndefined() && !dt.IsNull()) a.opts = a.opts.dtype(dtype_from_name(read_string(dt, "dtype")));
  if (!dev.IsUndefined() && !dev.IsNull()) a.opts = a.opts.device(parse_device(read_string(dev, "device")));
  return a;
}

Napi::Value Zeros(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    auto a = factory_args(info, 1);
    return ret(info, torch::zeros(a.shape, a.opts));
  });
}
Napi::Value Ones(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    auto a = factory_args(info, 1);
    return ret(info, torch::ones(a.shape, a.opts));
  });
}
Napi::Value Full(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    auto a = factory_args(info, 2);
    return ret(info, torch::full(a.shape, read_number(arg_or_undefined(info, 1), "value"), a.opts));
  });
}
Napi::Value Rand(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    auto a = factory_args(info, 1);
    return ret(info, torch::rand(a.shape, a.opts));
  });
}
Napi::Value Randn(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    auto a = factory_args(info, 1);
    return ret(info, torch::randn(a.shape, a.opts));
  });
}

std::vector<torch::Tensor> tensor_list(const Napi::Value& v, const char* arg) {
  if (!v.IsArray()) throw_type(std::string(arg) + ": expected an array of Tensors");
  auto a = v.As<Napi::Array>();
  if (a.Length() == 0) throw_range(std::string(arg) + ": empty list");
  std::vector<torch::Tensor> out;
  for (uint32_t i = 0; i < a.Length(); ++i)
    out.push_back(TensorWrap::From(a.Get(i), (std::string(arg) + "[" + std::to_string(i) + "]").c_str())->tensor());
  return out;
}

Napi::Value Cat(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    auto list = tensor_list(arg_or_undefined(info, 0), "tensors");
    auto d = arg_or_undefined(info, 1);
    return ret(info, torch::cat(list, d.IsUndefined() ? 0 : read_int(d, "dim")));
  });
}
Napi::Value Stack(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    auto list = tensor_list(arg_or_undefined(info, 0), "tensors");
    auto d = arg_or_undefined(info, 1);
    return ret(info, torch::stack(list, d.IsUndefined() ? 0 : read_int(d, "dim")));
  });
}
Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    const int64_t seed = read_int(arg_or_undefined(info, 0), "seed");
    if (seed < 0) throw_range("seed: must be >= 0");
    torch::manual_seed(uint64_t(seed));
    return info.Env().Undefined();
  });
}

}  // namespace

void InitTensorFactories(Napi::Env env, Napi::Object exports) {
  exports.Set("fromTypedArray", Napi::Function::New<FromTypedArray>(env, "fromTypedArray"));
  exports.Set("fromStrided", Napi::Function::New<FromStrided>(env, "fromStrided"));
  exports.Set("zeros", Napi::Function::New<Zeros>(env, "zeros"));
  exports.Set("ones", Napi::Function::New<Ones>(env, "ones"));
  exports.Set("full", Napi::Function::New<Full>(env, "full"));
  exports.Set("rand", Napi::Function::New<Rand>(env, "rand"));
  exports.Set("randn", Napi::Function::New<Randn>(env, "randn"));
  exports.Set("cat", Napi::Function::New<Cat>(env, "cat"));
  exports.Set("stack", Napi::Function::New<Stack>(env, "stack"));
  exports.Set("manualSeed", Napi::Function::New<ManualSeed>(env, "manualSeed"));
}

}  // namespace specfuse

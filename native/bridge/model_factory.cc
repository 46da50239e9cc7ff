#include "bridge/model_factory.h"

#include "bridge/async.h"
#include "bridge/convert.h"
#include "bridge/module.h"
#include "bridge/napi_errors.h"
#include "core/dtype.h"
#include "models/registry.h"
#include "models/shape_only.h"

namespace specfuse {
namespace {

struct TensorShape {
  std::string name;
  std::vector<int64_t> shape;
  std::string dtype;
  bool requires_grad;
  int64_t numel;
};

struct ModelShapes {
  std::vector<TensorShape> parameters, buffers;
};

Napi::Array to_js(Napi::Env env, const std::vector<TensorShape>& list) {
  auto arr = Napi::Array::New(env, list.size());
  for (uint32_t i = 0; i < list.size(); ++i) {
    const auto& t = list[i];
    auto o = Napi::Object::New(env);
    o.Set("name", t.name);
    o.Set("shape", to_js_shape(env, t.shape));
    o.Set("dtype", t.dtype);
    o.Set("requiresGrad", t.requires_grad);
    o.Set("numel", double(t.numel));
    arr.Set(i, o);
  }
  return arr;
}

TensorShape shape_of(const std::string& name, const torch::Tensor& t) {
  return {name, t.sizes().vec(), dtype_name(t.scalar_type()), t.requires_grad(), int64_t(t.numel())};
}

Napi::Value CreateModule(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    const std::string name = read_string(arg_or_undefined(info, 0), "model");
    Config config = read_config(arg_or_undefined(info, 1), "config");
    auto built = std::make_shared<std::shared_ptr<FusionModel>>();
    return PromiseWorker::Run(
        info.Env(), {}, [name, config, built]() { *built = create_model(name, config); },
        [built](Napi::Env env, const std::vector<Napi::Object>&) -> Napi::Value {
          return ModuleWrap::Adopt(env, std::move(*built));
        });
  });
}

Napi::Value DescribeModel(const Napi::CallbackInfo& info) {
  return guard(info.Env(), [&]() -> Napi::Value {
    const std::string name = read_string(arg_or_undefined(info, 0), "model");
    Config config = read_config(arg_or_undefined(info, 1), "config");
    auto shapes = std::make_shared<ModelShapes>();
    return PromiseWorker::Run(
        info.Env(), {},
        [name, config, shapes]() {
          auto m = create_model_shape_only(name, config);
          for (const auto& p : m->named_parameters(true)) shapes->parameters.push_back(shape_of(p.key(), p.value()));
          for (const auto& b : m->named_buffers(true)) shapes->buffers.push_back(shape_of(b.key(), b.value()));
        },
        [shapes](Napi::Env env, const std::vector<Napi::Object>&) -> Napi::Value {
          auto o = Napi::Object::New(env);
          o.Set("parameters", to_js(env, shapes->parameters));
          o.Set("buffers", to_js(env, shapes->buffers));
          return o;
        });
  });
}

}  // namespace

void InitModelFactory(Napi::Env env, Napi::Object exports) {
  exports.Set("createModule", Napi::Function::New<CreateModule>(env, "createModule"));
  exports.Set("describeModel", Napi::Function::New<DescribeModel>(env, "describeModel"));
}

}  // namespace specfuse

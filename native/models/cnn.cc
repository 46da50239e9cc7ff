#include "models/cnn.h"

#include <sstream>

#include "core/device.h"
#include "core/dtype.h"
#include "core/errors.h"
#include "core/shape.h"

namespace specfuse {
namespace {

namespace F = torch::nn::functional;
constexpr int64_t kDlpanRatio = 4;  // PAN/MS ratio of the PanCollection data these models were trained on
constexpr int64_t kResWidth = 32;   // PanNet / FusionNet feature width
constexpr int64_t kPnnWidth = 64;   // PNN conv1 / DiCNN width

torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t pad) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, k).stride(1).padding(pad).bias(true));
}

CnnKind kind_of(const std::string& name) {
  if (name == "pnn") return CnnKind::Pnn;
  if (name == "pannet") return CnnKind::PanNet;
  if (name == "dicnn") return CnnKind::DiCnn;
  if (name == "fusionnet") return CnnKind::FusionNet;
  throw range_error("model: '" + name + "' is not one of pnn, pannet, dicnn, fusionnet");
}

const char* kind_name(CnnKind k) {
  switch (k) {
    case CnnKind::Pnn: return "pnn";
    case CnnKind::PanNet: return "pannet";
    case CnnKind::DiCnn: return "dicnn";
    case CnnKind::FusionNet: return "fusionnet";
  }
  return "?";
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// config

CnnOptions cnn_options(const std::string& name, const Config& c) {
  CnnOptions o;
  o.kind = kind_of(name);
  o.bands = c.get_int("bands", o.bands);
  check_range(o.bands, "bands", 1, 1024);  // fully convolutional: the released checkpoints are 4 or 8
  c.check_all_used("config");
  return o;
}

std::shared_ptr<FusionModel> create_cnn(const std::string& name, const Config& config) {
  const CnnOptions o = cnn_options(name, config);
  switch (o.kind) {
    case CnnKind::Pnn: return std::make_shared<PnnImpl>(o);
    case CnnKind::PanNet: return std::make_shared<PanNetImpl>(o);
    case CnnKind::DiCnn: return std::make_shared<DiCnnImpl>(o);
    case CnnKind::FusionNet: return std::make_shared<FusionNetImpl>(o);
  }
  throw range_error("model: unknown CNN");
}

// ---------------------------------------------------------------------------------------------
// shared pieces

torch::Tensor box_high_pass(const torch::Tensor& x) {
  auto padded = F::pad(x, F::PadFuncOptions({2, 2, 2, 2}).mode(torch::kReflect));
  return x - F::avg_pool2d(padded, F::AvgPool2dFuncOptions(5).stride(1));
}

DlpanResBlockImpl::DlpanResBlockImpl(int64_t channels) {
  conv20 = register_module("conv20", conv(channels, channels, 3, 1));
  conv21 = register_module("conv21", conv(channels, channels, 3, 1));
}

torch::Tensor DlpanResBlockImpl::forward(const torch::Tensor& x) {
  return x + conv21->forward(torch::relu(conv20->forward(x)));
}

std::vector<std::string> CnnModel::required_inputs(const ForwardOptions&) const {
  if (options.kind == CnnKind::PanNet) return {"lms", "pan", "ms"};
  return {"lms", "pan"};
}

void CnnModel::check_inputs(const NamedTensors& inputs) const {
  const auto params = parameters(true);
  const auto dtype = params.front().scalar_type();
  const auto device = params.front().device();
  const int64_t C = options.bands;
  const std::string model = kind_name(options.kind);
  const auto& lms = input(inputs, "lms");
  auto common = [&](const torch::Tensor& t, const std::string& name, int64_t channels) {
    const std::string what = "inputs." + name;
    if (!t.defined()) throw type_error(what + ": expected a Tensor");
    if (t.scalar_type() != dtype)
      throw type_error(what + ": expected dtype " + dtype_name(dtype) + " (the module's), got " +
                       dtype_name(t.scalar_type()));
    if (t.dim() != 4)
      throw range_error(what + ": expected shape [B, " + std::to_string(channels) + ", H, W], got " +
                        shape_str(t.sizes()));
    if (t.size(1) != channels)
      throw range_error(what + ": " + model + " was built for " + std::to_string(C) + " bands: expected " +
                        std::to_string(channels) + " channel" + (channels == 1 ? "" : "s") + ", got " +
                        std::to_string(t.size(1)) + " (shape " + shape_str(t.sizes()) + ")");
    if (t.size(0) < 1 || t.size(2) < 1 || t.size(3) < 1)
      throw range_error(what + ": expected a non-empty image, got shape " + shape_str(t.sizes()));
    if (t.device() != device)
      throw range_error(what + ": is on " + device_name(t.device()) + ", the module is on " + device_name(device));
  };
  common(lms, "lms", C);
  const int64_t B = lms.size(0), H = lms.size(2), W = lms.size(3);
  const auto& pan = input(inputs, "pan");
  common(pan, "pan", 1);
  if (pan.size(0) != B || pan.size(2) != H || pan.size(3) != W)
    throw range_error("inputs.pan: expected shape [" + std::to_string(B) + ", 1, " + std::to_string(H) + ", " +
                      std::to_string(W) + "] (lms's batch and size), got " + shape_str(pan.sizes()));
  if (options.kind == CnnKind::PanNet) {
    if (H % kDlpanRatio || W % kDlpanRatio || H < 3 * kDlpanRatio || W < 3 * kDlpanRatio)
      throw range_error("inputs.lms: pannet needs H and W multiples of 4 and at least 12, got " +
                        shape_str(lms.sizes()));
    const auto& ms = input(inputs, "ms");
    common(ms, "ms", C);
    if (ms.size(0) != B || ms.size(2) * kDlpanRatio != H || ms.size(3) * kDlpanRatio != W)
      throw range_error("inputs.ms: expected shape [" + std::to_string(B) + ", " + std::to_string(C) + ", " +
                        std::to_string(H / kDlpanRatio) + ", " + std::to_string(W / kDlpanRatio) +
                        "] (lms's size / 4), got " + shape_str(ms.sizes()));
  }
}

torch::Tensor CnnModel::forward_named(const NamedTensors& inputs, const ForwardOptions& opts) {
  resolve_stage(kind_name(options.kind), kStages, opts.stage);
  check_inputs(inputs);
  torch::Tensor ms;
  if (options.kind == CnnKind::PanNet) ms = input(inputs, "ms");
  return forward_checked(input(inputs, "lms"), input(inputs, "pan"), ms);
}

// ---------------------------------------------------------------------------------------------
// PNN

PnnImpl::PnnImpl(const CnnOptions& o) : CnnModel(o) {
  conv1 = register_module("conv1", conv(o.bands + 1, kPnnWidth, 9, 0));
  conv2 = register_module("conv2", conv(kPnnWidth, 32, 5, 0));
  conv3 = register_module("conv3", conv(32, o.bands, 5, 0));
}

torch::Tensor PnnImpl::forward_checked(const torch::Tensor& lms, const torch::Tensor& pan, const torch::Tensor&) {
  auto x = F::pad(torch::cat({lms, pan}, 1), F::PadFuncOptions({kPad, kPad, kPad, kPad}).mode(torch::kReplicate));
  x = torch::relu(conv1->forward(x));
  x = torch::relu(conv2->forward(x));
  return conv3->forward(x);
}

// ---------------------------------------------------------------------------------------------
// PanNet

PanNetImpl::PanNetImpl(const CnnOptions& o) : CnnModel(o) {
  const int64_t C = o.bands;
  deconv = register_module(
      "deconv",
      torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(C, C, 8).stride(kDlpanRatio).padding(2).bias(true)));
  conv1 = register_module("conv1", conv(C + 1, kResWidth, 3, 1));
  res1 = register_module("res1", DlpanResBlock(kResWidth));
  res2 = register_module("res2", DlpanResBlock(kResWidth));
  res3 = register_module("res3", DlpanResBlock(kResWidth));
  res4 = register_module("res4", DlpanResBlock(kResWidth));
  conv3 = register_module("conv3", conv(kResWidth, C, 3, 1));
}

torch::Tensor PanNetImpl::forward_checked(const torch::Tensor& lms, const torch::Tensor& pan, const torch::Tensor& ms) {
  auto up = deconv->forward(box_high_pass(ms));  // (B, C, 4h, 4w)
  auto x = torch::relu(conv1->forward(torch::cat({up, box_high_pass(pan)}, 1)));
  x = res4->forward(res3->forward(res2->forward(res1->forward(x))));
  return lms + conv3->forward(x);
}

// ---------------------------------------------------------------------------------------------
// DiCNN

DiCnnImpl::DiCnnImpl(const CnnOptions& o) : CnnModel(o) {
  conv1 = register_module("conv1", conv(o.bands + 1, kPnnWidth, 3, 1));
  conv2 = register_module("conv2", conv(kPnnWidth, kPnnWidth, 3, 1));
  conv3 = register_module("conv3", conv(kPnnWidth, o.bands, 3, 1));
}

torch::Tensor DiCnnImpl::forward_checked(const torch::Tensor& lms, const torch::Tensor& pan, const torch::Tensor&) {
  auto x = torch::relu(conv1->forward(torch::cat({lms, pan}, 1)));
  x = torch::relu(conv2->forward(x));
  return lms + conv3->forward(x);
}

// ---------------------------------------------------------------------------------------------
// FusionNet

FusionNetImpl::FusionNetImpl(const CnnOptions& o) : CnnModel(o) {
  conv1 = register_module("conv1", conv(o.bands, kResWidth, 3, 1));
  res1 = register_module("res1", DlpanResBlock(kResWidth));
  res2 = register_module("res2", DlpanResBlock(kResWidth));
  res3 = register_module("res3", DlpanResBlock(kResWidth));
  res4 = register_module("res4", DlpanResBlock(kResWidth));
  conv3 = register_module("conv3", conv(kResWidth, o.bands, 3, 1));
}

torch::Tensor FusionNetImpl::forward_checked(const torch::Tensor& lms, const torch::Tensor& pan, const torch::Tensor&) {
  auto x = torch::relu(conv1->forward(pan.expand_as(lms) - lms));  // pan repeated over the C bands, minus lms
  x = res4->forward(res3->forward(res2->forward(res1->forward(x))));
  return lms + conv3->forward(x);
}

}  // namespace specfuse

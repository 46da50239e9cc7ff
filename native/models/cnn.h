// The classic pansharpening CNNs as DLPan-Toolbox trains them on PanCollection (inputs in DN / 2047):
// PNN (Masi et al. 2016), PanNet (Yang et al. 2017), DiCNN (He et al. 2019) and FusionNet (Deng et
// al. 2021). Registered names equal the released checkpoints' keys (weights/dlpan/{WV3,QB}/*.pth),
// so a checkpoint loads by name; the checkpoints' aliased `backbone.{0..3}.*` entries (a Sequential
// holding the same four blocks as res1..res4) are not registered a second time here: the TypeScript
// loader (lib/models/cnn.ts) checks that each equals its res twin and reports it as ignored.
//
// Inputs (B, C, H, W) with C = bands, pan (B, 1, H, W), ms (B, C, H/4, W/4); all fully convolutional,
// so any H, W (PanNet: multiples of 4 with ms at a quarter of the size, at least 12 x 12).
//   pnn       conv(9) ReLU conv(5) ReLU conv(5) on cat(lms, pan), replicate-padded by 8 so the
//             unpadded convs return H x W (the toolbox's val_step); no residual.
//   pannet    lms + conv3(res4..res1(ReLU(conv1(cat(deconv(hp(ms)), hp(pan)))))), hp(x) = x - 5x5 box
//             mean with reflect-101 borders (cv2.boxFilter, as the toolbox's get_edge).
//   dicnn     lms + conv3(ReLU(conv2(ReLU(conv1(cat(lms, pan)))))), 3x3 convs.
//   fusionnet lms + conv3(res4..res1(ReLU(conv1(pan repeated C times - lms)))).
// One stage (1, the default) trains everything.
#pragma once
#include <string>
#include <vector>

#include "models/model.h"

namespace specfuse {

enum class CnnKind { Pnn, PanNet, DiCnn, FusionNet };

struct CnnOptions {
  CnnKind kind = CnnKind::FusionNet;
  int64_t bands = 8;  // C: 8 (WV3, WV2) or 4 (QB, GF2, IKONOS); any in [1, 1024] is accepted
};

// Reads and validates the config ({bands}); `name` is the registry name ("pnn", ...).
CnnOptions cnn_options(const std::string& name, const Config& c);

// The residual block of PanNet and FusionNet: x + conv21(ReLU(conv20(x))), 3x3 convs, 32 channels.
class DlpanResBlockImpl : public torch::nn::Module {
 public:
  explicit DlpanResBlockImpl(int64_t channels);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Conv2d conv20{nullptr}, conv21{nullptr};
};
TORCH_MODULE(DlpanResBlock);

// Shared by the four models: the input names, checks and the stage.
class CnnModel : public FusionModel {
 public:
  static constexpr int kStages = 1;
  explicit CnnModel(const CnnOptions& o) : options(o) {}
  torch::Tensor forward_named(const NamedTensors& inputs, const ForwardOptions& opts) override;
  std::vector<std::string> required_inputs(const ForwardOptions&) const override;

  CnnOptions options;

 protected:
  // lms (B, C, H, W), pan (B, 1, H, W), ms (B, C, H/4, W/4) or undefined when the model takes none.
  virtual torch::Tensor forward_checked(const torch::Tensor& lms, const torch::Tensor& pan,
                                        const torch::Tensor& ms) = 0;

 private:
  void check_inputs(const NamedTensors& inputs) const;
};

class PnnImpl : public CnnModel {
 public:
  explicit PnnImpl(const CnnOptions& o);
  static constexpr int64_t kPad = 8;  // (9 - 1 + 5 - 1 + 5 - 1) / 2: the receptive field's half width
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};

 protected:
  torch::Tensor forward_checked(const torch::Tensor& lms, const torch::Tensor& pan, const torch::Tensor& ms) override;
};

class PanNetImpl : public CnnModel {
 public:
  explicit PanNetImpl(const CnnOptions& o);
  torch::nn::ConvTranspose2d deconv{nullptr};
  torch::nn::Conv2d conv1{nullptr};
  DlpanResBlock res1{nullptr}, res2{nullptr}, res3{nullptr}, res4{nullptr};
  torch::nn::Conv2d conv3{nullptr};

 protected:
  torch::Tensor forward_checked(const torch::Tensor& lms, const torch::Tensor& pan, const torch::Tensor& ms) override;
};

class DiCnnImpl : public CnnModel {
 public:
  explicit DiCnnImpl(const CnnOptions& o);
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};

 protected:
  torch::Tensor forward_checked(const torch::Tensor& lms, const torch::Tensor& pan, const torch::Tensor& ms) override;
};

class FusionNetImpl : public CnnModel {
 public:
  explicit FusionNetImpl(const CnnOptions& o);
  torch::nn::Conv2d conv1{nullptr};
  DlpanResBlock res1{nullptr}, res2{nullptr}, res3{nullptr}, res4{nullptr};
  torch::nn::Conv2d conv3{nullptr};

 protected:
  torch::Tensor forward_checked(const torch::Tensor& lms, const torch::Tensor& pan, const torch::Tensor& ms) override;
};

// PanNet's high-pass: x - mean over the 5x5 window, borders reflected without repeating the edge
// (OpenCV's BORDER_REFLECT_101, the default of cv2.boxFilter). x is (B, C, H, W) with H, W >= 3.
torch::Tensor box_high_pass(const torch::Tensor& x);

// Builds the model for a registry name ("pnn", "pannet", "dicnn", "fusionnet").
std::shared_ptr<FusionModel> create_cnn(const std::string& name, const Config& config);

}  // namespace specfuse

#include "models/model.hpp"

#include <fmt/core.h>

#include <algorithm>

#include "models/input_file.hpp"
#include "models/embedded.hpp"
#include "models/error.hpp"
#include "models/spec_format.hpp"
#include "models/tfjs.hpp"

#if __has_include("models/onnx.hpp")
#include "models/onnx.hpp"
#define DKM_HAVE_ONNX_IMPORT 1
#endif

namespace dkm::models {

// Defined by dkm_embed() from models/zoo/*.json (models/CMakeLists.txt).
std::span<const dkm::EmbeddedFile> zoo_files();

std::string_view to_string(LayerKind kind) {
  switch (kind) {
    case LayerKind::conv2d: return "conv2d";
    case LayerKind::linear: return "linear";
    case LayerKind::maxpool: return "maxpool";
    case LayerKind::avgpool: return "avgpool";
    case LayerKind::batchnorm: return "batchnorm";
    case LayerKind::activation: return "activation";
    case LayerKind::add: return "add";
    case LayerKind::concat: return "concat";
    case LayerKind::flatten: return "flatten";
    case LayerKind::dropout: return "dropout";
    case LayerKind::upsample: return "upsample";
    case LayerKind::matmul: return "matmul";
    case LayerKind::elementwise: return "elementwise";
    case LayerKind::layernorm: return "layernorm";
    case LayerKind::reduce: return "reduce";
    case LayerKind::rearrange: return "rearrange";
    case LayerKind::conv_transpose2d: return "conv_transpose2d";
  }
  return "unknown";
}

namespace {

const std::vector<std::string_view> kCommonKeys = {"name", "type", "inputs", "weight_bits", "act_bits"};
const std::vector<std::string_view> kActivations = {"relu",  "relu6", "sigmoid", "hardswish", "hardsigmoid", "tanh",
                                                    "leaky_relu", "elu", "gelu", "silu", "softmax"};

std::vector<std::string_view> with_common(std::vector<std::string_view> keys) {
  keys.insert(keys.begin(), kCommonKeys.begin(), kCommonKeys.end());
  return keys;
}

const std::vector<LayerType>& layer_types() {
  static const std::vector<LayerType> types = [] {
    std::vector<std::string_view> window = {"kernel", "stride", "padding", "ceil_mode", "global"};
    std::vector<LayerType> t = {
        {"conv2d", LayerKind::conv2d, "",
         with_common({"out_channels", "kernel", "stride", "padding", "dilation", "groups", "bias", "params"}),
         {"out_channels", "kernel"}},
        {"conv_transpose2d", LayerKind::conv_transpose2d, "",
         with_common({"out_channels", "kernel", "stride", "padding", "output_padding", "dilation", "groups", "bias"}),
         {"out_channels", "kernel"}},
        {"linear", LayerKind::linear, "", with_common({"out_features", "bias", "per_position", "params"}), {"out_features"}},
        {"maxpool", LayerKind::maxpool, "", with_common(window), {}},
        {"avgpool", LayerKind::avgpool, "", with_common(window), {}},
        {"batchnorm", LayerKind::batchnorm, "", with_common({}), {}},
        {"activation", LayerKind::activation, "", with_common({"activation"}), {"activation"}},
        {"add", LayerKind::add, "", with_common({"pad_channels"}), {}},
        {"concat", LayerKind::concat, "", with_common({}), {}},
        {"flatten", LayerKind::flatten, "", with_common({}), {}},
        {"dropout", LayerKind::dropout, "", with_common({"rate"}), {}},
        {"upsample", LayerKind::upsample, "", with_common({"scale", "mode"}), {"scale"}},
        {"matmul", LayerKind::matmul, "", with_common({}), {}},
        {"elementwise", LayerKind::elementwise, "", with_common({"op", "constant", "params"}), {"op"}},
        {"layernorm", LayerKind::layernorm, "", with_common({"bias"}), {}},
        {"reduce", LayerKind::reduce, "", with_common({"op", "shape"}), {"op", "shape"}},
        {"rearrange", LayerKind::rearrange, "", with_common({"op", "shape", "params"}), {"op", "shape"}},
    };
    for (auto a : kActivations) t.push_back({a, LayerKind::activation, a, with_common({}), {}});
    return t;
  }();
  return types;
}

std::string join(const std::vector<std::string_view>& names) {
  std::string s;
  for (auto n : names) s += (s.empty() ? "" : ", ") + std::string(n);
  return s;
}

}  // namespace

const LayerType* find_layer_type(std::string_view name) {
  for (const auto& t : layer_types())
    if (t.name == name) return &t;
  return nullptr;
}

std::string layer_type_list() {
  std::vector<std::string_view> names;
  for (const auto& t : layer_types()) names.push_back(t.name);
  return join(names);
}

std::string activation_list() { return join(kActivations); }

std::string_view spec_type(const Layer& layer) {
  return layer.kind == LayerKind::activation ? std::string_view(layer.activation) : to_string(layer.kind);
}

const Layer* Model::find(std::string_view layer_name) const {
  auto it = std::find_if(layers.begin(), layers.end(), [&](const Layer& l) { return l.name == layer_name; });
  return it == layers.end() ? nullptr : &*it;
}

// parse_model() has checked that these sums fit in 64 bits.
int64_t Model::total_params() const {
  int64_t n = 0;
  for (const auto& l : layers) n += l.params();
  return n;
}

int64_t Model::conv_fc_params() const {
  int64_t n = 0;
  for (const auto& l : layers) n += l.weight_count + l.bias_count;
  return n;
}

int64_t Model::bn_params() const {
  int64_t n = 0;
  for (const auto& l : layers) n += l.bn_params;
  return n;
}

int64_t Model::total_macs() const {
  int64_t n = 0;
  for (const auto& l : layers) n += l.macs;
  return n;
}

int64_t Model::total_element_ops() const {
  int64_t n = 0;
  for (const auto& l : layers) n += l.element_ops;
  return n;
}

std::vector<ZooEntry> zoo() {
  std::vector<ZooEntry> entries;
  for (const auto& f : zoo_files()) {
    std::string_view name = f.name;
    if (name.ends_with(".json")) name.remove_suffix(5);
    entries.push_back({std::string(name), f.text});
  }
  std::sort(entries.begin(), entries.end(), [](const ZooEntry& a, const ZooEntry& b) { return a.name < b.name; });
  return entries;
}

Model load_model(const std::string& path_or_zoo_name) {
  const std::string& arg = path_or_zoo_name;
  if (arg.ends_with(".onnx")) {
#ifdef DKM_HAVE_ONNX_IMPORT
    return load_onnx(arg);
#else
    throw InputError(arg, "", "ONNX import not built");
#endif
  }
  // A bare name is a zoo model first, so `dkm info resnet50` means the same everywhere.
  if (const EmbeddedFile* f = shipped_file(zoo_files(), arg)) return parse_model(f->text, "zoo:" + arg);
  if (auto model_json = tfjs_model_json(arg)) {
    TfjsOptions options;
#ifdef DKM_HAVE_ONNX_IMPORT
    options.input_shape = default_onnx_options().input_shape;  // `dkm --input-shape` is one option for both
#endif
    return load_tfjs(*model_json, options);
  }
  // An existing path is read as a file (read_file refuses a directory, a FIFO or a device by name).
  if (path_kind(arg) != PathKind::missing) return parse_model(read_file(arg, kMaxTextInputBytes), arg);
  std::vector<std::string_view> names;
  auto entries = zoo();
  for (const auto& e : entries) names.push_back(e.name);
  if (!is_bare_name(arg)) throw InputError(arg, "", "no such file; expected a model spec file (.json)");
  throw InputError(arg, "", fmt::format("no such file or zoo model; expected a model spec file (.json), an ONNX "
                                        "file (.onnx), a TF.js model.json or a zoo name ({})",
                                        join(names)));
}

}  // namespace dkm::models

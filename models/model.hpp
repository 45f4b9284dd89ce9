#pragma once
// The in-memory model: a DAG of layers in topological order with every shape, parameter count and MAC
// count resolved. Built from a JSON model spec (docs/model-spec.md), a zoo name or an ONNX file; the
// later stages (k-means, estimator, reports) read only this.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "models/tensor.hpp"

namespace dkm::models {

enum class LayerKind { conv2d, linear, maxpool, avgpool, batchnorm, activation, add, concat, flatten, dropout, upsample };

std::string_view to_string(LayerKind kind);

// Per-image activation shape (the batch is Model::batch). After flatten or linear: {features, 1, 1}.
struct Shape {
  int64_t c = 0, h = 0, w = 0;
  int64_t numel() const { return c * h * w; }
  friend bool operator==(const Shape&, const Shape&) = default;
};

struct Pads {
  int64_t top = 0, left = 0, bottom = 0, right = 0;
  friend bool operator==(const Pads&, const Pads&) = default;
};

struct Layer {
  std::string name;
  LayerKind kind = LayerKind::activation;
  std::vector<std::string> inputs;  // producer layer names; "input" is the model input

  // conv2d and pooling
  int64_t out_channels = 0;  // conv2d
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t dilation_h = 1, dilation_w = 1;
  Pads pads;                 // resolved, also for "same" padding
  int64_t groups = 1;
  bool bias = false;         // conv2d, linear
  bool ceil_mode = false;    // pooling
  bool global = false;       // global pooling
  // linear
  int64_t out_features = 0;
  // activation: relu, relu6, sigmoid, hardswish, hardsigmoid, tanh, ...
  std::string activation;
  // upsample: integer scale factor (nearest neighbour)
  int64_t scale = 1;
  // dropout: drop probability (inference ignores it; kept so a spec survives a round trip)
  double rate = 0.5;
  // Per-layer bit widths; unset means the model's defaults.
  std::optional<int> weight_bits, act_bits;

  // Resolved by shape inference.
  std::vector<Shape> input_shapes;
  Shape output_shape;
  int64_t weight_count = 0;  // conv/linear weights
  int64_t bias_count = 0;    // conv/linear biases
  int64_t bn_params = 0;     // batch-norm scale and shift (2 per channel)
  int64_t macs = 0;          // per image

  int64_t params() const { return weight_count + bias_count + bn_params; }
  bool has_weights() const { return kind == LayerKind::conv2d || kind == LayerKind::linear; }
};

struct Model {
  std::string name;
  std::string description;  // free text: origin, variant, notes
  Shape input;
  int64_t batch = 1;
  int weight_bits = 16;
  int act_bits = 16;
  std::vector<Layer> layers;  // topological order
  Weights weights;            // attached weights, if any ("<layer>.weight", "<layer>.bias")

  const Layer* find(std::string_view layer_name) const;
  int64_t total_params() const;    // conv + linear weights and biases + batch-norm
  int64_t conv_fc_params() const;  // conv + linear weights and biases
  int64_t bn_params() const;       // batch-norm scales and shifts
  int64_t total_macs() const;      // per image
  int layer_weight_bits(const Layer& l) const { return l.weight_bits.value_or(weight_bits); }
  int layer_act_bits(const Layer& l) const { return l.act_bits.value_or(act_bits); }
};

// Parses a JSON model spec and infers every shape. `source` names the file in error messages.
// Throws dkm::InputError on any malformed or inconsistent spec.
Model parse_model(std::string_view json_text, const std::string& source);

// A path to a .json spec (or .onnx where ONNX import is built), or a zoo name such as "resnet50".
Model load_model(const std::string& path_or_zoo_name);

struct ZooEntry {
  std::string name;
  std::string_view spec_text;
};
std::vector<ZooEntry> zoo();

// The model as a JSON spec that parse_model() reads back to an equal model.
std::string to_json_spec(const Model& model);

}  // namespace dkm::models

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

enum class LayerKind {
  conv2d, linear, maxpool, avgpool, batchnorm, activation, add, concat, flatten, dropout, upsample,
  matmul,       // product of two activations (attention), batched: docs/model-spec.md "matmul"
  elementwise,  // one arithmetic operation per element, of one or two activations or an activation and a constant
  layernorm,    // normalisation over the channels (features) of each position
  reduce,       // a reduction (mean, sum, max, ...) to a smaller shape
  rearrange,    // data movement with an explicit output shape: transpose, reshape, slice, split, gather, pad, ...
  conv_transpose2d  // transposed 2-D convolution (ONNX ConvTranspose): docs/model-spec.md "conv_transpose2d"
};

std::string_view to_string(LayerKind kind);

// Per-image activation shape (the batch is Model::batch). After flatten or linear: {features, 1, 1}.
// Images are {channels, height, width}. Any other tensor [N, d1, ..., dk] (transformer tokens, attention
// heads) is read as a batch of matrices: c = dk (the last axis: features), h = d(k-1) (rows: tokens),
// w = d1 * ... * d(k-2) (independent matrices: heads, windows); [N, T, F] is {F, T, 1}.
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

  // conv2d, conv_transpose2d and pooling
  int64_t out_channels = 0;  // conv2d, conv_transpose2d
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t dilation_h = 1, dilation_w = 1;
  Pads pads;                 // resolved, also for "same" padding
  // conv_transpose2d: extra rows and columns at the bottom and right of the output (ONNX output_padding)
  int64_t output_padding_h = 0, output_padding_w = 0;
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
  // add: inputs with fewer channels than the widest are read as zero in the missing trailing channels
  // (TensorFlow's BlazeFace widens its residual branches this way: a channel Pad before the Add).
  bool pad_channels = false;
  // dropout: drop probability (inference ignores it; kept so a spec survives a round trip)
  double rate = 0.5;
  // linear: applied at every (h, w) position to its c features (a transformer's per-token projection)
  // instead of flattening the input; the output is {out_features, h, w}.
  bool per_position = false;
  // elementwise: add, sub, mul, div, pow, max, min (two operands) or a function of one (sqrt, exp, erf,
  // neg, ...); reduce: mean, sum, max, min, prod, l2, ...; rearrange: the source operation (transpose,
  // reshape, slice, split, gather, pad, expand, concat, ...), informative.
  std::string op;
  // elementwise with one activation input: the shape of the constant second operand, broadcast against
  // the input per axis (a per-channel scale is {C, 1, 1}, a scalar {1, 1, 1}). Unset: no constant.
  std::optional<Shape> constant;
  // reduce, rearrange: the output shape.
  Shape target;
  // elementwise, rearrange: learned values carried by a constant operand (a layer scale, a position
  // embedding, a class token), counted as parameters but not clustered; conv2d, linear: a constant scale
  // folded into the weights on import (docs/onnx.md), still counted as the source model's parameters.
  int64_t const_params = 0;
  // Per-layer bit widths; unset means the model's defaults.
  std::optional<int> weight_bits, act_bits;

  // Resolved by shape inference.
  std::vector<Shape> input_shapes;
  Shape output_shape;
  int64_t weight_count = 0;  // conv/linear weights
  int64_t bias_count = 0;    // conv/linear biases
  int64_t bn_params = 0;     // batch-norm scale and shift (2 per channel); layernorm scale and shift
  int64_t macs = 0;          // per image: conv2d, linear and matmul
  // Per image: arithmetic element operations that are not MACs (docs/model-spec.md "Element operations").
  int64_t element_ops = 0;

  int64_t params() const { return weight_count + bias_count + bn_params + const_params; }
  bool has_weights() const {
    return kind == LayerKind::conv2d || kind == LayerKind::conv_transpose2d || kind == LayerKind::linear;
  }
  // Layers the estimator prices as dot products: weighted layers and the product of two activations.
  bool has_macs() const { return has_weights() || kind == LayerKind::matmul; }
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
  int64_t bn_params() const;       // batch-norm and layernorm scales and shifts
  int64_t total_macs() const;      // per image
  int64_t total_element_ops() const;  // per image
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

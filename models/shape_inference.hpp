#pragma once
// Shape inference for one layer: from its input shapes to its output shape, parameter count and MACs.
// Used by the JSON spec reader (models/model.hpp: parse_model) and by any other importer that builds
// Layers; the arithmetic is overflow-checked so absurd sizes become InputErrors, not wrapped numbers.
#include <cstdint>
#include <string>

#include "models/model.hpp"

namespace dkm::models {

// Where a layer sits in its source, for error messages: the file and the layer's JSON path
// ("layers[3]"); fields are appended to it ("layers[3].kernel").
struct LayerSite {
  std::string source;
  std::string path;
  std::string field(const std::string& key) const { return path + "." + key; }
};

// Fills layer.output_shape, weight_count, bias_count, bn_params and macs from layer.input_shapes.
// With `same_padding`, conv2d and pooling pads are computed first (ONNX SAME_UPPER: output = ceil(in /
// stride), the odd pixel of padding goes to the bottom/right). Global pooling gets its kernel here.
// MAC convention (docs/model-spec.md): conv2d, linear and matmul count MACs; every other arithmetic
// layer counts element operations (Layer::element_ops).
void infer_layer(Layer& layer, bool same_padding, const LayerSite& site);

// a * b and a + b for non-negative sizes; throw InputError at `site`/`field` when the result does not fit
// in 64 bits. `what` names the quantity ("MAC count", "parameter count").
int64_t checked_mul(int64_t a, int64_t b, const LayerSite& site, const std::string& field, const char* what);
int64_t checked_add(int64_t a, int64_t b, const LayerSite& site, const std::string& field, const char* what);

}  // namespace dkm::models

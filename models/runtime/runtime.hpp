#pragma once
// Float32 inference over a Model (docs/inference.md): every layer kind of the model spec, conv and linear
// layers as Eigen GEMMs, work split into fixed-size pieces handed to threads, so the outputs are
// bit-identical for any thread count.
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "models/model.hpp"
#include "models/tensor.hpp"

namespace dkm::runtime {

// A batch of activations, NCHW: values.size() == batch * shape.numel().
struct Activations {
  int64_t batch = 0;
  models::Shape shape;
  std::vector<float> values;
  bool flat = false;  // the output of flatten or linear (or of a layer on one): features, not channels

  // Image n, channel c: shape.h * shape.w values.
  const float* plane(int64_t n, int64_t c) const { return values.data() + (n * shape.c + c) * shape.h * shape.w; }
  float* plane(int64_t n, int64_t c) { return values.data() + (n * shape.c + c) * shape.h * shape.w; }
};

// Called after each layer with the layer's inputs and its output (valid only during the call).
using LayerHook =
    std::function<void(const models::Layer& layer, std::span<const Activations* const> inputs, const Activations& output)>;

struct RunOptions {
  int threads = 0;                 // 0 = all hardware threads; the results do not depend on it
  LayerHook hook;                  // optional
  std::vector<std::string> keep;   // layers whose outputs run() returns besides the model's outputs
  std::string weights_source;      // names the weights in error messages
};

// The model's outputs (layers no other layer reads), plus the layers named in `keep`, by layer name.
using Outputs = std::map<std::string, Activations>;

// Checks every tensor the model needs (names and shapes, docs/inference.md) and throws dkm::InputError
// naming the first one missing or of the wrong shape. run() calls it first.
void check_weights(const models::Model& model, const Weights& weights, const std::string& weights_source);

Outputs run(const models::Model& model, const Weights& weights, const Activations& input, const RunOptions& options = {});

// An input array as a batch: (N, C, H, W) matching the model's input, or (N, F) for a model whose input is
// F x 1 x 1. Throws dkm::InputError naming `source` for another shape or a value that is not finite.
Activations to_activations(const models::Model& model, const Tensor& input, const std::string& source);

// (N, C, H, W), or (N, F) for flat activations.
Tensor to_tensor(const Activations& a);

// Images [begin, end) of a batch.
Activations slice(const Activations& a, int64_t begin, int64_t end);

}  // namespace dkm::runtime

#pragma once
// What `dkm run`, `calibrate` and `evaluate` share: the model with its float weights, and input arrays as
// batches for the inference engine (models/runtime/runtime.hpp).
#include <filesystem>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "kmeans/container.hpp"
#include "models/error.hpp"
#include "models/model.hpp"
#include "models/runtime/runtime.hpp"
#include "models/tensor_io.hpp"
#include "tools/usage.hpp"

namespace dkm::cli {

// The options of every command that runs the model.
struct InferenceOptions {
  std::string model, weights;
  int threads = 0;
};

inline void add_inference_options(CLI::App* cmd, InferenceOptions& o) {
  cmd->add_option("MODEL", o.model, "model spec (.json), ONNX file (.onnx) or zoo name")->required();
  cmd->add_option("--weights", o.weights, "float weights (.npz, .safetensors, .npy; docs/weights.md); default: the ONNX file's");
  cmd->add_option("--threads", o.threads, "threads (0 = all); results are identical for any value")
      ->check(integer_in(0, 4096));
}

struct InferenceModel {
  models::Model model;
  Weights weights;             // float weights
  std::string weights_source;  // for error messages
};

// The model and its float weights: --weights W, else the weights an ONNX import attached. Throws a
// UsageError when the model has conv or linear layers and neither is there.
inline InferenceModel load_inference_model(const std::string& model_path, const std::string& weights_path) {
  InferenceModel m{models::load_model(model_path), {}, weights_path};
  if (!weights_path.empty()) {
    m.weights = load_weights(weights_path);
  } else {
    m.weights = m.model.weights;
    m.weights_source = model_path;
    bool needs = false;
    for (const auto& l : m.model.layers) needs = needs || l.has_weights() || l.kind == models::LayerKind::batchnorm;
    if (needs && m.weights.empty())
      throw UsageError(fmt::format("model '{}' carries no weights: pass --weights W (docs/weights.md)", model_path));
  }
  return m;
}

// The float weights with the compressed layers of container `path` replaced by codebook[label]. A layer
// the model does not have means the container belongs to another model: an error, not a silent no-op.
inline Weights with_compressed(const models::Model& model, const Weights& weights, const std::string& path) {
  const kmeans::CompressedModel c = kmeans::read_compressed(path);
  for (const auto& l : c.layers) {
    const models::Layer* layer = model.find(l.name);
    if (!layer || !layer->has_weights())
      throw InputError(path, fmt::format("layer '{}'", l.name),
                       fmt::format("a conv or linear layer of model '{}' (the container was written for '{}')",
                                   model.name, c.model));
  }
  Weights w = weights;
  for (auto& [name, t] : kmeans::decompress(c)) w[name] = std::move(t);
  return w;
}

// Devices and FIFOs (/dev/zero) would be read without end: refuse anything but a regular file.
inline void require_regular_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw InputError(path, "", std::filesystem::exists(path, ec) ? "expected a regular file (an .npy array), got a "
                                                                   "directory, device or FIFO"
                                                                 : "no such file");
}

// An .npy array as a batch of model inputs: (N, C, H, W), or (N, F) for a feature-vector model.
inline runtime::Activations load_input(const models::Model& model, const std::string& path) {
  require_regular_file(path);
  return runtime::to_activations(model, read_npy(path).to_tensor(path, "array"), path);
}

}  // namespace dkm::cli

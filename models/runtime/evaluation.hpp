#pragma once
// Accuracy and signal-to-noise of a model on data (docs/inference.md): the float model against a second set
// of weights (the decompressed ones), image by image through the inference engine.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "models/runtime/runtime.hpp"

namespace dkm::runtime {

// How an image's outputs become a prediction.
struct ScoreRule {
  std::string output;                       // top-1: the arg-max of this layer's output is the class
  std::vector<std::string> binary_outputs;  // binary: positive when the largest value over these is > 0

  bool binary() const { return !binary_outputs.empty(); }
  std::string describe() const;  // "top-1 of 'fc'", "binary: max over 'a', 'b' > 0"
};

// Checks the layer names; without any, top-1 of the model's only output. Throws dkm::UsageError.
ScoreRule score_rule(const models::Model& model, const std::string& output, const std::vector<std::string>& binary_outputs);

// N integer labels from .npy: class ids below the output's size (0/1 for a binary rule). Throws
// dkm::InputError naming the element.
std::vector<int64_t> load_labels(const std::string& path, int64_t images, const models::Model& model,
                                 const ScoreRule& rule);

struct EvaluationSetup {
  ScoreRule score;
  std::optional<std::vector<int64_t>> labels;
  int64_t batch = 16;  // images per forward pass; results do not depend on it
  int threads = 0;
  std::string weights_source;
};

struct Evaluation {
  std::optional<double> float_accuracy;       // percent, with labels
  std::optional<double> compressed_accuracy;  // percent, with labels and a second set of weights
  // 10 log10(sum ref^2 / sum (ref - x)^2) over all images, ref from the float weights; +inf when equal.
  double output_snr_db = 0;                                  // over all model outputs
  std::vector<std::pair<std::string, double>> layer_snr_db;  // each conv/linear layer's output, graph order
};

// `compressed` may be null (accuracy of the float model only).
Evaluation evaluate(const models::Model& model, const Weights& float_weights, const Weights* compressed,
                    const Activations& data, const EvaluationSetup& setup);

}  // namespace dkm::runtime

#pragma once
// Calibration statistics (docs/inference.md, format `dkm-stats/1`): for every conv and linear layer, per
// input channel (per input feature for linear layers), the mean, the second moment E[x^2] and the largest
// |x| of the values the layer reads, over a calibration set. Activation-weighted k-means weighs each weight
// by the second moment of the input it multiplies; the mean serves bias correction.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "kmeans/compress.hpp"
#include "models/runtime/runtime.hpp"

namespace dkm::runtime {

struct InputStats {
  int64_t values_per_channel = 0;       // values averaged per channel: images x input height x width
  std::vector<double> mean;             // activation units
  std::vector<double> second_moment;    // activation units squared
  std::vector<double> max_abs;          // activation units
};

struct Calibration {
  std::string model;
  int64_t images = 0;
  std::map<std::string, InputStats> layers;  // by layer name
};

struct CalibrateOptions {
  int64_t batch = 16;  // images per forward pass; the statistics do not depend on it
  int threads = 0;
  std::string weights_source;
};

// Sums are taken in double in image order, then channel-major within an image, so the result does not
// depend on the batch size or the thread count.
Calibration calibrate(const models::Model& model, const Weights& weights, const Activations& data,
                      const CalibrateOptions& options = {});

// JSON text of docs/inference.md, and back (throws dkm::InputError naming `source` and the JSON path).
std::string to_json(const Calibration& stats);
Calibration parse_calibration(const std::string& json_text, const std::string& source);

// A statistics file read and parsed, as the k-means stage takes it (activation weighting, bias correction).
kmeans::ActivationStats load_activation_stats(const std::string& path);

}  // namespace dkm::runtime

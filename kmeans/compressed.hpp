#pragma once
// The value type that leaves the k-means stage: per compressed layer, the codebook, the labels and
// the bookkeeping the estimator and the reports need. Written to and read from the compressed
// container (docs/container.md).
#include <cstdint>
#include <string>
#include <vector>

namespace dkm::kmeans {

// How a conv weight (O, I, kh, kw) is cut into vectors; a linear weight (O, I) as (O, I, 1, 1).
enum class Granularity {
  row,     // vectors of length kw, N = O*I*kh (the paper's default)
  kernel,  // vectors of length kh*kw
  filter,  // vectors of length I*kh*kw, N = O
  scalar,  // vectors of length 1 (Deep Compression)
  group,   // per output channel, vectors of G consecutive weights of its I*kh*kw (G divides it; dim = G)
};

enum class SparsityVariant {
  none,
  zero_norm,  // paper: the p*N smallest-norm vectors share a centre fixed at zero
  near_mean,  // reference code: the p*N vectors nearest the layer mean share their mean
};

// What each weight's squared error is multiplied by when the layer is clustered.
enum class Weighting {
  plain,       // every weight alike (the paper)
  activation,  // the second moment E[x^2] of the input channel the weight multiplies (dkm calibrate)
};

struct CompressedLayer {
  std::string name;
  Granularity granularity = Granularity::row;
  std::vector<int64_t> weight_shape;  // OIHW
  int64_t k = 0;                      // centres in the codebook, the sparse one included
  int64_t dim = 0;                    // vector length
  double sparsity = 0;                // p
  SparsityVariant sparsity_variant = SparsityVariant::none;
  uint64_t seed = 0;
  std::vector<float> codebook;        // k x dim
  std::vector<int32_t> labels;        // one per vector, in OIHW order of the vectors
  std::vector<float> bias;            // kept at 32 bits: unchanged, or corrected when bias_corrected
  Weighting weighting = Weighting::plain;
  bool bias_corrected = false;        // bias = b - (W_shared - W) mu, mu the calibration mean of the input
  double mse = 0;                     // mean squared weight error after sharing
  int iterations = 0;
  // Run bookkeeping, not stored in the container.
  double time_ms = 0;                 // wall time of this layer's k-means
  std::string warning;                // non-empty when K was clamped

  int64_t vectors() const { return static_cast<int64_t>(labels.size()); }
};

struct CompressedModel {
  std::string model;
  bool random_weights = false;   // weights were drawn by --random-weights, not trained
  uint64_t weights_seed = 0;
  std::vector<CompressedLayer> layers;
};

}  // namespace dkm::kmeans

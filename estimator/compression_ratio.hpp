#pragma once
// Compression ratio of k-means weight sharing, per layer and for the whole model, three ways:
//   fixed   - Deep Compression's formula: every index ceil(log2 K) bits;
//   entropy - the reference code's bound: N x the entropy of the label histogram;
//   huffman - the real size of the Huffman-coded labels (kmeans/huffman.hpp).
// CR = original bits / compressed bits. What is counted follows paper.md section 2 by default (conv and
// linear weights and biases at 32 bits, batch-norm not counted, codebooks at 32 bits) and is switchable.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "kmeans/compressed.hpp"
#include "kmeans/plan.hpp"
#include "models/model.hpp"

namespace dkm::estimator {

struct CountingRules {
  int original_weight_bits = 32;  // each conv and linear weight before compression
  int codebook_bits = 32;         // each codebook value
  int uncompressed_bits = 32;     // weights kept as they are: FC layers, skipped convs, K == N layers
  bool count_biases = true;       // biases are kept and counted, before and after
  int bias_bits = 32;
  bool count_batchnorm = false;   // the paper leaves batch-norm scale and shift out
  int batchnorm_bits = 32;
};

struct SizeBits {
  double fixed = 0;
  double entropy = 0;
  double huffman = 0;
};

struct LayerRatio {
  std::string layer;
  int64_t k = 0, vectors = 0, dim = 0;
  double sparsity = 0;
  double original_bits = 0;  // the layer's weights (and biases) before
  double codebook_bits = 0;
  double bias_bits = 0;
  SizeBits index_bits;       // the label stream alone
  SizeBits total_bits;       // codebook + labels + biases
  SizeBits ratio;            // original_bits / total_bits
};

struct ModelRatio {
  std::vector<LayerRatio> layers;  // the weight-shared conv layers, in model order
  double original_bits = 0;        // everything counted, before
  double kept_bits = 0;            // counted but not weight-shared (FC, skipped convs, K == N, batch-norm)
  SizeBits total_bits;             // after: kept_bits + every layer's total_bits
  SizeBits ratio;                  // original_bits / total_bits
};

// Entropy in bits per symbol of a histogram (0 for an empty one).
double label_entropy_bits(std::span<const int64_t> histogram);

// One layer from a histogram of its labels (size K).
LayerRatio layer_ratio(const std::string& name, int64_t vectors, int64_t dim, int64_t bias_count,
                       std::span<const int64_t> histogram, const CountingRules& rules);

// From compressed layers and their real labels. Throws dkm::InputError when a layer is not a conv
// layer of `model`.
ModelRatio compression_ratio(const models::Model& model, const kmeans::CompressedModel& compressed,
                             const CountingRules& rules = {});

// The two halves of the above, for a caller that counts each layer as it is compressed and then drops
// its labels (`dkm compress` on a model larger than memory): one layer (nullopt for a layer kept
// unchanged, K == N; `source` names the container in errors), and the model from such layers.
std::optional<LayerRatio> compression_ratio(const models::Model& model, const kmeans::CompressedLayer& layer,
                                            const std::string& source, const CountingRules& rules = {});
ModelRatio compression_ratio(const models::Model& model, std::vector<LayerRatio> shared, const CountingRules& rules = {});

// From a resolved plan alone, without running k-means: the sparse cluster holds floor(p N) vectors
// and the others are spread evenly over the remaining K - 1 clusters (the most any labelling can
// cost for the entropy; trained weights cost less).
ModelRatio compression_ratio(const models::Model& model, std::span<const kmeans::LayerSetting> settings,
                             const CountingRules& rules = {});

}  // namespace dkm::estimator

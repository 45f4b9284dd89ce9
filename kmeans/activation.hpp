#pragma once
// Activation-aware pieces of the k-means stage (docs/kmeans.md "Activation weighting"): the weight of each
// vector from the calibration statistics of the layer input, and bias correction after sharing.
#include <cstdint>
#include <span>
#include <vector>

#include "kmeans/compress.hpp"

namespace dkm::kmeans {

// The k-means weights (KMeansParams::weights) of a conv weight of OIHW `shape` cut at `granularity`: the
// second moment of the input channel each value multiplies (input channel = group x I + i, the groups
// being moments.second_moment.size() / I), divided by the largest so they lie in [0, 1]. One per vector
// when a vector reads one channel (row, kernel, scalar), one per value (N x d) for filter vectors.
std::vector<float> activation_weights(std::span<const int64_t> shape, Granularity granularity, const InputMoments& moments);

// b' = b - (W_shared - W) mu per output channel, mu the input channel means, summed in double.
void correct_bias(std::span<const int64_t> shape, std::span<const float> original, std::span<const float> shared,
                  const InputMoments& moments, std::vector<float>& bias);

}  // namespace dkm::kmeans

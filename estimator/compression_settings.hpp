#pragma once
// Per-layer compression for estimate(), from the k-means stage's two outputs: a resolved plan (settings
// only: uniform labels assumed) or a compressed model (the real cluster labels).
#include <map>
#include <span>
#include <string>

#include "estimator/problem.hpp"
#include "kmeans/compressed.hpp"
#include "kmeans/plan.hpp"
#include "models/model.hpp"

namespace dkm::estimator {

// Layers with compress == false or K == N (left unchanged) are omitted. Index bits ceil(log2 K). With
// the paper's zero-norm sparsity the p*N vectors in the zero cluster are zero weights: density 1 - p.
std::map<std::string, LayerCompression> compression_from_plan(std::span<const kmeans::LayerSetting> settings);

// Labels are referenced, not copied: `compressed` must outlive the result. Layers with K == N (kept
// unchanged) are omitted, as from a plan: one rule for both, so size and energy agree. Density counts the weights
// whose centre entry is exactly zero. Throws dkm::InputError when a layer is missing from `model` or its
// weight shape differs.
std::map<std::string, LayerCompression> compression_from_model(const kmeans::CompressedModel& compressed,
                                                                const models::Model& model);

}  // namespace dkm::estimator

#include "estimator/compression_settings.hpp"

#include <algorithm>

#include <fmt/core.h>

#include "models/error.hpp"

namespace dkm::estimator {

std::map<std::string, LayerCompression> compression_from_plan(std::span<const kmeans::LayerSetting> settings) {
  std::map<std::string, LayerCompression> out;
  for (const kmeans::LayerSetting& s : settings) {
    if (!s.compress || s.k >= s.vectors) continue;
    LayerCompression c;
    c.k = s.k;
    c.granularity = s.granularity;
    c.group_size = s.granularity == kmeans::Granularity::group ? s.dim : 0;
    c.index_bits = index_bits_for(s.k);
    if (s.sparsity_variant == kmeans::SparsityVariant::zero_norm && s.sparsity > 0) {
      c.density = 1.0 - s.sparsity;
      c.zero_label = 0;  // the sparse group takes label 0 and a zero centre (kmeans/compress.hpp)
    }
    out[s.layer] = c;
  }
  return out;
}

std::map<std::string, LayerCompression> compression_from_model(const kmeans::CompressedModel& compressed,
                                                                const models::Model& model) {
  std::map<std::string, LayerCompression> out;
  for (const kmeans::CompressedLayer& l : compressed.layers) {
    const models::Layer* layer = model.find(l.name);
    const std::string where = fmt::format("layer '{}'", l.name);
    if (!layer || !layer->has_weights())
      throw InputError("compressed model", where, fmt::format("a conv or linear layer of model '{}'", model.name));
    const int64_t weights = layer->weight_count;
    if (l.dim < 1 || l.k < 1 || static_cast<int64_t>(l.codebook.size()) != l.k * l.dim || l.vectors() * l.dim != weights)
      throw InputError("compressed model", where,
                       fmt::format("a codebook of K x dim values and labels covering the layer's {} weights", weights));
    // K == N keeps every vector as it was: the layer is uncompressed, as the plan and the ratio say.
    if (l.k >= l.vectors()) continue;
    // Exactly-zero centre entries are zero weights that a zero-gating accelerator skips.
    std::vector<int64_t> zeros_in_centre(static_cast<size_t>(l.k), 0);
    for (int64_t k = 0; k < l.k; ++k)
      for (int64_t d = 0; d < l.dim; ++d) zeros_in_centre[static_cast<size_t>(k)] += l.codebook[static_cast<size_t>(k * l.dim + d)] == 0.0f;
    int64_t zeros = 0;
    for (int32_t label : l.labels) {
      if (label < 0 || label >= l.k)
        throw InputError("compressed model", where, fmt::format("labels in [0, {})", l.k));
      zeros += zeros_in_centre[static_cast<size_t>(label)];
    }
    LayerCompression c;
    c.k = l.k;
    c.granularity = l.granularity;
    c.group_size = l.granularity == kmeans::Granularity::group ? l.dim : 0;
    c.index_bits = index_bits_for(l.k);
    c.labels = l.labels;
    for (int64_t k = 0; k < l.k && c.zero_label < 0; ++k)
      if (zeros_in_centre[static_cast<size_t>(k)] == l.dim) c.zero_label = static_cast<int32_t>(k);
    if (zeros > 0) c.density = std::max(1e-12, 1.0 - static_cast<double>(zeros) / static_cast<double>(weights));
    out[l.name] = c;
  }
  return out;
}

}  // namespace dkm::estimator

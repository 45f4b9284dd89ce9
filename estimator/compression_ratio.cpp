#include "estimator/compression_ratio.hpp"

#include <cmath>
#include <map>

#include <fmt/core.h>

#include "kmeans/huffman.hpp"
#include "models/error.hpp"

namespace dkm::estimator {
namespace {

int fixed_index_bits(int64_t k) {
  int bits = 0;
  while ((int64_t{1} << bits) < k) ++bits;
  return bits;
}

double original_layer_bits(const models::Layer& l, const CountingRules& r) {
  return double(l.weight_count) * r.original_weight_bits + (r.count_biases ? double(l.bias_count) * r.bias_bits : 0.0);
}

double kept_layer_bits(const models::Layer& l, const CountingRules& r) {
  return double(l.weight_count) * r.uncompressed_bits + (r.count_biases ? double(l.bias_count) * r.bias_bits : 0.0);
}

// Sums everything the rules count, given the layers that are weight-shared.
ModelRatio assemble(const models::Model& model, std::vector<LayerRatio> shared, const CountingRules& r) {
  std::map<std::string, const LayerRatio*> by_name;
  for (const auto& l : shared) by_name[l.layer] = &l;
  ModelRatio m;
  for (const auto& layer : model.layers) {
    if (layer.has_weights()) {
      m.original_bits += original_layer_bits(layer, r);
      if (!by_name.count(layer.name)) m.kept_bits += kept_layer_bits(layer, r);
    }
    if (r.count_batchnorm && layer.bn_params > 0) {
      m.original_bits += double(layer.bn_params) * r.batchnorm_bits;
      m.kept_bits += double(layer.bn_params) * r.batchnorm_bits;
    }
  }
  m.total_bits = {m.kept_bits, m.kept_bits, m.kept_bits};
  for (const auto& l : shared) {
    m.total_bits.fixed += l.total_bits.fixed;
    m.total_bits.entropy += l.total_bits.entropy;
    m.total_bits.huffman += l.total_bits.huffman;
  }
  m.ratio = {m.original_bits / m.total_bits.fixed, m.original_bits / m.total_bits.entropy,
             m.original_bits / m.total_bits.huffman};
  m.layers = std::move(shared);
  return m;
}

const models::Layer& weighted_layer(const models::Model& model, const std::string& name, const std::string& source) {
  const models::Layer* l = model.find(name);
  if (!l || !l->has_weights())
    throw InputError(source, name, fmt::format("a conv or linear layer of model '{}'", model.name));
  return *l;
}

}  // namespace

double label_entropy_bits(std::span<const int64_t> histogram) {
  double total = 0;
  for (auto c : histogram) total += double(c);
  if (total <= 0) return 0;
  double h = 0;
  for (auto c : histogram)
    if (c > 0) {
      const double p = double(c) / total;
      h -= p * std::log2(p);
    }
  return h;
}

LayerRatio layer_ratio(const std::string& name, int64_t vectors, int64_t dim, int64_t bias_count,
                       std::span<const int64_t> histogram, const CountingRules& r) {
  LayerRatio l;
  l.layer = name;
  l.k = static_cast<int64_t>(histogram.size());
  l.vectors = vectors;
  l.dim = dim;
  l.original_bits = double(vectors * dim) * r.original_weight_bits + (r.count_biases ? double(bias_count) * r.bias_bits : 0.0);
  l.codebook_bits = double(l.k * dim) * r.codebook_bits;
  l.bias_bits = r.count_biases ? double(bias_count) * r.bias_bits : 0.0;
  l.index_bits.fixed = double(vectors) * fixed_index_bits(l.k);
  l.index_bits.entropy = double(vectors) * label_entropy_bits(histogram);
  l.index_bits.huffman = double(kmeans::huffman_bits(histogram));
  const double fixed_part = l.codebook_bits + l.bias_bits;
  l.total_bits = {fixed_part + l.index_bits.fixed, fixed_part + l.index_bits.entropy, fixed_part + l.index_bits.huffman};
  l.ratio = {l.original_bits / l.total_bits.fixed, l.original_bits / l.total_bits.entropy,
             l.original_bits / l.total_bits.huffman};
  return l;
}

std::optional<LayerRatio> compression_ratio(const models::Model& model, const kmeans::CompressedLayer& c,
                                            const std::string& source, const CountingRules& rules) {
  const models::Layer& layer = weighted_layer(model, c.name, source);
  if (c.k >= c.vectors()) return std::nullopt;  // unchanged layers are kept at full precision
  std::vector<int64_t> histogram(static_cast<size_t>(c.k), 0);
  for (int32_t label : c.labels) ++histogram[label];
  LayerRatio l = layer_ratio(c.name, c.vectors(), c.dim, layer.bias_count, histogram, rules);
  l.sparsity = c.sparsity;
  return l;
}

ModelRatio compression_ratio(const models::Model& model, std::vector<LayerRatio> shared, const CountingRules& rules) {
  return assemble(model, std::move(shared), rules);
}

ModelRatio compression_ratio(const models::Model& model, const kmeans::CompressedModel& compressed,
                             const CountingRules& rules) {
  std::vector<LayerRatio> shared;
  for (const auto& c : compressed.layers)
    if (auto l = compression_ratio(model, c, "compressed model '" + compressed.model + "'", rules)) shared.push_back(std::move(*l));
  return assemble(model, std::move(shared), rules);
}

ModelRatio compression_ratio(const models::Model& model, std::span<const kmeans::LayerSetting> settings,
                             const CountingRules& rules) {
  std::vector<LayerRatio> shared;
  for (const auto& s : settings) {
    if (!s.compress || s.k >= s.vectors) continue;
    const models::Layer& layer = weighted_layer(model, s.layer, "plan");
    std::vector<int64_t> histogram(static_cast<size_t>(s.k), 0);
    int64_t sparse = 0;
    if (s.k >= 2 && s.sparsity > 0 && s.sparsity_variant != kmeans::SparsityVariant::none)
      sparse = static_cast<int64_t>(std::floor(s.sparsity * double(s.vectors)));
    const int64_t offset = sparse > 0 ? 1 : 0;
    if (offset) histogram[0] = sparse;
    const int64_t rest = s.vectors - sparse, clusters = s.k - offset;
    for (int64_t c = 0; c < clusters; ++c)
      histogram[offset + c] = rest / clusters + (c < rest % clusters ? 1 : 0);
    LayerRatio l = layer_ratio(s.layer, s.vectors, s.dim, layer.bias_count, histogram, rules);
    l.sparsity = double(sparse) / double(s.vectors);
    shared.push_back(std::move(l));
  }
  return assemble(model, std::move(shared), rules);
}

}  // namespace dkm::estimator

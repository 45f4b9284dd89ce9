#include "kmeans/compress.hpp"

#include <chrono>
#include <cmath>
#include <numeric>

#include <fmt/core.h>
#include <fmt/ranges.h>

#include "kmeans/assign.hpp"
#include "kmeans/cuda_backend.hpp"
#include "kmeans/rng.hpp"
#include "kmeans/sparsity.hpp"
#include "models/error.hpp"

namespace dkm::kmeans {
namespace {

uint64_t name_hash(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

double squared_error(std::span<const float> vectors, int64_t dim, const CompressedLayer& layer) {
  double s = 0;
  for (int64_t i = 0; i < layer.vectors(); ++i)
    s += double(squared_distance(&vectors[i * dim], &layer.codebook[layer.labels[i] * dim], dim));
  return s;
}

}  // namespace

std::vector<int64_t> weight_shape(const models::Layer& layer) {
  if (layer.kind == models::LayerKind::conv2d) {
    const int64_t per_out = layer.kernel_h * layer.kernel_w * layer.out_channels;
    return {layer.out_channels, per_out > 0 ? layer.weight_count / per_out : 0, layer.kernel_h, layer.kernel_w};
  }
  if (layer.kind == models::LayerKind::linear)
    return {layer.out_features, layer.out_features > 0 ? layer.weight_count / layer.out_features : 0};
  return {};
}

CompressedLayer compress_layer(const Tensor& weight, const LayerSetting& s, int threads, Device device) {
  const auto start = std::chrono::steady_clock::now();
  const auto shape = vector_shape(weight.shape, s.granularity);
  const int64_t n = shape.vectors, dim = shape.dim;
  const std::span<const float> vectors(weight.values);
  CompressedLayer out;
  out.name = s.layer;
  out.granularity = s.granularity;
  out.weight_shape = weight.shape;
  out.dim = dim;
  out.seed = s.seed;
  out.warning = s.warning;
  out.labels.resize(static_cast<size_t>(n));

  if (s.k >= n) {  // the reference code leaves such a layer unchanged
    out.k = n;
    out.codebook = weight.values;
    std::iota(out.labels.begin(), out.labels.end(), 0);
  } else if (s.k == 1) {  // ... and gives the mean for K == 1
    out.k = 1;
    out.codebook.assign(static_cast<size_t>(dim), 0.0f);
    for (int64_t j = 0; j < dim; ++j) {
      double m = 0;
      for (int64_t i = 0; i < n; ++i) m += vectors[i * dim + j];
      out.codebook[j] = static_cast<float>(m / double(n));
    }
  } else {
    const SparseGroup sparse = select_sparse(vectors, dim, s.sparsity, s.sparsity_variant);
    const int64_t offset = sparse.count > 0 ? 1 : 0;
    if (offset) {
      out.sparsity = s.sparsity;
      out.sparsity_variant = s.sparsity_variant;
    }
    std::vector<float> rest;
    rest.reserve(static_cast<size_t>((n - sparse.count) * dim));
    for (int64_t i = 0; i < n; ++i)
      if (!sparse.member[i]) rest.insert(rest.end(), &vectors[i * dim], &vectors[i * dim] + dim);
    int64_t k_rest = s.k - offset;
    const int64_t distinct = count_distinct(rest, dim, k_rest);
    if (distinct < k_rest) {
      out.warning = fmt::format("K clamped from {} to {}: only {} distinct vectors outside the sparse group",
                                s.k, distinct + offset, distinct);
      k_rest = distinct;
    }
    out.codebook = sparse.centre;
    if (!offset) out.codebook.clear();
    std::vector<int32_t> rest_labels;
    if (k_rest > 0) {
      KMeansParams p;
      p.k = k_rest;
      p.init = s.init;
      p.seed = s.seed;
      p.max_iter = s.max_iter;
      p.tol = s.tol;
      p.threads = threads;
      p.device = device;
      KMeansResult r = kmeans(rest, dim, p);
      out.codebook.insert(out.codebook.end(), r.centers.begin(), r.centers.end());
      out.iterations = r.iterations;
      rest_labels = std::move(r.labels);
    }
    out.k = offset + k_rest;
    size_t t = 0;
    for (int64_t i = 0; i < n; ++i)
      out.labels[i] = sparse.member[i] ? 0 : static_cast<int32_t>(offset + rest_labels[t++]);
  }
  out.mse = squared_error(vectors, dim, out) / double(n * dim);
  out.time_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return out;
}

CompressedModel compress_model(const models::Model& model, const Weights& weights,
                               std::span<const LayerSetting> settings, const CompressOptions& options) {
  CompressedModel out;
  out.model = model.name;
  std::vector<const LayerSetting*> planned;
  for (const auto& s : settings)
    if (s.compress) planned.push_back(&s);
  // Validate every tensor before the long work starts.
  for (const LayerSetting* s : planned) {
    const std::string name = s->layer + ".weight";
    auto it = weights.find(name);
    if (it == weights.end())
      throw InputError(options.weights_source, name,
                       fmt::format("a tensor of shape [{}] (OIHW) for conv layer '{}'", fmt::join(s->weight_shape, ", "), s->layer));
    if (it->second.shape != s->weight_shape)
      throw InputError(options.weights_source, name,
                       fmt::format("shape [{}] (OIHW) as the model spec says, got [{}]", fmt::join(s->weight_shape, ", "),
                                   fmt::join(it->second.shape, ", ")));
    const models::Layer* layer = model.find(s->layer);
    if (layer && layer->bias) {
      auto b = weights.find(s->layer + ".bias");
      if (b == weights.end())
        throw InputError(options.weights_source, s->layer + ".bias",
                         fmt::format("a bias of {} values (the spec declares bias for '{}')", layer->bias_count, s->layer));
      if (b->second.numel() != layer->bias_count)
        throw InputError(options.weights_source, s->layer + ".bias",
                         fmt::format("{} values, got {}", layer->bias_count, b->second.numel()));
    }
  }
  for (size_t i = 0; i < planned.size(); ++i) {
    const LayerSetting& s = *planned[i];
    if (options.progress) options.progress(i, planned.size(), s.layer);
    const Tensor& weight = weights.at(s.layer + ".weight");
    CompressedLayer layer;
    try {
      layer = compress_layer(weight, s, options.threads, options.device);
    } catch (const CudaError& e) {
      // With automatic, a device failure (out of memory, a kernel fault) costs speed, not the result:
      // the CPU gives the same labels.
      if (options.device != Device::automatic) throw;
      layer = compress_layer(weight, s, options.threads, Device::cpu);
      layer.warning = std::string("CUDA failed (") + e.what() + "); this layer ran on the CPU";
    }
    if (auto b = weights.find(s.layer + ".bias"); b != weights.end()) layer.bias = b->second.values;
    out.layers.push_back(std::move(layer));
  }
  if (options.progress) options.progress(planned.size(), planned.size(), "");
  return out;
}

Weights random_weights(const models::Model& model, uint64_t seed) {
  Weights w;
  auto draw = [&](const std::string& name, std::vector<int64_t> shape) {
    Tensor t;
    t.shape = std::move(shape);
    t.values.resize(static_cast<size_t>(t.numel()));
    Rng rng(seed ^ name_hash(name));
    for (auto& v : t.values) {
      // Student-t(4) = Z / sqrt(chi2_4 / 4), chi2_4 = -2 ln(U1 U2).
      const double z = rng.normal();
      double u = 0;
      while (u <= 0) u = rng.uniform() * rng.uniform();
      v = static_cast<float>(0.05 * z / std::sqrt(-0.5 * std::log(u)));
    }
    w[name] = std::move(t);
  };
  for (const auto& layer : model.layers) {
    if (!layer.has_weights()) continue;
    draw(layer.name + ".weight", weight_shape(layer));
    if (layer.bias_count > 0) draw(layer.name + ".bias", {layer.bias_count});
  }
  return w;
}

}  // namespace dkm::kmeans

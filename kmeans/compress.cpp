#include "kmeans/compress.hpp"

#include <chrono>
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <optional>

#include <fmt/core.h>
#include <fmt/ranges.h>

#include "kmeans/activation.hpp"
#include "kmeans/assign.hpp"
#include "kmeans/cuda_backend.hpp"
#include "kmeans/rng.hpp"
#include "kmeans/sparsity.hpp"
#include "models/error.hpp"
#include "models/input_file.hpp"
#include "models/tensor_io.hpp"

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
  if (layer.kind == models::LayerKind::conv_transpose2d) {  // ONNX's and PyTorch's [C_in, M/groups, kH, kW]
    const int64_t per_in = layer.groups > 0 ? layer.out_channels / layer.groups * layer.kernel_h * layer.kernel_w : 0;
    return {per_in > 0 ? layer.weight_count / per_in : 0, layer.groups > 0 ? layer.out_channels / layer.groups : 0,
            layer.kernel_h, layer.kernel_w};
  }
  if (layer.kind == models::LayerKind::linear)
    return {layer.out_features, layer.out_features > 0 ? layer.weight_count / layer.out_features : 0};
  return {};
}

namespace {

// A layer cut into vectors with its sparse group set aside and K clamped: all but the k-means part.
struct PreparedLayer {
  CompressedLayer out;
  std::span<const float> vectors;   // N x dim, all of them
  SparseGroup sparse;
  std::vector<float> rest;          // the vectors outside the sparse group: what k-means clusters
  std::vector<float> rest_weights;  // their activation weights (empty: plain k-means)
  int64_t offset = 0;               // 1 when the sparse group takes label 0
  KMeansParams params;
  bool needs_kmeans = false;
};

PreparedLayer prepare_layer(const Tensor& weight, const LayerSetting& s, int threads, Device device,
                            const InputMoments* moments) {
  PreparedLayer p;
  const auto shape = vector_shape(weight.shape, s.granularity, s.dim);
  const int64_t n = shape.vectors, dim = shape.dim;
  p.vectors = weight.values;
  CompressedLayer& out = p.out;
  out.name = s.layer;
  out.granularity = s.granularity;
  out.weight_shape = weight.shape;
  out.dim = dim;
  out.seed = s.seed;
  out.warning = s.warning;
  out.weighting = s.weighting;
  out.labels.resize(static_cast<size_t>(n));

  if (s.k >= n) {  // the reference code leaves such a layer unchanged
    out.k = n;
    out.codebook = weight.values;
    std::iota(out.labels.begin(), out.labels.end(), 0);
    return p;
  }
  if (s.k == 1) {  // ... and gives the mean for K == 1
    out.k = 1;
    out.codebook.assign(static_cast<size_t>(dim), 0.0f);
    for (int64_t j = 0; j < dim; ++j) {
      double m = 0;
      for (int64_t i = 0; i < n; ++i) m += p.vectors[i * dim + j];
      out.codebook[j] = static_cast<float>(m / double(n));
    }
    return p;
  }
  p.sparse = select_sparse(p.vectors, dim, s.sparsity, s.sparsity_variant);
  p.offset = p.sparse.count > 0 ? 1 : 0;
  if (p.offset) {
    out.sparsity = s.sparsity;
    out.sparsity_variant = s.sparsity_variant;
  }
  p.rest.reserve(static_cast<size_t>((n - p.sparse.count) * dim));
  std::vector<float> all_weights;
  if (s.weighting == Weighting::activation) all_weights = activation_weights(weight.shape, s.granularity, *moments);
  const int64_t per_vector = static_cast<int64_t>(all_weights.size()) / n;  // 1 or dim
  std::vector<float> weighted;  // the vectors of positive weight: only they can hold a centre
  for (int64_t i = 0; i < n; ++i) {
    if (p.sparse.member[i]) continue;
    const float* v = &p.vectors[i * dim];
    p.rest.insert(p.rest.end(), v, v + dim);
    if (all_weights.empty()) continue;
    const float* w = &all_weights[i * per_vector];
    p.rest_weights.insert(p.rest_weights.end(), w, w + per_vector);
    if (std::any_of(w, w + per_vector, [](float x) { return x > 0; })) weighted.insert(weighted.end(), v, v + dim);
  }
  int64_t k_rest = s.k - p.offset;
  const int64_t distinct = count_distinct(all_weights.empty() ? p.rest : weighted, dim, k_rest);
  if (distinct < k_rest) {
    out.warning = fmt::format("K clamped from {} to {}: only {} distinct vectors {}", s.k, distinct + p.offset, distinct,
                              all_weights.empty() ? "outside the sparse group" : "of non-zero input second moment");
    k_rest = distinct;
  }
  p.params.weights = p.rest_weights;
  out.codebook = p.sparse.centre;
  if (!p.offset) out.codebook.clear();
  out.k = p.offset + k_rest;
  p.params.k = k_rest;
  p.params.init = s.init;
  p.params.seed = s.seed;
  p.params.max_iter = s.max_iter;
  p.params.tol = s.tol;
  p.params.threads = threads;
  p.params.device = device;
  p.needs_kmeans = k_rest > 0;  // else every vector is in the sparse group: all labels stay 0
  return p;
}

// The k-means result into the layer: codebook after the sparse centre, labels shifted past it.
CompressedLayer finish_layer(PreparedLayer& p, const KMeansResult* r, double time_ms) {
  CompressedLayer& out = p.out;
  if (r) {
    out.codebook.insert(out.codebook.end(), r->centers.begin(), r->centers.end());
    out.iterations = r->iterations;
    size_t t = 0;
    for (int64_t i = 0; i < out.vectors(); ++i)
      out.labels[i] = p.sparse.member[i] ? 0 : static_cast<int32_t>(p.offset + r->labels[t++]);
  }
  out.mse = squared_error(p.vectors, out.dim, out) / double(out.vectors() * out.dim);
  out.time_ms = time_ms;
  return std::move(out);
}

double elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace

namespace {

// The bias after sharing: unchanged, or corrected for the shift of the layer's mean output.
void attach_bias(CompressedLayer& layer, const LayerSetting& s, std::span<const float> original, const Tensor* bias,
                 const InputMoments* moments) {
  if (!bias) return;
  layer.bias = bias->values;
  if (!s.bias_correction) return;
  std::vector<float> shared(original.size());
  for (int64_t i = 0; i < layer.vectors(); ++i)
    std::copy_n(&layer.codebook[layer.labels[i] * layer.dim], layer.dim, &shared[i * layer.dim]);
  correct_bias(layer.weight_shape, original, shared, *moments, layer.bias);
  layer.bias_corrected = true;
}

}  // namespace

CompressedLayer compress_layer(const Tensor& weight, const LayerSetting& s, int threads, Device device,
                               const InputMoments* moments, const Tensor* bias) {
  if ((s.weighting == Weighting::activation || s.bias_correction) && !moments)
    throw UsageError(fmt::format("layer '{}': {} needs calibration statistics (dkm calibrate, then --stats STATS)", s.layer,
                                 s.bias_correction ? "bias_correction" : "weighting activation"));
  const auto start = std::chrono::steady_clock::now();
  PreparedLayer p = prepare_layer(weight, s, threads, device, moments);
  std::optional<KMeansResult> r;
  if (p.needs_kmeans) r = kmeans(p.rest, p.out.dim, p.params);
  CompressedLayer out = finish_layer(p, r ? &*r : nullptr, elapsed_ms(start));
  attach_bias(out, s, weight.values, bias, moments);
  return out;
}

namespace {

// Every planned tensor (and declared bias) is there with the spec's shape, before the long work starts.
void check_weights(const models::Model& model, const WeightSource& weights, std::span<const LayerSetting* const> planned) {
  for (const LayerSetting* s : planned) {
    const std::string name = s->layer + ".weight";
    const bool linear = s->weight_shape.size() == 2;
    const models::Layer* planned_layer = model.find(s->layer);
    const bool transposed = planned_layer && planned_layer->kind == models::LayerKind::conv_transpose2d;
    const char* layout = linear ? "(out, in)" : transposed ? "(in, out/groups, kh, kw)" : "(OIHW)";
    const auto shape = weights.shape(name);
    if (!shape)
      throw InputError(weights.source(name), name,
                       fmt::format("a tensor of shape [{}] {} for {} layer '{}'", fmt::join(s->weight_shape, ", "), layout,
                                   linear ? "linear" : "conv", s->layer));
    if (*shape != s->weight_shape)
      throw InputError(weights.source(name), name,
                       fmt::format("shape [{}] {} as the model spec says, got [{}]", fmt::join(s->weight_shape, ", "), layout,
                                   fmt::join(*shape, ", ")));
    const models::Layer* layer = model.find(s->layer);
    if (layer && layer->bias) {
      const std::string bias = s->layer + ".bias";
      const auto b = weights.shape(bias);
      if (!b)
        throw InputError(weights.source(bias), bias,
                         fmt::format("a bias of {} values (the spec declares bias for '{}')", layer->bias_count, s->layer));
      const int64_t n = Tensor{*b, {}}.numel();
      if (n != layer->bias_count)
        throw InputError(weights.source(bias), bias, fmt::format("{} values, got {}", layer->bias_count, n));
    }
  }
}

Tensor load_finite(const WeightSource& weights, const std::string& name) {
  Tensor t = weights.load(name);
  require_finite(t, weights.source(name), name);
  return t;
}

// The bias a layer keeps, when the weights have one.
std::optional<Tensor> bias_of(const WeightSource& weights, const LayerSetting& s) {
  const std::string bias = s.layer + ".bias";
  if (!weights.shape(bias)) return std::nullopt;
  return load_finite(weights, bias);
}

std::vector<const LayerSetting*> planned_layers(std::span<const LayerSetting> settings) {
  std::vector<const LayerSetting*> planned;
  for (const auto& s : settings)
    if (s.compress) planned.push_back(&s);
  return planned;
}

// Layers of one vector length clustered in lockstep (kmeans_batch): on the GPU one launch per Lloyd
// round serves all of them. The same bits as compress_streamed; a group's wall time is shared among its
// layers in proportion to their work (vectors x K x iterations).
std::vector<CompressedLayer> compress_together(const WeightSource& weights, std::span<const LayerSetting* const> planned,
                                               std::span<const InputMoments* const> moments, const CompressOptions& options) {
  std::vector<Tensor> tensors;  // what the prepared layers' spans point into
  tensors.reserve(planned.size());
  std::vector<PreparedLayer> prepared;
  std::map<int64_t, std::vector<size_t>> groups;  // vector length -> layers that need k-means
  std::vector<CompressedLayer> layers(planned.size());
  size_t done = 0;
  auto report = [&](const std::string& layer) {
    if (options.progress) options.progress(done, planned.size(), layer);
  };
  auto keep_bias = [&](size_t i) {
    const auto bias = bias_of(weights, *planned[i]);
    attach_bias(layers[i], *planned[i], tensors[i].values, bias ? &*bias : nullptr, moments[i]);
  };
  for (size_t i = 0; i < planned.size(); ++i) {
    const LayerSetting& s = *planned[i];
    tensors.push_back(load_finite(weights, s.layer + ".weight"));
    prepared.push_back(prepare_layer(tensors.back(), s, options.threads, options.device, moments[i]));
    if (prepared[i].needs_kmeans) groups[prepared[i].out.dim].push_back(i);
  }
  for (size_t i = 0; i < planned.size(); ++i)
    if (!prepared[i].needs_kmeans) {
      layers[i] = finish_layer(prepared[i], nullptr, 0);
      keep_bias(i);
      ++done;
    }
  for (const auto& group : groups) {
    const int64_t dim = group.first;
    // Not a structured binding: clang 14 cannot capture one in the lambda below.
    const std::vector<size_t>& members = group.second;
    report(planned[members.front()]->layer);
    const auto start = std::chrono::steady_clock::now();
    std::vector<KMeansItem> items;
    for (size_t i : members) items.push_back({prepared[i].rest, prepared[i].params});
    size_t group_done = 0;
    auto finished = [&](size_t item) {
      ++done;
      ++group_done;
      report(planned[members[item]]->layer);
    };
    std::vector<KMeansResult> results;
    std::string fallback;
    try {
      results = kmeans_batch(items, dim, finished);
    } catch (const CudaError& e) {
      // With automatic, a device failure (out of memory, a kernel fault) costs speed, not the result:
      // the CPU gives the same labels.
      if (options.device != Device::automatic) throw;
      fallback = std::string("CUDA failed (") + e.what() + "); this layer ran on the CPU";
      for (KMeansItem& item : items) item.params.device = Device::cpu;
      done -= group_done;
      group_done = 0;
      results = kmeans_batch(items, dim, finished);
    }
    const double group_ms = elapsed_ms(start);
    auto work = [&](size_t j) {
      return double(items[j].points.size()) * double(items[j].params.k) * std::max(1, results[j].iterations);
    };
    double total_work = 0;
    for (size_t j = 0; j < members.size(); ++j) total_work += work(j);
    for (size_t j = 0; j < members.size(); ++j) {
      const size_t i = members[j];
      layers[i] = finish_layer(prepared[i], &results[j], group_ms * work(j) / total_work);
      keep_bias(i);
      if (!fallback.empty()) layers[i].warning = fallback;
    }
  }
  return layers;
}

}  // namespace

// The statistics a setting needs (activation weighting, bias correction), checked against the layer:
// the model they were taken on, the layer present, one value per input channel.
const InputMoments* layer_moments(const models::Model& model, const LayerSetting& s, const ActivationStats* stats) {
  if (s.weighting != Weighting::activation && !s.bias_correction) return nullptr;
  const char* what = s.bias_correction && s.weighting != Weighting::activation ? "bias_correction" : "weighting activation";
  if (!stats)
    throw UsageError(fmt::format("the plan gives layer '{}' {}, which needs calibration statistics: run dkm calibrate "
                                 "and pass the file with --stats STATS (docs/inference.md)", s.layer, what));
  if (stats->model != model.name)
    throw InputError(stats->source, "model",
                     fmt::format("expected statistics of model \"{}\" (dkm calibrate of this model), got \"{}\"", model.name, stats->model));
  auto it = stats->layers.find(s.layer);
  if (it == stats->layers.end())
    throw InputError(stats->source, "layers." + s.layer,
                     fmt::format("expected statistics of conv layer '{}' of model \"{}\", got none", s.layer, model.name));
  const models::Layer* layer = model.find(s.layer);
  const int64_t channels = layer && !layer->input_shapes.empty() ? layer->input_shapes[0].c : 0;
  for (const auto& [key, values] : {std::pair{"second_moment", &it->second.second_moment}, std::pair{"mean", &it->second.mean}})
    if (static_cast<int64_t>(values->size()) != channels)
      throw InputError(stats->source, fmt::format("layers.{}.{}", s.layer, key),
                       fmt::format("expected {} values, one per input channel of layer '{}', got {}", channels, s.layer, values->size()));
  return &it->second;
}

namespace {

// Every planned layer's statistics, checked before the long work starts.
std::vector<const InputMoments*> planned_moments(const models::Model& model, std::span<const LayerSetting* const> planned,
                                                 const CompressOptions& options) {
  std::vector<const InputMoments*> moments;
  for (const LayerSetting* s : planned) moments.push_back(layer_moments(model, *s, options.stats));
  return moments;
}

}  // namespace

void compress_streamed(const models::Model& model, const WeightSource& weights, std::span<const LayerSetting> settings,
                       const CompressOptions& options, const std::function<void(CompressedLayer&&)>& emit) {
  const std::vector<const LayerSetting*> planned = planned_layers(settings);
  check_weights(model, weights, planned);
  const std::vector<const InputMoments*> moments = planned_moments(model, planned, options);
  for (size_t i = 0; i < planned.size(); ++i) {
    const LayerSetting& s = *planned[i];
    if (options.progress) options.progress(i, planned.size(), s.layer);
    CompressedLayer layer;
    {
      const Tensor weight = load_finite(weights, s.layer + ".weight");
      const auto bias = bias_of(weights, s);
      layer = compress_layer(weight, s, options.threads, options.device, moments[i], bias ? &*bias : nullptr);
    }
    emit(std::move(layer));
  }
  if (options.progress) options.progress(planned.size(), planned.size(), "");
}

CompressedModel compress_model(const models::Model& model, const Weights& weights,
                               std::span<const LayerSetting> settings, const CompressOptions& options) {
  const auto source = weights_in_memory(weights, options.weights_source);
  CompressedModel out;
  out.model = model.name;
  const bool on_gpu = options.device == Device::cuda || (options.device == Device::automatic && cuda_usable());
  if (!options.lockstep && !on_gpu) {
    compress_streamed(model, *source, settings, options, [&](CompressedLayer&& l) { out.layers.push_back(std::move(l)); });
    return out;
  }
  const std::vector<const LayerSetting*> planned = planned_layers(settings);
  check_weights(model, *source, planned);
  out.layers = compress_together(*source, planned, planned_moments(model, planned, options), options);
  if (options.progress) options.progress(planned.size(), planned.size(), "");
  return out;
}

namespace {

// Student-t with 4 degrees of freedom times 0.05, seeded from `seed` and the tensor's name.
Tensor draw_tensor(const std::string& name, std::vector<int64_t> shape, uint64_t seed) {
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
  return t;
}

class RandomSource final : public WeightSource {
 public:
  // One drawn tensor is held at a time: a layer whose weight cannot be (a spec with 2^40 channels) is
  // refused before anything is drawn, by the limit every tensor of a weight file has.
  RandomSource(const models::Model& model, uint64_t seed) : seed_(seed) {
    for (const auto& layer : model.layers) {
      if (!layer.has_weights()) continue;
      const uint64_t values = std::max<uint64_t>(static_cast<uint64_t>(layer.weight_count), static_cast<uint64_t>(layer.bias_count));
      if (values > kMaxBinaryInputBytes / sizeof(float))
        throw InputError(model.name, fmt::format("layer '{}'", layer.name),
                         fmt::format("expected a weight that fits in {} of float32 (dkm holds one tensor at a time), "
                                     "got {} values", describe_limit(kMaxBinaryInputBytes), values));
      shapes_[layer.name + ".weight"] = weight_shape(layer);
      if (layer.bias_count > 0) shapes_[layer.name + ".bias"] = {layer.bias_count};
    }
  }
  std::optional<std::vector<int64_t>> shape(const std::string& name) const override {
    auto it = shapes_.find(name);
    if (it == shapes_.end()) return std::nullopt;
    return it->second;
  }
  Tensor load(const std::string& name) const override { return draw_tensor(name, shapes_.at(name), seed_); }
  std::string source(const std::string&) const override { return "--random-weights"; }
  std::vector<std::string> files() const override { return {}; }

 private:
  uint64_t seed_;
  std::map<std::string, std::vector<int64_t>> shapes_;
};

}  // namespace

std::unique_ptr<WeightSource> random_source(const models::Model& model, uint64_t seed) {
  return std::make_unique<RandomSource>(model, seed);
}

Weights random_weights(const models::Model& model, uint64_t seed) {
  // Every drawn value is held at once: a model whose weights cannot be (a spec with 2^40 channels) is
  // refused before anything is drawn, by the limit every weight file has. random_source limits each tensor.
  uint64_t values = 0;
  for (const auto& layer : model.layers) {
    if (!layer.has_weights()) continue;
    values += static_cast<uint64_t>(layer.weight_count) + static_cast<uint64_t>(layer.bias_count);
    if (values > kMaxBinaryInputBytes / sizeof(float))
      throw InputError(model.name, fmt::format("layer '{}'", layer.name),
                       fmt::format("expected weights that fit in {} of float32 for the whole model (dkm's limit for "
                                   "weight files), got {} values up to this layer",
                                   describe_limit(kMaxBinaryInputBytes), values));
  }
  Weights w;
  for (const auto& layer : model.layers) {
    if (!layer.has_weights()) continue;
    w[layer.name + ".weight"] = draw_tensor(layer.name + ".weight", weight_shape(layer), seed);
    if (layer.bias_count > 0) w[layer.name + ".bias"] = draw_tensor(layer.name + ".bias", {layer.bias_count}, seed);
  }
  return w;
}

}  // namespace dkm::kmeans

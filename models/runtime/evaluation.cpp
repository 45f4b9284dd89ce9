#include "models/runtime/evaluation.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "models/error.hpp"
#include "models/tensor_io.hpp"

namespace dkm::runtime {
namespace {

std::vector<std::string> sinks(const models::Model& model) {
  std::map<std::string, int> readers;
  for (const auto& l : model.layers)
    for (const auto& in : l.inputs) ++readers[in];
  std::vector<std::string> out;
  for (const auto& l : model.layers)
    if (!readers.count(l.name)) out.push_back(l.name);
  return out;
}

// Signal and noise energy, summed in double in image order.
struct SnrSums {
  double signal = 0, noise = 0;
  void add(const std::vector<float>& ref, const std::vector<float>& x) {
    for (size_t i = 0; i < ref.size(); ++i) {
      const double r = ref[i], d = r - static_cast<double>(x[i]);
      signal += r * r;
      noise += d * d;
    }
  }
  double db() const {
    if (noise == 0) return std::numeric_limits<double>::infinity();
    return 10.0 * std::log10(signal / noise);
  }
};

// The prediction for image n of a batch.
int64_t predict(const ScoreRule& rule, const Outputs& out, int64_t n) {
  if (!rule.binary()) {
    const Activations& a = out.at(rule.output);
    const int64_t per = a.shape.numel();
    const float* v = a.values.data() + n * per;
    return std::max_element(v, v + per) - v;  // the first of equal maxima
  }
  float top = -std::numeric_limits<float>::infinity();
  for (const auto& name : rule.binary_outputs) {
    const Activations& a = out.at(name);
    const int64_t per = a.shape.numel();
    top = std::max(top, *std::max_element(a.values.data() + n * per, a.values.data() + (n + 1) * per));
  }
  return top > 0 ? 1 : 0;
}

}  // namespace

std::string ScoreRule::describe() const {
  if (!binary()) return fmt::format("top-1 of '{}'", output);
  std::string names;
  for (const auto& n : binary_outputs) names += (names.empty() ? "'" : ", '") + n + "'";
  return fmt::format("binary: max over {} > 0", names);
}

ScoreRule score_rule(const models::Model& model, const std::string& output, const std::vector<std::string>& binary_outputs) {
  for (const auto& name : binary_outputs)
    if (!model.find(name))
      throw UsageError(fmt::format("--score-outputs: model '{}' has no layer '{}'", model.name, name));
  if (!binary_outputs.empty()) return {"", binary_outputs};
  if (!output.empty()) {
    if (!model.find(output)) throw UsageError(fmt::format("--output: model '{}' has no layer '{}'", model.name, output));
    return {output, {}};
  }
  std::vector<std::string> outs = sinks(model);
  if (outs.size() != 1) {
    std::string names;
    for (const auto& n : outs) names += (names.empty() ? "" : ", ") + n;
    throw UsageError(fmt::format("model '{}' has {} outputs ({}): choose one with --output, or a binary score with "
                                 "--score-outputs",
                                 model.name, outs.size(), names));
  }
  return {outs[0], {}};
}

std::vector<int64_t> load_labels(const std::string& path, int64_t images, const models::Model& model,
                                 const ScoreRule& rule) {
  const int64_t classes = rule.binary() ? 2 : model.find(rule.output)->output_shape.numel();
  Array array = read_npy(path);
  if (array.shape.size() != 1 || array.shape[0] != images)
    throw InputError(path, "shape",
                     fmt::format("expected ({},): one label per image of --data, got ({})", images, join_dims(array.shape, ", ")));
  Tensor t = array.to_tensor(path, "labels");
  std::vector<int64_t> labels;
  for (size_t i = 0; i < t.values.size(); ++i) {
    const float v = t.values[i];
    const bool ok = std::isfinite(v) && v == std::floor(v) && v >= 0 && v < static_cast<float>(classes);
    if (!ok)
      throw InputError(path, fmt::format("element [{}]", i),
                       fmt::format("expected {}, got {}",
                                   rule.binary() ? std::string("0 or 1")
                                                 : fmt::format("a class id in [0, {}) ({})", classes, rule.describe()),
                                   v));
    labels.push_back(static_cast<int64_t>(v));
  }
  return labels;
}

Evaluation evaluate(const models::Model& model, const Weights& float_weights, const Weights* compressed,
                    const Activations& data, const EvaluationSetup& setup) {
  check_weights(model, float_weights, setup.weights_source);
  if (compressed) check_weights(model, *compressed, setup.weights_source + " with the compressed layers");
  const std::vector<std::string> outputs = sinks(model);
  RunOptions base;
  base.threads = setup.threads;
  base.weights_source = setup.weights_source;
  base.keep = setup.score.binary() ? setup.score.binary_outputs : std::vector<std::string>{setup.score.output};
  std::map<std::string, SnrSums> layer_sums;
  SnrSums output_sums;
  int64_t float_hits = 0, compressed_hits = 0;
  const int64_t step = std::max<int64_t>(setup.batch, 1);
  for (int64_t b = 0; b < data.batch; b += step) {
    const int64_t end = std::min(data.batch, b + step);
    const Activations batch = slice(data, b, end);
    std::map<std::string, std::vector<float>> reference;  // each conv/linear output of the float run
    RunOptions float_run = base;
    if (compressed)
      float_run.hook = [&](const models::Layer& l, std::span<const Activations* const>, const Activations& out) {
        if (l.has_weights()) reference[l.name] = out.values;
      };
    Outputs ref = run(model, float_weights, batch, float_run);
    Outputs cmp;
    if (compressed) {
      RunOptions compressed_run = base;
      compressed_run.hook = [&](const models::Layer& l, std::span<const Activations* const>, const Activations& out) {
        if (l.has_weights()) layer_sums[l.name].add(reference.at(l.name), out.values);
      };
      cmp = run(model, *compressed, batch, compressed_run);
      for (const auto& name : outputs) output_sums.add(ref.at(name).values, cmp.at(name).values);
    }
    if (setup.labels)
      for (int64_t n = 0; n < end - b; ++n) {
        const int64_t label = (*setup.labels)[b + n];
        float_hits += predict(setup.score, ref, n) == label;
        if (compressed) compressed_hits += predict(setup.score, cmp, n) == label;
      }
  }
  Evaluation e;
  const double images = static_cast<double>(data.batch);
  if (setup.labels) {
    e.float_accuracy = 100.0 * static_cast<double>(float_hits) / images;
    if (compressed) e.compressed_accuracy = 100.0 * static_cast<double>(compressed_hits) / images;
  }
  if (compressed) {
    e.output_snr_db = output_sums.db();
    for (const auto& l : model.layers)
      if (l.has_weights()) e.layer_snr_db.emplace_back(l.name, layer_sums[l.name].db());
  }
  return e;
}

}  // namespace dkm::runtime

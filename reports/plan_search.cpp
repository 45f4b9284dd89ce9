#include "reports/plan_search.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>
#include <utility>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "estimator/compression_ratio.hpp"
#include "estimator/compression_settings.hpp"
#include "estimator/estimate.hpp"
#include "kmeans/compress.hpp"
#include "kmeans/container.hpp"
#include "models/error.hpp"

namespace dkm::reports {
namespace {

// What the search needs of each conv layer: its resolved settings and each candidate's clustered weights.
struct LayerState {
  kmeans::LayerSetting setting;
  LayerSensitivity sensitivity;
  std::vector<kmeans::CompressedLayer> compressed;  // parallel to sensitivity.candidates
};

// Huffman compression ratio of the conv weights (and biases): the layers a plan can compress. Layers left
// uncompressed count at their original size on both sides.
double conv_ratio(double conv_bits, const estimator::ModelRatio& ratio) {
  double saved = 0;
  for (const auto& l : ratio.layers) saved += l.original_bits - l.total_bits.huffman;
  return conv_bits / (conv_bits - saved);
}

// Noise power over signal power: additive across layers to first order, unlike the SNR in dB.
double noise_ratio(const Quality& q) { return std::isfinite(q.output_snr_db) ? std::pow(10.0, -q.output_snr_db / 10) : 0.0; }
double drop_of(const Quality& q) { return q.accuracy_drop_points.value_or(0.0); }

class Searcher {
 public:
  Searcher(const models::Model& model, const Weights& weights, const runtime::Activations& data,
           const PlanSearchOptions& options)
      : model_(model), weights_(weights), data_(data), o_(options) {}

  Quality measure(const kmeans::CompressedModel& cm) {
    Weights w = weights_;
    for (auto& [name, t] : kmeans::decompress(cm)) w[name] = std::move(t);
    const runtime::Evaluation e = runtime::evaluate(model_, weights_, &w, data_, o_.evaluation);
    Quality q;
    q.output_snr_db = e.output_snr_db;
    if (e.float_accuracy && e.compressed_accuracy) q.accuracy_drop_points = *e.float_accuracy - *e.compressed_accuracy;
    return q;
  }

  const models::Model& model_;
  const Weights& weights_;
  const runtime::Activations& data_;
  const PlanSearchOptions& o_;
};

void check_options(const PlanSearchOptions& o) {
  const int targets = (o.max_drop_points ? 1 : 0) + (o.min_snr_db ? 1 : 0) + (o.target_cr ? 1 : 0);
  if (targets != 1) throw UsageError("give exactly one of --max-drop POINTS, --min-snr DB and --target-cr R");
  if (o.max_drop_points && !(std::isfinite(*o.max_drop_points) && *o.max_drop_points >= 0 && *o.max_drop_points <= 100))
    throw UsageError(fmt::format("--max-drop: accuracy points in [0, 100], got {}", *o.max_drop_points));
  if (o.max_drop_points && !o.evaluation.labels)
    throw UsageError("--max-drop is an accuracy drop and needs --labels; without labels bound the output SNR with --min-snr DB");
  if (o.min_snr_db && !std::isfinite(*o.min_snr_db))
    throw UsageError(fmt::format("--min-snr: a finite number of dB, got {}", *o.min_snr_db));
  if (o.target_cr && !(std::isfinite(*o.target_cr) && *o.target_cr >= 1))
    throw UsageError(fmt::format("--target-cr: a compression ratio >= 1, got {}", *o.target_cr));
  if (o.candidates.empty()) throw UsageError("--candidates: at least one K");
  if (o.weightings.empty()) throw UsageError("--weighting: at least one weighting");
  if (o.init != kmeans::Init::kmeans_plus_plus && o.init != kmeans::Init::optimal_1d)
    throw UsageError(fmt::format("--init: k-means++ or optimal-1d, got {}", kmeans::to_string(o.init)));
  for (int64_t k : o.candidates)
    if (k < 1) throw UsageError(fmt::format("--candidates: every K >= 1, got {}", k));
}

// The plan text for per-layer K (0 = uncompressed), each layer with its own seed written out.
std::string plan_text(const models::Model& model, const std::vector<LayerState>& layers, const std::vector<int64_t>& ks,
                      const std::vector<kmeans::Weighting>& weightings, const PlanSearchOptions& o,
                      const std::string& description) {
  nlohmann::ordered_json rules = nlohmann::ordered_json::array();
  for (size_t i = 0; i < layers.size(); ++i) {
    if (ks[i] == 0)
      rules.push_back({{"match", layers[i].setting.layer}, {"compress", false}});
    else
      rules.push_back({{"match", layers[i].setting.layer}, {"k", ks[i]}, {"seed", layers[i].setting.seed},
                       {"init", std::string(kmeans::to_string(layers[i].setting.init))},
                       {"weighting", std::string(kmeans::to_string(weightings[i]))}});
  }
  nlohmann::ordered_json j = {{"format", "dkm-plan/1"},
                              {"model", model.name},
                              {"description", description},
                              {"defaults", {{"granularity", std::string(kmeans::to_string(o.granularity))},
                                            {"init", "k-means++"},
                                            {"bias_correction", o.bias_correction}}},
                              {"layers", rules}};
  return j.dump(1) + "\n";
}

}  // namespace

PlanSearch search_plan(const models::Model& model, const Weights& weights, const runtime::Activations& data,
                       const estimator::HwProfile& profile, const PlanSearchOptions& options) {
  check_options(options);
  runtime::check_weights(model, weights, options.evaluation.weights_source);
  Searcher s(model, weights, data, options);
  PlanSearch r;
  r.model = model.name;
  r.images = data.batch;
  r.metric = options.evaluation.labels ? options.evaluation.score.describe() : "output SNR against the float model";
  r.profile = profile.name;
  r.unit = profile.unit;
  r.float_accuracy = runtime::evaluate(model, weights, nullptr, data, options.evaluation).float_accuracy;

  // Every conv layer's settings: a plan that compresses all of them, K filled in per candidate below.
  kmeans::Plan all;
  all.source = "<dkm plan>";
  all.defaults.k = 1;
  all.defaults.granularity = options.granularity;
  all.defaults.init = kmeans::Init::kmeans_plus_plus;
  std::vector<LayerState> layers;
  for (auto& setting : kmeans::resolve_plan(all, model)) {
    LayerState st;
    st.setting = setting;
    st.setting.seed = options.seed + static_cast<uint64_t>(setting.conv_index);
    st.setting.bias_correction = options.bias_correction;
    if (options.init == kmeans::Init::optimal_1d && setting.dim == 1) st.setting.init = kmeans::Init::optimal_1d;
    st.sensitivity.layer = setting.layer;
    st.sensitivity.vectors = setting.vectors;
    st.sensitivity.dim = setting.dim;
    const models::Layer& layer = *model.find(setting.layer);
    const estimator::CountingRules counting;
    st.sensitivity.original_bits = double(layer.weight_count) * counting.original_weight_bits +
                                   (counting.count_biases ? double(layer.bias_count) * counting.bias_bits : 0.0);
    layers.push_back(std::move(st));
  }
  if (layers.empty()) throw UsageError(fmt::format("model '{}' has no conv layer to plan", model.name));

  std::vector<int64_t> ks = options.candidates;
  std::sort(ks.begin(), ks.end(), std::greater<>());
  ks.erase(std::unique(ks.begin(), ks.end()), ks.end());
  size_t total = 0;
  for (const auto& st : layers)
    for (int64_t k : ks) total += k < st.setting.vectors ? 1 : 0;

  // Phase 1: sensitivity, one layer at a time.
  double conv_bits = 0;
  for (const auto& st : layers) conv_bits += st.sensitivity.original_bits;
  size_t done = 0;
  for (auto& st : layers) {
    const Tensor& w = weights.at(st.setting.layer + ".weight");
    const auto b = weights.find(st.setting.layer + ".bias");
    const Tensor* bias = b == weights.end() ? nullptr : &b->second;
    for (int64_t k : ks) {
      if (k >= st.setting.vectors) continue;
      if (options.progress) options.progress(done++, total, fmt::format("{} K={}", st.setting.layer, k));
      std::optional<Candidate> best;
      std::optional<kmeans::CompressedLayer> best_layer;
      for (kmeans::Weighting weighting : options.weightings) {
        kmeans::LayerSetting setting = st.setting;
        setting.k = k;
        setting.weighting = weighting;
        kmeans::CompressedModel one{model.name, false, 0,
                                    {kmeans::compress_layer(w, setting, options.evaluation.threads, kmeans::Device::cpu,
                                                            kmeans::layer_moments(model, setting, options.stats), bias)}};
        const estimator::ModelRatio ratio = estimator::compression_ratio(model, one);
        Candidate c;
        c.k = k;
        c.weighting = weighting;
        c.huffman_bits = ratio.layers.at(0).total_bits.huffman;
        c.warning = one.layers[0].warning;
        c.quality = s.measure(one);
        // The better weighting: smaller accuracy drop, then less output noise; ties keep the earlier one.
        if (!best || std::pair{drop_of(c.quality), noise_ratio(c.quality)} <
                         std::pair{drop_of(best->quality), noise_ratio(best->quality)}) {
          best = c;
          best_layer = std::move(one.layers[0]);
        }
      }
      st.sensitivity.candidates.push_back(*best);
      st.compressed.push_back(std::move(*best_layer));
    }
  }

  // Phase 2: the greedy walk. choice[i] = -1 (uncompressed) or an index into layer i's candidates.
  std::vector<int> choice(layers.size(), -1);
  std::vector<bool> frozen(layers.size(), false);
  auto bits_of = [&](size_t i, int c) {
    return c < 0 ? layers[i].sensitivity.original_bits : layers[i].sensitivity.candidates[static_cast<size_t>(c)].huffman_bits;
  };
  auto quality_of = [&](size_t i, int c) { return c < 0 ? Quality{std::nullopt, 0} : layers[i].sensitivity.candidates[static_cast<size_t>(c)].quality; };
  auto ratio_of = [&](const std::vector<int>& ch) {
    double saved = 0;
    for (size_t i = 0; i < layers.size(); ++i) saved += layers[i].sensitivity.original_bits - bits_of(i, ch[i]);
    return conv_bits / (conv_bits - saved);
  };
  auto compressed_of = [&](const std::vector<int>& ch) {
    kmeans::CompressedModel cm{model.name, false, 0, {}};
    for (size_t i = 0; i < layers.size(); ++i)
      if (ch[i] >= 0) cm.layers.push_back(layers[i].compressed[static_cast<size_t>(ch[i])]);
    return cm;
  };
  auto point = [&](const std::vector<int>& ch, const std::string& layer, int64_t k) {
    const kmeans::CompressedModel cm = compressed_of(ch);
    CurvePoint p;
    p.layer = layer;
    p.k = k;
    p.compression_ratio = conv_ratio(conv_bits, estimator::compression_ratio(model, cm));
    p.quality = cm.layers.empty() ? Quality{r.float_accuracy ? std::optional<double>(0.0) : std::nullopt,
                                            std::numeric_limits<double>::infinity()}
                                  : s.measure(cm);
    estimator::EstimateOptions eo;
    eo.compression = estimator::compression_from_model(cm, model);
    const estimator::Estimate e = estimator::estimate(model, profile, eo);
    p.energy = {e.totals.paper_energy, e.totals.hierarchy_energy};
    return p;
  };
  auto within_budget = [&](const Quality& q) {
    if (options.max_drop_points) return q.accuracy_drop_points.value_or(0.0) <= *options.max_drop_points;
    if (options.min_snr_db) return q.output_snr_db >= *options.min_snr_db;
    return true;
  };

  r.curve.push_back(point(choice, "", 0));
  size_t moves_total = 0;
  for (const auto& st : layers) moves_total += st.sensitivity.candidates.size();
  size_t moves = 0;
  while (!(options.target_cr && ratio_of(choice) >= *options.target_cr)) {
    // The next move of each layer: its next smaller K that saves bits. Cheapest loss per saved bit first
    // (accuracy drop, then output noise), ties to the bigger saving, then to the earlier layer.
    std::optional<std::tuple<double, double, double, size_t, int>> best;
    for (size_t i = 0; i < layers.size(); ++i) {
      if (frozen[i]) continue;
      const int n = static_cast<int>(layers[i].sensitivity.candidates.size());
      for (int c = choice[i] + 1; c < n; ++c) {
        const double saved = bits_of(i, choice[i]) - bits_of(i, c);
        if (saved <= 0) continue;
        const Quality a = quality_of(i, choice[i]), b = quality_of(i, c);
        const std::tuple<double, double, double, size_t, int> key{std::max(0.0, drop_of(b) - drop_of(a)) / saved,
                                                                   std::max(0.0, noise_ratio(b) - noise_ratio(a)) / saved,
                                                                   -saved, i, c};
        if (!best || key < *best) best = key;
        break;
      }
    }
    if (!best) break;
    const size_t i = std::get<3>(*best);
    const int c = std::get<4>(*best);
    std::vector<int> next = choice;
    next[i] = c;
    const int64_t k = layers[i].sensitivity.candidates[static_cast<size_t>(c)].k;
    if (options.progress) options.progress(moves++, moves_total, fmt::format("{} K={} (joint)", layers[i].setting.layer, k));
    CurvePoint p = point(next, layers[i].setting.layer, k);
    p.accepted = within_budget(p.quality);
    if (p.accepted)
      choice = next;
    else
      frozen[i] = true;  // a smaller K of this layer would lose more still
    r.curve.push_back(p);
  }
  if (options.target_cr && ratio_of(choice) < *options.target_cr)
    throw UsageError(fmt::format("--target-cr {}: not reachable with K >= {} ({} granularity): at most {:.3f}",
                                 *options.target_cr, ks.back(), kmeans::to_string(options.granularity), ratio_of(choice)));

  std::vector<kmeans::Weighting> chosen_weighting;
  for (size_t i = 0; i < layers.size(); ++i) {
    const Candidate* c = choice[i] < 0 ? nullptr : &layers[i].sensitivity.candidates[static_cast<size_t>(choice[i])];
    r.chosen_k.push_back(c ? c->k : 0);
    chosen_weighting.push_back(c ? c->weighting : kmeans::Weighting::plain);
    r.sensitivity.push_back(layers[i].sensitivity);
  }
  r.chosen_weighting = chosen_weighting;
  const std::string goal = options.target_cr      ? fmt::format("--target-cr {}", *options.target_cr)
                           : options.max_drop_points ? fmt::format("--max-drop {} points", *options.max_drop_points)
                                                     : fmt::format("--min-snr {} dB", *options.min_snr_db);
  r.plan_json = plan_text(model, layers, r.chosen_k, chosen_weighting, options,
                          fmt::format("searched by dkm plan ({}; {} image(s); metric: {}; candidates K >= {})", goal,
                                      data.batch, r.metric, ks.back()));

  // Verification: the plan as `dkm compress` reads it, compressed afresh and measured.
  const kmeans::Plan plan = kmeans::parse_plan(r.plan_json, "<dkm plan>");
  kmeans::CompressOptions co;
  co.threads = options.evaluation.threads;
  co.weights_source = options.evaluation.weights_source;
  co.stats = options.stats;
  const kmeans::CompressedModel cm = kmeans::compress_model(model, weights, kmeans::resolve_plan(plan, model), co);
  r.verified.compression_ratio = conv_ratio(conv_bits, estimator::compression_ratio(model, cm));
  r.verified.quality = cm.layers.empty() ? r.curve.front().quality : s.measure(cm);
  estimator::EstimateOptions eo;
  eo.compression = estimator::compression_from_model(cm, model);
  const estimator::Estimate e = estimator::estimate(model, profile, eo);
  r.verified.energy = {e.totals.paper_energy, e.totals.hierarchy_energy};
  return r;
}

}  // namespace dkm::reports

#include "reports/pipeline.hpp"

#include <cmath>

#include <fmt/core.h>

#include "estimator/pipeline.hpp"
#include "kmeans/compress.hpp"
#include "kmeans/container.hpp"
#include "models/error.hpp"

namespace dkm::reports {

namespace {

using estimator::DataType;
using estimator::Level;

const kmeans::CompressedLayer* find_compressed(const Run& run, const std::string& name) {
  if (!run.compressed) return nullptr;
  for (const auto& l : run.compressed->layers)
    if (l.name == name) return &l;
  return nullptr;
}

const kmeans::LayerSetting* find_setting(const Run& run, const std::string& name) {
  for (const auto& s : run.settings)
    if (s.layer == name && s.compress) return &s;
  return nullptr;
}

const estimator::LayerRatio* find_ratio(const Run& run, const std::string& name) {
  for (const auto& r : run.ratio.layers)
    if (r.layer == name) return &r;
  return nullptr;
}

const estimator::LayerEstimate* find_estimate(const estimator::Estimate& e, const std::string& name) {
  for (const auto& l : e.layers)
    if (l.name == name) return &l;
  return nullptr;
}

// Energies of the conv layers only (the sweep's scope) for an estimate.
std::pair<double, double> conv_energies(const estimator::Estimate& e) {
  double paper = 0, hierarchy = 0;
  for (const auto& l : e.layers)
    if (l.kind == models::LayerKind::conv2d) paper += l.paper.total_energy(), hierarchy += l.hierarchy.total_energy();
  return {paper, hierarchy};
}

std::string weights_label(const RunOptions& o) {
  if (o.random_seed) return fmt::format("random (Student-t, seed {})", *o.random_seed);
  return o.weights.empty() ? o.model + " (the model's own weights)" : o.weights;
}

// Weighted by the number of values, so large layers count for what they hold.
double model_mse(const kmeans::CompressedModel& c) {
  double sq = 0, n = 0;
  for (const auto& l : c.layers) {
    const double values = static_cast<double>(l.vectors() * l.dim);
    sq += l.mse * values;
    n += values;
  }
  return n > 0 ? sq / n : kNotComputed;
}

}  // namespace

std::vector<double> paper_sweep_rates() { return {0.5, 0.3, 0.25, 0.2, 0.15, 0.1, 0.05, 0.01}; }

namespace {

// K/N of the plan as a whole, 0 without shared layers.
double plan_cluster_rate(const Run& run) {
  double k = 0, n = 0;
  for (const auto& l : run.ratio.layers) k += static_cast<double>(l.k), n += static_cast<double>(l.vectors);
  return n > 0 ? k / n : 0;
}

}  // namespace

std::vector<double> default_sweep_rates(const Run& run) {
  std::vector<double> rates = paper_sweep_rates();
  const double plan = plan_cluster_rate(run);
  if (plan > 0 && plan < rates.back()) {
    for (double r = rates.back() / std::sqrt(10.0); r > plan; r /= std::sqrt(10.0)) rates.push_back(r);
    rates.push_back(plan);
  }
  return rates;
}

Run run_configuration(const RunOptions& o) {
  if (o.hw.empty()) throw UsageError("a hardware profile is needed (--hw)");
  estimator::PipelineOptions p;
  p.model = o.model;
  p.hw = o.hw;
  p.plan = o.plan;
  p.compressed = o.compressed;
  p.weights = o.weights;
  p.random_seed = o.random_seed;
  p.kmeans.threads = o.threads;
  p.batch = o.batch;
  p.conv_bits = o.conv_bits;
  p.mapper = estimator::MapperOptions{estimator::Objective::energy};  // the mapping column of the report
  p.on_stage = o.on_stage;
  p.check_loaded = o.check_loaded;
  estimator::PipelineResult r = estimator::run_pipeline(p);
  Run run;
  run.options = o;
  run.model = std::move(r.loaded.model);
  run.profile = std::move(*r.loaded.profile);
  run.settings = std::move(r.loaded.settings);
  run.compressed = std::move(r.compressed);
  run.weights = std::move(r.loaded.weights);
  run.estimate = std::move(r.estimated->estimate);
  run.baseline = std::move(r.estimated->baseline);
  run.ratio = std::move(r.estimated->ratio);
  return run;
}

void check_filter_layer(const estimator::Loaded& l, const std::string& name) {
  if (name.empty()) return;
  bool shared = false;
  if (l.container) {
    for (const auto& c : l.container->layers) shared = shared || (c.name == name && c.weight_shape.size() == 4);
  } else if (!l.weights.empty()) {
    for (const auto& s : l.settings) shared = shared || (s.layer == name && s.compress && s.weight_shape.size() == 4);
  }
  if (!shared) throw UsageError(fmt::format("--filters {}: not a weight-shared conv layer of this plan", name));
}

const kmeans::CompressedLayer* filter_layer_of(const Run& run, const std::string& name) {
  if (run.compressed)
    for (const auto& l : run.compressed->layers) {
      const bool named = !name.empty() && l.name == name;
      const bool automatic = name.empty() && l.weight_shape.size() == 4 && l.weight_shape[2] * l.weight_shape[3] > 1 &&
                             find_ratio(run, l.name) != nullptr;
      if (named || automatic) return &l;
    }
  if (!name.empty()) throw UsageError(fmt::format("--filters {}: not a weight-shared conv layer of this plan", name));
  return nullptr;
}

ReportInput report_input(const Run& run, const std::vector<double>& sweep_rates, const std::string& filter_layer,
                         const std::string& generator) {
  ReportInput in;
  in.model = run.model.name;
  in.profile = run.profile.name;
  in.energy_unit = std::string(estimator::to_string(run.estimate.unit));
  in.plan = run.options.compressed.empty() ? run.options.plan : "compressed model " + run.options.compressed;
  in.weights = run.weights.empty() ? std::string() : weights_label(run.options);
  in.batch = run.estimate.batch;
  in.generator = generator;
  for (Level l : estimator::kLevels) in.levels.emplace_back(estimator::to_string(l));
  in.levels.emplace_back("mac");
  for (DataType d : estimator::kDataTypes) in.data_types.emplace_back(estimator::to_string(d));
  in.data_types.emplace_back("mac");

  const estimator::CountingRules rules;
  for (const auto& le : run.estimate.layers) {
    const models::Layer* layer = run.model.find(le.name);
    if (!layer) continue;
    ReportLayer r;
    r.name = le.name;
    r.kind = std::string(models::to_string(le.kind));
    r.weight_shape = kmeans::weight_shape(*layer);
    r.weights = layer->weight_count;
    r.macs = le.paper.macs;
    const auto* ratio = find_ratio(run, le.name);
    const auto* comp = find_compressed(run, le.name);
    const auto* setting = find_setting(run, le.name);
    r.compressed = ratio != nullptr;
    if (ratio) {
      r.k = ratio->k;
      r.cluster_rate = ratio->vectors > 0 ? static_cast<double>(ratio->k) / static_cast<double>(ratio->vectors) : 0;
      r.original_bits = ratio->original_bits;
      r.fixed_bits = ratio->total_bits.fixed;
      r.entropy_bits = ratio->total_bits.entropy;
      r.huffman_bits = ratio->total_bits.huffman;
    } else {
      // Kept as it is: the same counting rules as the ratio's "kept" bits.
      const double bits = static_cast<double>(layer->weight_count) * rules.uncompressed_bits +
                          (rules.count_biases ? static_cast<double>(layer->bias_count) * rules.bias_bits : 0.0);
      r.original_bits = r.fixed_bits = r.entropy_bits = r.huffman_bits = bits;
    }
    if (setting) r.granularity = std::string(kmeans::to_string(setting->granularity));
    if (comp && ratio) r.mse = comp->mse;
    r.paper_energy = le.paper.total_energy();
    r.hierarchy_energy = le.hierarchy.total_energy();
    const auto* base = find_estimate(run.baseline, le.name);
    r.paper_energy_uncompressed = base ? base->paper.total_energy() : r.paper_energy;
    r.hierarchy_energy_uncompressed = base ? base->hierarchy.total_energy() : r.hierarchy_energy;
    for (Level l : estimator::kLevels) r.energy_by_level.push_back(le.hierarchy.level_energy(l));
    r.energy_by_level.push_back(le.hierarchy.mac_energy);
    for (DataType d : estimator::kDataTypes) r.energy_by_type.push_back(le.hierarchy.type_energy(d));
    r.energy_by_type.push_back(le.hierarchy.mac_energy);
    if (le.mapped) {
      r.mapped_energy = le.mapped->energy();
      r.cycles = le.mapped->cycles();
      r.mapping = estimator::format_mapping_line(estimator::level_costs(run.profile, {}), le.mapped->mapping);
    }
    in.layers.push_back(std::move(r));
  }

  if (!sweep_rates.empty()) {
    estimator::EstimateOptions base;
    base.batch = run.options.batch;
    if (run.options.conv_bits) base.conv_bits = run.options.conv_bits;
    const estimator::Sweep s = estimator::sweep(run.model, run.profile, sweep_rates, base);
    ReportSweep sw;
    for (const auto& p : s.points) {
      sw.cluster_rates.push_back(p.rate);
      sw.paper_energy.push_back(p.totals.paper_energy);
      sw.hierarchy_energy.push_back(p.totals.hierarchy_energy);
    }
    std::tie(sw.paper_uncompressed, sw.hierarchy_uncompressed) = conv_energies(run.baseline);
    sw.r2 = s.r2.value_or(kNotComputed);
    sw.r2_undefined = s.r2_undefined;
    sw.plan_rate = plan_cluster_rate(run);
    if (sw.plan_rate > 0) std::tie(sw.plan_paper_energy, sw.plan_hierarchy_energy) = conv_energies(run.estimate);
    in.sweep = sw;
  }

  if (const kmeans::CompressedLayer* pick = filter_layer_of(run, filter_layer)) {  // non-null only for a compressed run
    const Weights shared = kmeans::decompress(kmeans::CompressedModel{run.compressed->model, false, 0, {*pick}});
    const auto original = run.weights.find(pick->name + ".weight");
    const auto after = shared.find(pick->name + ".weight");
    if (original != run.weights.end() && after != shared.end()) {
      ReportFilters f;
      f.layer = pick->name;
      f.shape = pick->weight_shape;
      f.original = original->second.values;
      f.compressed = after->second.values;
      f.k = pick->k;
      in.filters = std::move(f);
    }
  }

  if (run.options.random_seed)
    in.notes.push_back(fmt::format("Weights are RANDOM heavy-tailed stand-ins (seed {}), not trained ones: sizes and "
                                   "energies are exact for this plan, but MSE and the entropy and Huffman ratios "
                                   "describe the stand-ins only, and nothing here says anything about accuracy.",
                                   *run.options.random_seed));
  if (!run.options.plan.empty() && run.weights.empty())
    in.notes.push_back("No weights were given: cluster labels are assumed uniform, so the entropy and Huffman "
                       "ratios are the plan's upper bound on size and no filters can be shown.");
  if (run.options.plan.empty() && !run.compressed) in.notes.push_back("No plan was given: every layer is uncompressed.");
  if (!run.options.compressed.empty()) {
    if (run.compressed->random_weights)
      in.notes.push_back(fmt::format("The container was compressed from RANDOM stand-in weights (seed {}).",
                                     run.compressed->weights_seed));
    if (run.weights.empty())
      in.notes.push_back("No original weights were given (--weights): filters before sharing cannot be shown.");
  }
  if (run.options.conv_bits)
    in.notes.push_back(fmt::format("Conv layers are estimated at {} bits (weights and activations).",
                                   run.options.conv_bits));
  for (const auto& s : run.settings)
    if (!s.warning.empty()) in.notes.push_back(s.layer + ": " + s.warning);
  if (run.compressed)
    for (const auto& l : run.compressed->layers)
      if (!l.warning.empty()) in.notes.push_back(l.name + ": " + l.warning);
  return in;
}

CompareRow compare_row(const Run& run, const std::string& name) {
  CompareRow row;
  row.name = name;
  row.model = run.model.name;
  row.profile = run.profile.name;
  row.weights = run.weights.empty() ? std::string() : weights_label(run.options);
  row.original_bits = run.ratio.original_bits;
  row.fixed_bits = run.ratio.total_bits.fixed;
  row.entropy_bits = run.ratio.total_bits.entropy;
  row.huffman_bits = run.ratio.total_bits.huffman;
  if (run.compressed) row.mse = model_mse(*run.compressed);
  row.macs = run.estimate.totals.macs;
  row.paper_energy = run.estimate.totals.paper_energy;
  row.hierarchy_energy = run.estimate.totals.hierarchy_energy;
  row.paper_energy_uncompressed = run.baseline.totals.paper_energy;
  row.hierarchy_energy_uncompressed = run.baseline.totals.hierarchy_energy;
  for (Level l : estimator::kLevels) {
    double s = 0;
    for (DataType d : estimator::kDataTypes)
      s += run.estimate.totals.hierarchy_by[static_cast<size_t>(d)][static_cast<size_t>(l)];
    row.energy_by_level.push_back(s);
  }
  row.energy_by_level.push_back(run.estimate.totals.hierarchy_mac_energy);
  return row;
}

}  // namespace dkm::reports

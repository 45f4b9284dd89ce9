// `dkm estimate MODEL [--hw PROFILE] [--plan PLAN | --compressed FILE] [--batch N] [--conv-bits B]
//  [--objective O] [--mapping [LAYER=]FILE]... [--no-mapper] [--csv F] [--json F]`: per-layer inference
// energy by the paper's metric, the row-stationary hierarchy model and the mapping search, with the
// per-level and per-data-type breakdown and each layer's mapping (docs/hwprofile.md).
#include <array>
#include <memory>
#include <optional>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "estimator/mapper.hpp"
#include "estimator/pipeline.hpp"
#include "models/output_files.hpp"
#include "models/runtime/calibration.hpp"
#include "models/error.hpp"
#include "models/model.hpp"
#include "reports/table.hpp"
#include "tools/command.hpp"
#include "tools/usage.hpp"

namespace dkm::cli {

namespace {

using estimator::DataType;
using estimator::Level;
using nlohmann::ordered_json;

struct EstimateCliOptions {
  std::string model;
  std::string hw = std::string(estimator::kDefaultProfile);
  std::string plan, compressed, stats;
  int64_t batch = 0;
  int conv_bits = 0;
  std::string csv_path, json_path;
  std::string objective = "energy";
  std::vector<std::string> mappings;
  bool no_mapper = false;
};

std::string unit_key(estimator::EnergyUnit u) { return u == estimator::EnergyUnit::pj ? "pj" : "mac_normalised"; }

double level_sum(const estimator::Totals& t, Level l) {
  double s = 0;
  for (DataType d : estimator::kDataTypes) s += t.hierarchy_by[static_cast<size_t>(d)][static_cast<size_t>(l)];
  return s;
}

double type_sum(const estimator::Totals& t, DataType d) {
  double s = 0;
  for (Level l : estimator::kLevels) s += t.hierarchy_by[static_cast<size_t>(d)][static_cast<size_t>(l)];
  return s;
}

// The mapped energy, per MAC, cycles and utilisation; empty cells where the layer was not mapped.
[[gnu::noinline]] void append_mapped(std::vector<reports::Cell>& row, const estimator::LayerEstimate& le) {
  if (!le.mapped) {
    row.resize(row.size() + 4);
    return;
  }
  row.emplace_back(le.mapped->energy());
  row.emplace_back(le.mapped->energy() / static_cast<double>(le.paper.macs));
  row.emplace_back(le.mapped->cycles());
  row.emplace_back(le.mapped->utilization);
}

// Every per-layer number, units in the keys.
reports::Table layer_table(const estimator::Estimate& e) {
  const std::string u = unit_key(e.unit), ut = std::string(estimator::to_string(e.unit));
  reports::Table t;
  t.columns = {{"layer", "layer"},
               {"type", "type"},
               {"macs", "MACs"},
               {"k", "K"},
               {"index_bits", "idx bits"},
               {"density", "density"},
               {"labels", "labels"},
               {"n_w", "N_w"},
               {"n_x", "N_x"},
               {"comp_full_adders", "C_comp [FA]"},
               {"r_w_bits", "R_w [bits]"},
               {"r_x_bits", "R_x [bits]"},
               {"paper_energy_" + u, "paper [" + ut + "]"},
               {"paper_per_mac_" + u, "paper/MAC"},
               {"hierarchy_energy_" + u, "hierarchy [" + ut + "]"},
               {"hierarchy_per_mac_" + u, "hier/MAC"},
               {"mac_energy_" + u, "MAC"}};
  for (Level l : estimator::kLevels)
    t.columns.push_back({std::string(to_string(l)) + "_energy_" + u, std::string(to_string(l))});
  for (DataType d : estimator::kDataTypes)
    t.columns.push_back({std::string(to_string(d)) + "_energy_" + u, std::string(to_string(d))});
  for (DataType d : estimator::kDataTypes)
    for (Level l : estimator::kLevels)
      t.columns.push_back({std::string(to_string(d)) + "_" + std::string(to_string(l)) + "_accesses",
                           std::string(to_string(d)) + "@" + std::string(to_string(l))});
  for (auto [key, header] : {std::pair{"mapped_energy_" + u, "mapped [" + ut + "]"}, {"mapped_per_mac_" + u, "mapped/MAC"},
                             {std::string("cycles"), "cycles"}, {std::string("utilization"), "util"}})
    t.columns.push_back({key, header});
  for (const auto& le : e.layers) {
    const auto& h = le.hierarchy;
    const auto& c = le.compression;
    std::vector<reports::Cell> row{le.name,
                                   std::string(models::to_string(le.kind)),
                                   le.paper.macs,
                                   c.k > 0 ? reports::Cell(c.k) : reports::Cell(),
                                   c.k > 0 ? reports::Cell(int64_t{c.index_bits}) : reports::Cell(),
                                   c.density,
                                   c.k > 0 ? reports::Cell(std::string(c.labels_used ? "real" : "uniform")) : reports::Cell(),
                                   le.paper.n_w,
                                   le.paper.n_x,
                                   le.paper.comp_full_adders,
                                   le.paper.r_w_bits,
                                   le.paper.r_x_bits,
                                   le.paper.total_energy(),
                                   le.paper.per_mac(),
                                   h.total_energy(),
                                   h.total_energy() / static_cast<double>(le.paper.macs),
                                   h.mac_energy};
    for (Level l : estimator::kLevels) row.push_back(h.level_energy(l));
    for (DataType d : estimator::kDataTypes) row.push_back(h.type_energy(d));
    for (DataType d : estimator::kDataTypes)
      for (Level l : estimator::kLevels) row.emplace_back(h.at(d, l));
    append_mapped(row, le);
    t.rows.push_back(std::move(row));
  }
  const auto& tot = e.totals;
  std::vector<reports::Cell> total{std::string("total"), {}, tot.macs, {}, {}, {}, {}, {}, {},
                                   tot.comp_full_adders, tot.r_w_bits, tot.r_x_bits, tot.paper_energy,
                                   tot.paper_per_mac(), tot.hierarchy_energy, tot.hierarchy_per_mac(),
                                   tot.hierarchy_mac_energy};
  for (Level l : estimator::kLevels) total.push_back(level_sum(tot, l));
  for (DataType d : estimator::kDataTypes) total.push_back(type_sum(tot, d));
  while (total.size() + 4 < t.columns.size()) total.push_back({});
  if (tot.mapped_cycles > 0) {
    total.push_back(tot.mapped_energy);
    total.push_back(tot.mapped_per_mac());
    total.push_back(tot.mapped_cycles);
  }
  while (total.size() < t.columns.size()) total.push_back({});
  t.total = std::move(total);
  return t;
}

// The terminal shows per-MAC figures and the energy breakdown; CSV and JSON carry every column.
reports::Table text_columns(const reports::Table& full) {
  reports::Table t;
  std::vector<size_t> keep;
  for (size_t i = 0; i < full.columns.size(); ++i) {
    const std::string& k = full.columns[i].key;
    if (k == "labels" || k == "n_w" || k == "n_x" || k == "comp_full_adders" || k == "r_w_bits" || k == "r_x_bits" ||
        k.starts_with("paper_energy") || k.starts_with("hierarchy_energy") || k.starts_with("mapped_energy") ||
        k.ends_with("_accesses"))
      continue;
    keep.push_back(i);
  }
  for (size_t i : keep) t.columns.push_back(full.columns[i]);
  auto pick = [&](const std::vector<reports::Cell>& row) {
    std::vector<reports::Cell> out;
    for (size_t i : keep) out.push_back(row[i]);
    return out;
  };
  for (const auto& r : full.rows) t.rows.push_back(pick(r));
  if (!full.total.empty()) t.total = pick(full.total);
  return t;
}

ordered_json totals_json(const estimator::Totals& t, estimator::EnergyUnit unit) {
  const std::string u = unit_key(unit);
  ordered_json by_level = ordered_json::object(), by_type = ordered_json::object();
  for (Level l : estimator::kLevels) by_level[std::string(to_string(l)) + "_" + u] = level_sum(t, l);
  for (DataType d : estimator::kDataTypes) by_type[std::string(to_string(d)) + "_" + u] = type_sum(t, d);
  return {{"macs", t.macs},
          {"executed_macs", t.executed_macs},
          {"paper_metric_per_mac", t.paper_per_mac()},
          {"paper_metric_energy", t.paper_energy},
          {"paper_metric_unit", std::string(to_string(unit))},
          {"comp_full_adders", t.comp_full_adders},
          {"r_w_bits", t.r_w_bits},
          {"r_x_bits", t.r_x_bits},
          {"hierarchy_energy", t.hierarchy_energy},
          {"hierarchy_energy_unit", std::string(to_string(unit))},
          {"hierarchy_per_mac", t.hierarchy_per_mac()},
          {"hierarchy_mac_energy_" + u, t.hierarchy_mac_energy},
          {"hierarchy_by_level", by_level},
          {"hierarchy_by_data_type", by_type},
          {"element_ops", t.element_ops},
          {"elementwise_energy_" + u, t.elementwise_energy},
          {"mapped_energy_" + u, t.mapped_energy},
          {"mapped_per_mac_" + u, t.mapped_per_mac()},
          {"mapped_cycles", t.mapped_cycles},
          {"layers_with_changed_mapping", t.mapping_changes},
          {"layers_whose_dense_mapping_no_longer_fits", t.mapping_changes_unfit},
          {"changed_mapping_saving_" + u, t.mapping_change_saving},
          {"layers_without_legal_mapping", t.unmapped_layers}};
}

// Each mapped layer's loop nest: per level, outermost first, its loops (the factors and the order).
ordered_json mappings_json(const estimator::Estimate& e, const estimator::HwProfile& hw) {
  const std::string u = unit_key(e.unit);
  ordered_json rows = ordered_json::array();
  for (const auto& le : e.layers) {
    if (!le.mapped) continue;
    const estimator::LayerMapping& m = *le.mapped;
    ordered_json levels = ordered_json::array();
    for (size_t l = 0; l < m.mapping.levels.size(); ++l) {
      ordered_json loops = ordered_json::array();
      for (const estimator::Loop& lp : m.mapping.levels[l])
        loops.push_back({{"dim", std::string(1, estimator::kDimNames[static_cast<size_t>(lp.dim)])},
                         {"bound", lp.bound},
                         {"kind", lp.kind == estimator::LoopKind::temporal    ? "temporal"
                                  : lp.kind == estimator::LoopKind::spatial_x ? "spatial_x"
                                                                               : "spatial_y"}});
      levels.push_back({{"level", hw.levels[l].name}, {"loops", loops}});
    }
    ordered_json row = {{"layer", le.name},
                        {"given", m.given},
                        {"groups", m.groups},
                        {"cycles", m.cycles()},
                        {"utilization", m.utilization},
                        {"energy_" + u, m.energy()},
                        {"levels", levels},
                        {"changed_by_compression", le.mapping_changed}};
    if (le.energy_on_dense_mapping) row["energy_on_dense_mapping_" + u] = *le.energy_on_dense_mapping;
    rows.push_back(std::move(row));
  }
  return rows;
}

// Layers without MACs, priced the same by both metrics (estimator/estimate.hpp: ElementwiseEstimate).
ordered_json elementwise_json(const estimator::Estimate& e) {
  const std::string u = unit_key(e.unit);
  ordered_json rows = ordered_json::array();
  for (const auto& l : e.elementwise)
    rows.push_back({{"layer", l.name},
                    {"type", std::string(models::to_string(l.kind))},
                    {"element_ops", l.element_ops},
                    {"values_moved", l.values_moved},
                    {"ops_energy_" + u, l.ops_energy},
                    {"traffic_energy_" + u, l.traffic_energy}});
  return rows;
}

void run_estimate(const EstimateCliOptions& o) {
  if (!o.plan.empty() && !o.compressed.empty()) throw UsageError("--plan and --compressed exclude each other");
  OutputFiles files({o.model, o.hw, o.plan, o.compressed, o.stats});
  files.add("--csv", o.csv_path);
  files.add("--json", o.json_path);
  estimator::PipelineOptions p;
  p.model = o.model;
  p.hw = o.hw;
  p.plan = o.plan;
  p.compressed = o.compressed;
  p.run_kmeans = false;  // a plan is estimated with uniform labels; real labels come from --compressed
  p.batch = o.batch;
  p.conv_bits = o.conv_bits;
  if (!o.no_mapper) p.mapper = estimator::MapperOptions{estimator::parse_objective(o.objective, "--objective")};
  else if (!o.mappings.empty()) throw UsageError("--mapping and --no-mapper exclude each other");
  p.mappings = o.mappings;
  const estimator::PipelineResult r = estimator::run_pipeline(p);
  // The plan's activation-weighted layers are checked against --stats as `dkm compress` would; uniform
  // labels do not depend on the weighting.
  std::optional<kmeans::ActivationStats> stats;
  if (!o.stats.empty()) stats = runtime::load_activation_stats(o.stats);
  for (const auto& s : r.loaded.settings)
    if (s.compress) kmeans::layer_moments(r.loaded.model, s, stats ? &*stats : nullptr);
  const estimator::HwProfile& hw = *r.loaded.profile;
  const std::optional<kmeans::CompressedModel>& compressed = r.compressed;
  const estimator::Estimate& e = r.estimated->estimate;
  const reports::Table table = layer_table(e);

  ordered_json out = {{"model", e.model},
                      {"profile", e.profile},
                      {"profile_file", hw.file},
                      {"energy_unit", std::string(to_string(e.unit))},
                      {"batch", e.batch},
                      {"compression", !o.plan.empty() ? "plan " + o.plan
                                      : compressed    ? "compressed " + o.compressed
                                                      : std::string("none")},
                      {"layers", reports::to_json_rows(table)},
                      {"elementwise_layers", elementwise_json(e)},
                      {"totals", totals_json(e.totals, e.unit)}};
  if (p.mapper) {
    out["mapper_objective"] = std::string(estimator::to_string(p.mapper->objective));
    out["mappings"] = mappings_json(e, hw);
  }
  if (e.uncompressed) {
    out["uncompressed_totals"] = totals_json(*e.uncompressed, e.unit);
    out["ratios"] = {{"paper_metric_uncompressed_over_compressed", e.uncompressed->paper_energy / e.totals.paper_energy},
                     {"hierarchy_uncompressed_over_compressed",
                      e.uncompressed->hierarchy_energy / e.totals.hierarchy_energy}};
  }
  // Outputs are built completely before any file is written.
  const std::string csv = o.csv_path.empty() ? std::string() : reports::to_csv(table);
  const std::string json_text = out.dump(2) + "\n";
  files.set("--csv", csv);
  files.set("--json", json_text);
  files.commit();

  const std::string unit(to_string(e.unit));
  fmt::print("model {}, batch {}; hardware profile {} ({}); energies in {}\n", e.model, e.batch, hw.name, hw.file, unit);
  if (!o.plan.empty()) fmt::print("compression: plan {} (uniform labels assumed)\n", o.plan);
  if (compressed) fmt::print("compression: {} (real cluster labels)\n", o.compressed);
  fmt::print("\n{}\n", reports::to_text(text_columns(table)));
  fmt::print("paper metric: {} {} per MAC ({} {} total)\n", reports::format_cell(e.totals.paper_per_mac(), 4), unit,
             reports::format_cell(e.totals.paper_energy, 4), unit);
  fmt::print("hierarchy:    {} {} per MAC ({} {} total; {} MACs)\n", reports::format_cell(e.totals.hierarchy_per_mac(), 4),
             unit, reports::format_cell(e.totals.hierarchy_energy, 4), unit, reports::format_cell(e.totals.macs, 0));
  if (p.mapper) {
    fmt::print("mapped ({} objective): {} {} per MAC ({} {} total; {} cycles)\n", estimator::to_string(p.mapper->objective),
               reports::format_cell(e.totals.mapped_per_mac(), 4), unit, reports::format_cell(e.totals.mapped_energy, 4), unit,
               reports::format_cell(e.totals.mapped_cycles, 0));
    if (e.uncompressed)
      fmt::print("compression changed the mapping of {} layers ({} where the dense layer's mapping no longer fits beside "
                 "the codebook); the others' own mappings save {} {} against the dense layers' mappings\n",
                 e.totals.mapping_changes, e.totals.mapping_changes_unfit,
                 reports::format_cell(e.totals.mapping_change_saving, 4), unit);
    if (e.totals.unmapped_layers > 0) {
      std::string unmapped;
      for (const auto& le : e.layers)
        if (!le.mapped) unmapped += (unmapped.empty() ? "" : ", ") + le.name;
      fmt::print("note: {} layer(s) fit no mapping under profile {}'s capacities and dataflow constraints ({}): the "
                 "mapped figures leave them out; both metrics price them with the hierarchy model's loads\n",
                 e.totals.unmapped_layers, hw.name, unmapped);
    }
    const std::vector<estimator::LevelCosts> names = estimator::level_costs(hw, {});
    fmt::print("\nmappings (one group; per level its loops outermost first, x / y spatial):\n");
    for (const auto& le : e.layers)
      if (le.mapped)
        fmt::print("  {}{}: {}\n", le.name, le.mapped->given ? " (given)" : "",
                   estimator::format_mapping_line(names, le.mapped->mapping));
  }
  if (!e.elementwise.empty())
    fmt::print("layers without MACs ({}): {} element operations and their activation traffic, {} {} in both metrics "
               "(not in the totals above)\n",
               e.elementwise.size(), reports::format_cell(e.totals.element_ops, 0),
               reports::format_cell(e.totals.elementwise_energy, 4), unit);
  if (e.uncompressed)
    fmt::print("uncompressed / compressed energy: paper metric {:.3f}x, hierarchy {:.3f}x\n",
               e.uncompressed->paper_energy / e.totals.paper_energy,
               e.uncompressed->hierarchy_energy / e.totals.hierarchy_energy);
}

void setup_estimate(CLI::App& app) {
  auto o = std::make_shared<EstimateCliOptions>();
  auto* cmd = app.add_subcommand("estimate", "Inference energy per layer: the paper's metric and a row-stationary hierarchy model");
  cmd->add_option("MODEL", o->model, "model spec (.json), ONNX file or zoo name")->required();
  cmd->add_option("--hw", o->hw, "hardware profile: a shipped name or a JSON file (default eyeriss-65nm)");
  auto* plan = cmd->add_option("--plan", o->plan, "compression plan (file or shipped name): uniform labels assumed");
  auto* comp = cmd->add_option("--compressed", o->compressed, "compressed model container: its real cluster labels");
  plan->excludes(comp);
  cmd->add_option("--stats", o->stats, "calibration statistics (dkm calibrate) for a plan with weighting activation: checked against the model");
  cmd->add_option("--batch", o->batch, "images per run (default: the model's batch)")->check(integer_in(1, int64_t{1} << 30));
  cmd->add_option("--conv-bits", o->conv_bits, "weight and activation bits of conv layers (FC layers keep theirs)")
      ->check(integer_in(1, 32));
  cmd->add_option("--csv", o->csv_path, "write the per-layer table as CSV (- for standard output)");
  cmd->add_option("--json", o->json_path, "write the result as JSON (- for standard output)");
  cmd->add_option("--objective", o->objective, "the mapping search's objective: energy (default), delay, edp, delay-energy");
  cmd->add_option("--mapping", o->mappings,
                  "[LAYER=]FILE: evaluate this mapping (Timeloop's map.txt form) for the layer instead of searching");
  cmd->add_flag("--no-mapper", o->no_mapper, "skip the mapping search (paper metric and row-stationary model only)");
  cmd->callback([o] { run_estimate(*o); });
}

const bool registered = register_command({60, setup_estimate});

}  // namespace

}  // namespace dkm::cli

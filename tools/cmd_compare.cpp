// `dkm compare MODEL --plan A --plan B ... [--hw P] [--weights W | --random-weights S]` or
// `dkm compare RESULT.json ...`: configurations side by side (CR three ways, MSE, energy by both metrics
// and per memory level) as a table, CSV, JSON or a self-contained HTML page (docs/reports.md).
#include <filesystem>
#include <memory>
#include <optional>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "estimator/profile.hpp"
#include "models/atomic_file.hpp"
#include "models/error.hpp"
#include "reports/compare.hpp"
#include "reports/pipeline.hpp"
#include "reports/table.hpp"
#include "tools/command.hpp"
#include "tools/usage.hpp"

namespace dkm::cli {

namespace {

struct CompareCliOptions {
  std::vector<std::string> inputs;  // MODEL (with --plan) or result JSON files
  std::vector<std::string> plans;
  bool no_baseline = false;
  reports::RunOptions run;
  std::optional<uint64_t> random_seed;
  std::string csv, json, html;
};

reports::Comparison from_plans(const CompareCliOptions& o) {
  if (o.inputs.size() != 1) throw UsageError("with --plan, give exactly one MODEL");
  reports::Comparison c;
  auto add = [&](const std::string& plan, const std::string& name) {
    reports::RunOptions r = o.run;
    r.model = o.inputs[0];
    r.plan = plan;
    r.random_seed = o.random_seed;
    if (plan.empty()) r.weights.clear(), r.random_seed.reset();  // the baseline needs no weights
    const reports::Run run = reports::run_configuration(r);
    c.energy_unit = std::string(estimator::to_string(run.estimate.unit));
    c.levels = {"dram", "buffer", "array", "rf", "mac"};
    c.rows.push_back(reports::compare_row(run, name));
  };
  if (!o.no_baseline) add("", "uncompressed");
  for (const auto& p : o.plans) add(p, p);
  return c;
}

reports::Comparison from_results(const CompareCliOptions& o) {
  if (!o.run.weights.empty() || o.random_seed)
    throw UsageError("--weights and --random-weights apply with --plan only");
  reports::Comparison c;
  for (const auto& path : o.inputs) {
    const std::string text = read_file(path);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
      throw InputError(path, fmt::format("byte {}", e.byte), "valid JSON");
    }
    reports::add_result_json(c, j, path);
    c.rows.back().name = std::filesystem::path(path).filename().string();
  }
  return c;
}

void run_compare(const CompareCliOptions& o) {
  if (o.inputs.empty()) throw UsageError("give a MODEL with --plan options, or result JSON files");
  const reports::Comparison c = o.plans.empty() ? from_results(o) : from_plans(o);
  const reports::Table table = reports::compare_table(c);
  // Everything is rendered before any file is written.
  const std::string csv = o.csv.empty() ? std::string() : reports::to_csv(table);
  const std::string json = o.json.empty() ? std::string() : reports::compare_json(c).dump(2) + "\n";
  const std::string html = o.html.empty() ? std::string() : reports::render_compare(c, "dkm 0.1.0");
  if (!o.csv.empty()) write_file_atomic(o.csv, csv);
  if (!o.json.empty()) write_file_atomic(o.json, json);
  if (!o.html.empty()) write_file_atomic(o.html, html);
  fmt::print("energies in {}; gains are uncompressed / compressed\n\n{}",
             c.energy_unit.empty() ? "-" : c.energy_unit, reports::to_text(table));
  for (const auto& path : {o.csv, o.json, o.html})
    if (!path.empty()) fmt::print("wrote {}\n", path);
}

void setup_compare(CLI::App& app) {
  auto o = std::make_shared<CompareCliOptions>();
  o->run.hw = std::string(estimator::kDefaultProfile);
  auto* cmd = app.add_subcommand("compare", "Configurations side by side: CR three ways, energy per level, MSE");
  cmd->add_option("INPUTS", o->inputs, "MODEL (with --plan), or result JSON files of dkm report/estimate/compress --json")
      ->required();
  cmd->add_option("--plan", o->plans, "a plan to compare (repeat for several); an uncompressed row comes first");
  cmd->add_flag("--no-baseline", o->no_baseline, "leave out the uncompressed row");
  cmd->add_option("--hw", o->run.hw, "hardware profile: a shipped name or a JSON file (default eyeriss-65nm)");
  auto* w = cmd->add_option("--weights", o->run.weights, "weights to compress with each plan");
  auto* r = cmd->add_option("--random-weights", o->random_seed, "heavy-tailed stand-in weights with this seed");
  w->excludes(r);
  cmd->add_option("--batch", o->run.batch, "images per run (default: the model's batch)")
      ->check(integer_in(1, int64_t{1} << 30));
  cmd->add_option("--conv-bits", o->run.conv_bits, "weight and activation bits of conv layers")->check(integer_in(1, 32));
  cmd->add_option("--threads", o->run.threads, "k-means threads, 0 = all")->check(integer_in(0, 4096));
  cmd->add_option("--csv", o->csv, "write the table as CSV");
  cmd->add_option("--json", o->json, "write the table as JSON (dkm-compare/1)");
  cmd->add_option("--html", o->html, "write a self-contained HTML page");
  cmd->callback([o] { run_compare(*o); });
}

const bool registered = register_command({82, setup_compare});

}  // namespace

}  // namespace dkm::cli

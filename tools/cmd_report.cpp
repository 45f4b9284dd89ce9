// `dkm report MODEL [--hw PROFILE] [--plan PLAN] [--weights W | --random-weights SEED] -o report.html`:
// one self-contained HTML report (docs/reports.md): summary, per-layer table, energy per level and data
// type, compression per layer, uncompressed against compressed, the cluster-rate sweep with R^2, and the
// filters of one conv layer before and after weight sharing.
#include <cmath>
#include <memory>
#include <optional>

#include <fmt/core.h>

#include "estimator/profile.hpp"
#include "models/output_files.hpp"
#include "models/error.hpp"
#include "reports/compare.hpp"
#include "reports/html.hpp"
#include "reports/pipeline.hpp"
#include "reports/table.hpp"
#include "tools/command.hpp"
#include "tools/usage.hpp"

namespace dkm::cli {

namespace {

struct ReportCliOptions {
  reports::RunOptions run;
  std::optional<uint64_t> random_seed;
  std::vector<double> rates;
  bool no_sweep = false;
  std::string filters;
  std::string output, csv, json;
};

void run_report(ReportCliOptions o) {
  o.run.random_seed = o.random_seed;
  if (o.no_sweep && !o.rates.empty()) throw UsageError("--rates and --no-sweep exclude each other");
  OutputFiles files({o.run.model, o.run.hw, o.run.plan, o.run.compressed, o.run.weights});
  files.add("--output", o.output);
  files.add("--csv", o.csv);
  files.add("--json", o.json);
  // A report takes seconds to minutes: each stage is named on standard error, in pipes and logs too, but
  // only once the inputs have loaded, so that a bad input still gives one error line and nothing else.
  auto stage = [](const std::string& what) { fmt::print(stderr, "dkm report: {} ...\n", what); };
  o.run.on_stage = stage;
  o.run.check_loaded = [&](const estimator::Loaded& l) { reports::check_filter_layer(l, o.filters); };
  const reports::Run run = reports::run_configuration(o.run);
  const std::vector<double> rates = o.no_sweep ? std::vector<double>{} : o.rates.empty() ? reports::default_sweep_rates(run) : o.rates;
  if (!rates.empty()) stage(fmt::format("the sweep over {} cluster rates (k-means and the estimate at each)", rates.size()));
  const reports::ReportInput input = reports::report_input(run, rates, o.filters, "dkm 0.1.0");
  stage("rendering " + o.output);
  // Everything is rendered before any file is written: no partial output on error.
  const std::string html = reports::render_report(input);
  const reports::Table table = reports::report_layer_table(input);
  const std::string csv = o.csv.empty() ? std::string() : reports::to_csv(table);
  const std::string json = o.json.empty() ? std::string() : reports::result_json(input).dump(2) + "\n";
  files.set("--output", html);
  files.set("--csv", csv);
  files.set("--json", json);
  files.commit();

  const reports::ReportTotals t = reports::report_totals(input);
  fmt::print("model {} | profile {} | plan {} | weights {}\n", input.model, input.profile,
             input.plan.empty() ? "none" : input.plan, input.weights.empty() ? "none" : input.weights);
  fmt::print("compression ratio: {} fixed-length, {} entropy bound, {} Huffman coded\n",
             reports::format_cell(t.cr_fixed(), 4), reports::format_cell(t.cr_entropy(), 4),
             reports::format_cell(t.cr_huffman(), 4));
  fmt::print("energy, uncompressed / compressed: hierarchy {} ({} -> {} {}), paper metric {}\n",
             reports::format_cell(t.hierarchy_energy_uncompressed / t.hierarchy_energy, 4),
             reports::format_cell(t.hierarchy_energy_uncompressed, 4), reports::format_cell(t.hierarchy_energy, 4),
             input.energy_unit, reports::format_cell(t.paper_energy_uncompressed / t.paper_energy, 4));
  if (input.sweep)
    fmt::print("sweep: {} cluster rates, R^2 = {}\n", input.sweep->cluster_rates.size(),
               std::isfinite(input.sweep->r2) ? fmt::format("{:.4f}", input.sweep->r2)
                                              : "undefined (" + input.sweep->r2_undefined + ")");
  for (const auto& n : input.notes) fmt::print("note: {}\n", n);
  fmt::print("wrote {}\n", o.output);
}

void setup_report(CLI::App& app) {
  auto o = std::make_shared<ReportCliOptions>();
  o->run.hw = std::string(estimator::kDefaultProfile);
  auto* cmd = app.add_subcommand("report", "One self-contained HTML report: size, energy, sweep, filters");
  cmd->add_option("MODEL", o->run.model, "model spec (.json), ONNX file or zoo name")->required();
  cmd->add_option("--hw", o->run.hw, "hardware profile: a shipped name or a JSON file (default eyeriss-65nm)");
  cmd->add_option("--plan", o->run.plan, "compression plan (file or shipped name); without it the model is uncompressed");
  auto* c = cmd->add_option("--compressed", o->run.compressed,
                            "a compressed container (dkm compress, the PyTorch hook) instead of --plan");
  auto* w = cmd->add_option("--weights", o->run.weights, "weights: .npz, .safetensors or .npy (docs/weights.md)");
  auto* r = cmd->add_option("--random-weights", o->random_seed,
                            "heavy-tailed stand-in weights with this seed (labelled RANDOM in the report)");
  w->excludes(r);
  c->excludes(r);
  cmd->add_option("--rates", o->rates, "cluster rates of the sweep, comma separated (default: the paper's AlexNet rates, down to the plan's K/N)")
      ->delimiter(',')
      ->check(number_in(0, 1, true, "a cluster rate"));
  cmd->add_flag("--no-sweep", o->no_sweep, "leave the sweep section out");
  cmd->add_option("--filters", o->filters, "conv layer whose filters are drawn (default: the first shared one with k x k > 1)");
  cmd->add_option("--batch", o->run.batch, "images per run (default: the model's batch)")
      ->check(integer_in(1, int64_t{1} << 30));
  cmd->add_option("--conv-bits", o->run.conv_bits, "weight and activation bits of conv layers (FC layers keep theirs)")
      ->check(integer_in(1, 32));
  cmd->add_option("--threads", o->run.threads, "k-means threads, 0 = all; results do not depend on it")
      ->check(integer_in(0, 4096));
  cmd->add_option("-o,--output", o->output, "the HTML file to write (- for standard output)")->required();
  cmd->add_option("--csv", o->csv, "also write the per-layer table as CSV (- for standard output)");
  cmd->add_option("--json", o->json, "also write the whole result as JSON (dkm-result/1, readable by dkm compare; - for standard output)");
  cmd->callback([o] { run_report(*o); });
}

const bool registered = register_command({80, setup_report});

}  // namespace

}  // namespace dkm::cli

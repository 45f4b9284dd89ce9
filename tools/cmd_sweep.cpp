// `dkm sweep MODEL --rates r1,r2,... [--hw PROFILE] [--batch N] [--conv-bits B] [--json F] [--csv F]`:
// the paper's validation experiment. Every conv layer is weight-shared row-wise at each cluster rate
// K/N (index bits ceil(log2 K), uniform labels); both energy metrics per rate and the coefficient of
// determination R^2 between them (docs/validation.md).
#include <memory>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "estimator/estimate.hpp"
#include "models/atomic_file.hpp"
#include "models/error.hpp"
#include "models/model.hpp"
#include "reports/table.hpp"
#include "tools/command.hpp"
#include "tools/usage.hpp"

namespace dkm::cli {

namespace {

struct SweepCliOptions {
  std::string model;
  std::string hw = std::string(estimator::kDefaultProfile);
  std::vector<double> rates;
  int64_t batch = 0;
  int conv_bits = 0;
  std::string csv_path, json_path;
};

reports::Table sweep_table(const estimator::Sweep& s) {
  const std::string u = s.unit == estimator::EnergyUnit::pj ? "pj" : "mac_normalised";
  const std::string ut(estimator::to_string(s.unit));
  reports::Table t;
  t.columns = {{"cluster_rate", "K/N"},
               {"conv_macs", "conv MACs"},
               {"conv_paper_energy_" + u, "paper conv [" + ut + "]"},
               {"conv_paper_per_mac_" + u, "paper/MAC"},
               {"conv_hierarchy_energy_" + u, "hierarchy conv [" + ut + "]"},
               {"conv_hierarchy_per_mac_" + u, "hier/MAC"},
               {"conv_r_w_bits", "R_w [bits]"},
               {"conv_comp_full_adders", "C_comp [FA]"},
               {"conv_paper_energy_without_reuse_" + u, "paper no reuse [" + ut + "]"},
               {"all_paper_energy_" + u, "paper all [" + ut + "]"},
               {"all_hierarchy_energy_" + u, "hierarchy all [" + ut + "]"}};
  for (const auto& p : s.points)
    t.rows.push_back({p.rate, p.totals.macs, p.totals.paper_energy, p.totals.paper_per_mac(), p.totals.hierarchy_energy,
                      p.totals.hierarchy_per_mac(), p.totals.r_w_bits, p.totals.comp_full_adders,
                      p.paper_energy_without_reuse, p.all_layers.paper_energy, p.all_layers.hierarchy_energy});
  return t;
}

void run_sweep(const SweepCliOptions& o) {
  const models::Model model = models::load_model(o.model);
  const estimator::HwProfile hw = estimator::load_profile(o.hw);
  estimator::EstimateOptions base;
  base.batch = o.batch;
  if (o.conv_bits) base.conv_bits = o.conv_bits;
  const estimator::Sweep s = estimator::sweep(model, hw, o.rates, base);
  const reports::Table table = sweep_table(s);

  nlohmann::ordered_json out = {{"model", s.model},
                                {"profile", s.profile},
                                {"profile_file", hw.file},
                                {"energy_unit", std::string(estimator::to_string(s.unit))},
                                {"conv_bits", o.conv_bits ? nlohmann::ordered_json(o.conv_bits) : nlohmann::ordered_json()},
                                {"rates", reports::to_json_rows(table)},
                                {"r2", s.r2 ? nlohmann::ordered_json(*s.r2) : nlohmann::ordered_json()},
                                {"r2_of", "conv-layer hierarchy energy on conv-layer paper-metric energy, over the rates"},
                                {"r2_without_reuse", s.r2_without_reuse ? nlohmann::ordered_json(*s.r2_without_reuse)
                                                                        : nlohmann::ordered_json()}};
  if (!s.r2) out["r2_undefined"] = s.r2_undefined;
  const std::string csv = o.csv_path.empty() ? std::string() : reports::to_csv(table);
  if (!o.csv_path.empty()) write_file_atomic(o.csv_path, csv);
  if (!o.json_path.empty()) write_file_atomic(o.json_path, out.dump(2) + "\n");

  fmt::print("model {}; hardware profile {} ({}); energies in {}; conv layers shared row-wise, uniform labels{}\n",
             s.model, hw.name, hw.file, estimator::to_string(s.unit),
             o.conv_bits ? fmt::format(", conv layers at {} bits", o.conv_bits) : std::string());
  fmt::print("\n{}\n", reports::to_text(table));
  if (!s.r2) {
    fmt::print("R^2 (hierarchy vs paper metric): undefined ({})\n", s.r2_undefined);
    return;
  }
  fmt::print("R^2 (hierarchy vs paper metric, conv layers, {} rates): {:.4f}\n", s.points.size(), *s.r2);
  fmt::print("R^2 (hierarchy vs paper metric without product reuse): {:.4f}\n", *s.r2_without_reuse);
}

void setup_sweep(CLI::App& app) {
  auto o = std::make_shared<SweepCliOptions>();
  auto* cmd = app.add_subcommand("sweep", "Both energy metrics over cluster rates, and R^2 between them");
  cmd->add_option("MODEL", o->model, "model spec (.json), ONNX file or zoo name")->required();
  cmd->add_option("--rates", o->rates, "cluster rates K/N in (0, 1], comma separated")
      ->required()
      ->delimiter(',')
      ->check(number_in(0, 1, true, "a cluster rate"));
  cmd->add_option("--hw", o->hw, "hardware profile: a shipped name or a JSON file (default eyeriss-65nm)");
  cmd->add_option("--batch", o->batch, "images per run (default: the model's batch)")->check(integer_in(1, int64_t{1} << 30));
  cmd->add_option("--conv-bits", o->conv_bits, "weight and activation bits of conv layers (FC layers keep theirs)")
      ->check(integer_in(1, 32));
  cmd->add_option("--csv", o->csv_path, "write the per-rate table as CSV");
  cmd->add_option("--json", o->json_path, "write the result as JSON");
  cmd->callback([o] { run_sweep(*o); });
}

const bool registered = register_command({61, setup_sweep});

}  // namespace

}  // namespace dkm::cli

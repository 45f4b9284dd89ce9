// `dkm plan MODEL --weights W --data X.npy [--labels y.npy] (--max-drop POINTS | --min-snr DB | --target-cr R)
// -o PLAN.json`: a plan whose K per conv layer is searched from measured sensitivity (docs/plan.md, "How plans
// are searched"), with the sensitivity table, the points visited and their energy on --hw.
#include <climits>
#include <cmath>
#include <memory>
#include <optional>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "estimator/profile.hpp"
#include "kmeans/plan.hpp"
#include "models/atomic_file.hpp"
#include "models/runtime/calibration.hpp"
#include "reports/plan_search.hpp"
#include "reports/table.hpp"
#include "tools/command.hpp"
#include "tools/inference.hpp"
#include "tools/progress.hpp"
#include "tools/usage.hpp"

namespace dkm::cli {
namespace {

struct PlanOptions {
  InferenceOptions common;
  std::string data, labels, output, json, hw = std::string(estimator::kDefaultProfile), granularity = "row";
  std::string stats, weighting, init = "k-means++";  // weighting: plain, activation or auto (default: auto with --stats, else plain)
  bool bias_correction = false;
  std::vector<std::string> score_outputs;
  std::string score_output;
  std::optional<double> max_drop, min_snr, target_cr;
  std::vector<int64_t> candidates = {256, 128, 64, 32, 16, 8, 4};
  uint64_t seed = 1000;
  int64_t batch = 16;
};

nlohmann::json db_json(double db) { return std::isfinite(db) ? nlohmann::json(db) : nlohmann::json(nullptr); }

nlohmann::ordered_json quality_json(const reports::Quality& q) {
  nlohmann::ordered_json j;
  if (q.accuracy_drop_points) j["accuracy_drop_points"] = *q.accuracy_drop_points;
  j["output_snr_db"] = db_json(q.output_snr_db);
  return j;
}

std::string quality_text(const reports::Quality& q) {
  std::string snr = std::isfinite(q.output_snr_db) ? fmt::format("{:.2f} dB", q.output_snr_db) : "identical";
  return q.accuracy_drop_points ? fmt::format("drop {:.2f} points, SNR {}", *q.accuracy_drop_points, snr) : "SNR " + snr;
}

void run_plan(const PlanOptions& o) {
  InferenceModel m = load_inference_model(o.common.model, o.common.weights);
  runtime::Activations data = load_input(m.model, o.data);
  const estimator::HwProfile hw = estimator::load_profile(o.hw);
  reports::PlanSearchOptions so;
  const auto g = kmeans::parse_granularity(o.granularity);
  // The group granularity needs a group size per layer, which a searched plan does not choose.
  if (!g || *g == kmeans::Granularity::group)
    throw UsageError(fmt::format("--granularity: row, kernel, filter or scalar, got '{}'", o.granularity));
  so.granularity = *g;
  const auto init = kmeans::parse_init(o.init);
  if (!init) throw UsageError(fmt::format("--init: k-means++ or optimal-1d, got '{}'", o.init));
  so.init = *init;
  std::optional<kmeans::ActivationStats> stats;
  if (!o.stats.empty()) stats = runtime::load_activation_stats(o.stats);
  so.stats = stats ? &*stats : nullptr;
  const std::string weighting = o.weighting.empty() ? (stats ? "auto" : "plain") : o.weighting;
  if (weighting == "auto") {
    so.weightings = {kmeans::Weighting::plain, kmeans::Weighting::activation};
  } else if (auto w = kmeans::parse_weighting(weighting)) {
    so.weightings = {*w};
  } else {
    throw UsageError(fmt::format("--weighting: plain, activation or auto, got '{}'", weighting));
  }
  if ((weighting != "plain" || o.bias_correction) && !stats)
    throw UsageError(fmt::format("{} needs calibration statistics: run dkm calibrate and pass the file with --stats STATS",
                                 o.bias_correction ? "--bias-correction" : "--weighting " + weighting));
  so.bias_correction = o.bias_correction;
  so.candidates = o.candidates;
  so.seed = o.seed;
  so.max_drop_points = o.max_drop;
  so.min_snr_db = o.min_snr;
  so.target_cr = o.target_cr;
  so.evaluation.score = runtime::score_rule(m.model, o.score_output, o.score_outputs);
  if (!o.labels.empty()) require_regular_file(o.labels);
  if (!o.labels.empty()) so.evaluation.labels = runtime::load_labels(o.labels, data.batch, m.model, so.evaluation.score);
  so.evaluation.batch = o.batch;
  so.evaluation.threads = o.common.threads;
  so.evaluation.weights_source = m.weights_source;
  ProgressBar bar("plan");
  so.progress = [&bar](size_t done, size_t total, const std::string& what) { bar.update(done, total, what); };
  const reports::PlanSearch r = reports::search_plan(m.model, m.weights, data, hw, so);
  bar.finish();

  const std::string unit(estimator::to_string(r.unit));
  const std::string ukey = r.unit == estimator::EnergyUnit::pj ? "pj" : "mac_normalised";
  fmt::print("model {}, {} image(s), metric: {}{}\n", r.model, r.images, r.metric,
             r.float_accuracy ? fmt::format(" (float model {:.2f} %)", *r.float_accuracy) : "");
  reports::Table sens;
  sens.columns = {{"layer", "layer"}, {"k", "K"}, {"weighting", "weighting"}, {"layer_cr_huffman", "layer CR (Huffman)"},
                  {"quality", "this layer alone"}};
  nlohmann::ordered_json sj = nlohmann::ordered_json::array();
  for (const auto& l : r.sensitivity) {
    nlohmann::ordered_json cands = nlohmann::ordered_json::array();
    for (const auto& c : l.candidates) {
      sens.rows.push_back({l.layer, reports::Cell(c.k), std::string(kmeans::to_string(c.weighting)),
                           reports::Cell(l.original_bits / c.huffman_bits), quality_text(c.quality)});
      nlohmann::ordered_json cj = {{"k", c.k}, {"weighting", kmeans::to_string(c.weighting)}, {"huffman_bits", c.huffman_bits}};
      cj.update(quality_json(c.quality));
      if (!c.warning.empty()) cj["warning"] = c.warning;
      cands.push_back(cj);
    }
    sj.push_back({{"layer", l.layer}, {"vectors", l.vectors}, {"dim", l.dim}, {"original_bits", l.original_bits}, {"candidates", cands}});
  }
  fmt::print("sensitivity (each layer clustered alone):\n{}\n", reports::to_text(sens));

  reports::Table curve;
  curve.columns = {{"step", "step"}, {"change", "change"}, {"cr_huffman", "CR (Huffman)"}, {"quality", "measured"},
                   {"hierarchy_energy_" + ukey, "hierarchy energy [" + unit + "]"}, {"accepted", "kept"}};
  nlohmann::ordered_json cj = nlohmann::ordered_json::array();
  for (size_t i = 0; i < r.curve.size(); ++i) {
    const auto& p = r.curve[i];
    const std::string change = p.layer.empty() ? "(float model)" : fmt::format("{} K={}", p.layer, p.k);
    curve.rows.push_back({reports::Cell(static_cast<int64_t>(i)), change, reports::Cell(p.compression_ratio), quality_text(p.quality),
                          reports::Cell(p.energy.hierarchy), std::string(p.accepted ? "yes" : "no")});
    nlohmann::ordered_json pj = {{"layer", p.layer}, {"k", p.k}, {"accepted", p.accepted}, {"compression_ratio_huffman", p.compression_ratio}};
    pj.update(quality_json(p.quality));
    pj["paper_energy_" + ukey] = p.energy.paper;
    pj["hierarchy_energy_" + ukey] = p.energy.hierarchy;
    cj.push_back(pj);
  }
  fmt::print("points visited (profile {}):\n{}\n", r.profile, reports::to_text(curve));
  fmt::print("chosen plan, compressed afresh: CR {:.3f} (Huffman), {}, hierarchy energy {:.6g} {} -> {}\n",
             r.verified.compression_ratio, quality_text(r.verified.quality), r.verified.energy.hierarchy, unit, o.output);

  write_file_atomic(o.output, r.plan_json);
  if (!o.json.empty()) {
    nlohmann::ordered_json j = {{"model", r.model}, {"images", r.images}, {"metric", r.metric}, {"profile", r.profile}};
    if (r.float_accuracy) j["float_accuracy_percent"] = *r.float_accuracy;
    j["sensitivity"] = sj;
    j["curve"] = cj;
    nlohmann::ordered_json chosen = nlohmann::ordered_json::object();
    nlohmann::ordered_json chosen_w = nlohmann::ordered_json::object();
    for (size_t i = 0; i < r.sensitivity.size(); ++i) {
      chosen[r.sensitivity[i].layer] = r.chosen_k[i];
      chosen_w[r.sensitivity[i].layer] = kmeans::to_string(r.chosen_weighting[i]);
    }
    j["chosen_k"] = chosen;
    j["chosen_weighting"] = chosen_w;
    nlohmann::ordered_json v = {{"compression_ratio_huffman", r.verified.compression_ratio}};
    v.update(quality_json(r.verified.quality));
    v["paper_energy_" + ukey] = r.verified.energy.paper;
    v["hierarchy_energy_" + ukey] = r.verified.energy.hierarchy;
    j["verified"] = v;
    write_file_atomic(o.json, j.dump(1) + "\n");
  }
}

void setup_plan(CLI::App& app) {
  auto o = std::make_shared<PlanOptions>();
  auto* cmd = app.add_subcommand("plan", "Search a compression plan (K per conv layer) from measured per-layer sensitivity");
  add_inference_options(cmd, o->common);
  cmd->add_option("--data", o->data, "images: .npy of shape (N, C, H, W); a small batch keeps the search fast")->required();
  cmd->add_option("--labels", o->labels, "labels: .npy of N integers; the budget is then an accuracy drop");
  cmd->add_option("--max-drop", o->max_drop, "accuracy drop allowed, in points (needs --labels)");
  cmd->add_option("--min-snr", o->min_snr, "output SNR against the float model to keep, in dB (no labels needed)");
  cmd->add_option("--target-cr", o->target_cr, "Huffman compression ratio of the whole model to reach");
  cmd->add_option("--candidates", o->candidates, "K tried per layer (default 256,128,64,32,16,8,4)")
      ->delimiter(',')
      ->check(integer_in(1, INT32_MAX));
  cmd->add_option("--granularity", o->granularity, "row (default), kernel, filter or scalar");
  cmd->add_option("--init", o->init,
                  "k-means++ (default), or optimal-1d: the exact 1-D optimum for layers whose vectors have length 1 "
                  "(1x1 convs, --granularity scalar), k-means++ for the others");
  cmd->add_option("--stats", o->stats, "calibration statistics (dkm calibrate) for activation weighting and bias correction");
  cmd->add_option("--weighting", o->weighting,
                  "plain, activation, or auto: both tried at each K, the better kept (default: auto with --stats, else plain)");
  cmd->add_flag("--bias-correction", o->bias_correction, "correct each compressed layer's bias by the shift of its mean output (needs --stats)");
  cmd->add_option("--seed", o->seed, "k-means seed of the first conv layer; layer i uses seed + i (default 1000)");
  cmd->add_option("--hw", o->hw, "hardware profile of the energies: a shipped name or a JSON file (default eyeriss-65nm)");
  cmd->add_option("--output", o->score_output, "the output layer whose arg-max is the class (default: the only output)");
  cmd->add_option("--score-outputs", o->score_outputs, "binary score: positive when the largest value over these outputs is > 0")
      ->delimiter(',');
  cmd->add_option("--batch", o->batch, "images per forward pass (memory only)")->check(integer_in(1, int64_t{1} << 30));
  cmd->add_option("-o", o->output, "the plan file to write (dkm-plan/1)")->required();
  cmd->add_option("--json", o->json, "also write the sensitivity, the points visited and the result as JSON");
  cmd->callback([o] { run_plan(*o); });
}

const bool registered = register_command({50, setup_plan});

}  // namespace
}  // namespace dkm::cli

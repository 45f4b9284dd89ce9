// `dkm evaluate MODEL (--weights W | --compressed C) --data X.npy [--labels y.npy]`: accuracy (top-1, or a
// binary score) of the float model and of the compressed one, the output SNR of the compressed model
// against the float one, and the SNR of every conv/linear layer's output (docs/inference.md).
#include <algorithm>
#include <cmath>
#include <memory>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "models/atomic_file.hpp"
#include "reports/table.hpp"
#include "tools/command.hpp"
#include "tools/usage.hpp"
#include "models/runtime/evaluation.hpp"
#include "tools/inference.hpp"

namespace dkm::cli {
namespace {

struct EvaluateOptions {
  InferenceOptions common;
  std::string compressed, data, labels, output, json;
  std::vector<std::string> score_outputs;
  int64_t batch = 16;
};

nlohmann::json snr_json(double db) { return std::isfinite(db) ? nlohmann::json(db) : nlohmann::json(nullptr); }
std::string snr_text(double db) { return std::isfinite(db) ? fmt::format("{:.2f} dB", db) : "identical"; }

void run_evaluate(const EvaluateOptions& o) {
  InferenceModel m = load_inference_model(o.common.model, o.common.weights);
  runtime::Activations data = load_input(m.model, o.data);
  runtime::EvaluationSetup setup;
  setup.score = runtime::score_rule(m.model, o.output, o.score_outputs);
  if (!o.labels.empty()) require_regular_file(o.labels);
  if (!o.labels.empty()) setup.labels = runtime::load_labels(o.labels, data.batch, m.model, setup.score);
  setup.batch = o.batch;
  setup.threads = o.common.threads;
  setup.weights_source = m.weights_source;
  std::optional<Weights> compressed;
  if (!o.compressed.empty()) compressed = with_compressed(m.model, m.weights, o.compressed);
  if (stderr_is_terminal()) fmt::print(stderr, "evaluating {} image(s)...\n", data.batch);
  runtime::Evaluation e = runtime::evaluate(m.model, m.weights, compressed ? &*compressed : nullptr, data, setup);

  nlohmann::ordered_json j = {{"model", m.model.name}, {"images", data.batch}, {"metric", setup.score.describe()}};
  if (e.float_accuracy) {
    fmt::print("accuracy ({}), float model: {:.2f} %\n", setup.score.describe(), *e.float_accuracy);
    j["float_accuracy_percent"] = *e.float_accuracy;
  }
  if (compressed) {
    reports::Table table;
    table.columns = {{"layer", "layer"}, {"kind", "kind"}, {"output_snr_db", "output SNR [dB]"}};
    nlohmann::ordered_json layers = nlohmann::ordered_json::array();
    for (const auto& [name, db] : e.layer_snr_db) {
      const auto* l = m.model.find(name);
      table.rows.push_back({name, std::string(to_string(l->kind)),
                            std::isfinite(db) ? reports::Cell(db) : reports::Cell(std::string("identical"))});
      layers.push_back({{"layer", name}, {"output_snr_db", snr_json(db)}});
    }
    fmt::print("{}\n", reports::to_text(table));
    fmt::print("output SNR of the compressed model against the float model: {}\n", snr_text(e.output_snr_db));
    j["output_snr_db"] = snr_json(e.output_snr_db);
    j["layers"] = layers;
    if (e.compressed_accuracy) {
      fmt::print("accuracy ({}), compressed model: {:.2f} % (drop {:.2f} points)\n", setup.score.describe(),
                 *e.compressed_accuracy, *e.float_accuracy - *e.compressed_accuracy);
      j["compressed_accuracy_percent"] = *e.compressed_accuracy;
      j["accuracy_drop_points"] = *e.float_accuracy - *e.compressed_accuracy;
    }
  }
  if (!o.json.empty()) write_file_atomic(o.json, j.dump(1) + "\n");
  if (!compressed && !e.float_accuracy)
    fmt::print("nothing to compare: pass --labels for accuracy or --compressed for the SNR against the float model\n");
}

void setup_evaluate(CLI::App& app) {
  auto o = std::make_shared<EvaluateOptions>();
  auto* cmd = app.add_subcommand("evaluate", "Accuracy and output SNR of a model, float or compressed, on data");
  add_inference_options(cmd, o->common);
  cmd->add_option("--compressed", o->compressed, "compressed container (`dkm compress`): evaluate its decompressed weights");
  cmd->add_option("--data", o->data, "images: .npy of shape (N, C, H, W)")->required();
  cmd->add_option("--labels", o->labels, "labels: .npy of N integers (class ids; 0/1 with --score-outputs)");
  cmd->add_option("--output", o->output, "the output layer whose arg-max is the class (default: the only output)");
  cmd->add_option("--score-outputs", o->score_outputs,
                  "binary score: an image is positive when the largest value over these output layers is > 0 "
                  "(a logit; BlazeFace's face/non-face rule)")
      ->delimiter(',');
  cmd->add_option("--batch", o->batch, "images per forward pass (memory only)")->check(integer_in(1, int64_t{1} << 30));
  cmd->add_option("--json", o->json, "also write the results as JSON to this file");
  cmd->callback([o] { run_evaluate(*o); });
}

const bool registered = register_command({49, setup_evaluate});

}  // namespace
}  // namespace dkm::cli

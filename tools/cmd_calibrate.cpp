// `dkm calibrate MODEL [--weights W] --data X.npy -o STATS.json`: per conv/linear layer and input channel,
// the mean, second moment and largest |x| of the layer's input over the calibration images
// (docs/inference.md, format dkm-stats/1).
#include <algorithm>
#include <memory>

#include <fmt/core.h>

#include "models/atomic_file.hpp"
#include "models/runtime/calibration.hpp"
#include "reports/table.hpp"
#include "tools/command.hpp"
#include "tools/usage.hpp"
#include "tools/inference.hpp"

namespace dkm::cli {
namespace {

struct CalibrateCommandOptions {
  InferenceOptions common;
  std::string data, output;
  int64_t batch = 16;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

void run_calibrate(const CalibrateCommandOptions& o) {
  InferenceModel m = load_inference_model(o.common.model, o.common.weights);
  runtime::Activations data = load_input(m.model, o.data);
  if (stderr_is_terminal()) fmt::print(stderr, "calibrating on {} image(s)...\n", data.batch);
  runtime::Calibration stats = runtime::calibrate(m.model, m.weights, data, {o.batch, o.common.threads, m.weights_source});
  write_file_atomic(o.output, runtime::to_json(stats));

  reports::Table table;
  table.columns = {{"layer", "layer"},
                   {"input_channels", "input channels"},
                   {"max_abs", "max |x|"},
                   {"median_channel_max_abs", "median channel max |x|"},
                   {"max_second_moment", "max E[x^2]"},
                   {"median_second_moment", "median E[x^2]"}};
  for (const auto& l : m.model.layers) {
    auto it = stats.layers.find(l.name);
    if (it == stats.layers.end()) continue;
    const auto& s = it->second;
    table.rows.push_back({l.name, static_cast<int64_t>(s.mean.size()),
                          *std::max_element(s.max_abs.begin(), s.max_abs.end()), median(s.max_abs),
                          *std::max_element(s.second_moment.begin(), s.second_moment.end()), median(s.second_moment)});
  }
  fmt::print("{}\n", reports::to_text(table));
  fmt::print("wrote input statistics of {} layers over {} image(s) to {}\n", stats.layers.size(), stats.images, o.output);
}

void setup_calibrate(CLI::App& app) {
  auto o = std::make_shared<CalibrateCommandOptions>();
  auto* cmd = app.add_subcommand("calibrate", "Per-channel statistics of every conv/linear layer's input over calibration data");
  add_inference_options(cmd, o->common);
  cmd->add_option("--data", o->data, "calibration images: .npy of shape (N, C, H, W)")->required();
  cmd->add_option("-o,--output", o->output, "statistics (JSON, format dkm-stats/1, docs/inference.md)")->required();
  cmd->add_option("--batch", o->batch, "images per forward pass (memory only; results do not depend on it)")
      ->check(integer_in(1, int64_t{1} << 30));
  cmd->callback([o] { run_calibrate(*o); });
}

const bool registered = register_command({48, setup_calibrate});

}  // namespace
}  // namespace dkm::cli

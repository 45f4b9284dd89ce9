// `dkm run MODEL [--weights W] [--input X.npy] -o OUT.npz`: a float32 forward pass (docs/inference.md);
// the model's outputs, and any layers asked for, written as arrays named after their layers.
#include <filesystem>
#include <memory>
#include <random>

#include <fmt/core.h>

#include "models/tensor_io.hpp"
#include "tools/command.hpp"
#include "tools/inference.hpp"

namespace dkm::cli {
namespace {

struct RunCommandOptions {
  InferenceOptions common;
  std::string input, output;
  std::vector<std::string> layers;
  bool all_layers = false;
};

// Without --input: one image of values uniform in [-1, 1) from a fixed generator (mt19937_64, seed 0, the
// top 24 bits of each draw), the same on every machine.
runtime::Activations default_input(const models::Model& model) {
  runtime::Activations a{1, model.input, {}, false};
  std::mt19937_64 rng(0);
  a.values.resize(static_cast<size_t>(model.input.numel()));
  for (float& v : a.values) v = static_cast<float>(static_cast<double>(rng() >> 40) / 8388608.0 - 1.0);
  return a;
}

void run_run(const RunCommandOptions& o) {
  if (std::filesystem::path(o.output).extension() != ".npz")
    throw UsageError(fmt::format("--output '{}': expected a name ending in .npz", o.output));
  InferenceModel m = load_inference_model(o.common.model, o.common.weights);
  runtime::Activations input = o.input.empty() ? default_input(m.model) : load_input(m.model, o.input);
  runtime::RunOptions options;
  options.threads = o.common.threads;
  options.weights_source = m.weights_source;
  options.keep = o.layers;
  if (o.all_layers)
    for (const auto& l : m.model.layers) options.keep.push_back(l.name);
  runtime::Outputs outputs = runtime::run(m.model, m.weights, input, options);
  ArrayMap arrays;
  for (const auto& [name, a] : outputs) arrays[name] = Array::from_tensor(runtime::to_tensor(a));
  write_npz(o.output, arrays);
  if (o.input.empty())
    fmt::print("note: no --input; ran one image of uniform [-1, 1) values (seed 0, docs/inference.md)\n");
  for (const auto& [name, a] : arrays) fmt::print("{}  ({})\n", name, join_dims(a.shape, "x"));
  fmt::print("wrote {} arrays for {} image(s) to {}\n", arrays.size(), input.batch, o.output);
}

void setup_run(CLI::App& app) {
  auto o = std::make_shared<RunCommandOptions>();
  auto* cmd = app.add_subcommand("run", "Run the model in float32 on input images (built-in inference engine)");
  add_inference_options(cmd, o->common);
  cmd->add_option("--input", o->input, "input images: .npy of shape (N, C, H, W), float; default: one random image");
  cmd->add_option("-o,--output", o->output, "output arrays (.npz), one per model output, named after its layer")->required();
  cmd->add_option("--layers", o->layers, "also write these layers' outputs")->delimiter(',');
  cmd->add_flag("--all-layers", o->all_layers, "write every layer's output");
  cmd->callback([o] { run_run(*o); });
}

const bool registered = register_command({47, setup_run});

}  // namespace
}  // namespace dkm::cli

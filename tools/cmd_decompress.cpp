// `dkm decompress COMPRESSED -o OUT.npz|OUT.safetensors`: float weights rebuilt exactly as codebook[label]
// (docs/container.md), written with the names and layout of docs/weights.md.
#include <filesystem>
#include <memory>

#include <fmt/core.h>
#include <fmt/ranges.h>

#include "kmeans/container.hpp"
#include "kmeans/plan.hpp"
#include "models/error.hpp"
#include "models/output_files.hpp"
#include "models/tensor_io.hpp"
#include "reports/table.hpp"
#include "tools/command.hpp"

namespace dkm::cli {
namespace {

struct DecompressOptions {
  std::string input;
  std::string output;
};

void run_decompress(const DecompressOptions& o) {
  // Refuse a bad output name before doing any work.
  std::string ext = std::filesystem::path(o.output).extension().string();
  if (ext != ".npz" && ext != ".safetensors")
    throw UsageError(fmt::format("--output '{}': expected a name ending in .npz or .safetensors", o.output));
  OutputFiles files({o.input});
  files.add("--output", o.output);
  kmeans::CompressedModel model = kmeans::read_compressed(o.input);
  Weights weights = kmeans::decompress(model);
  files.set("--output", encode_weights(o.output, weights));
  files.commit();

  reports::Table table;
  table.columns = {{"layer", "layer"},   {"granularity", "granularity"}, {"k", "k"},
                   {"weight_shape", "weight shape"}, {"weights", "weights"}, {"biases", "biases"}};
  int64_t total_weights = 0, total_biases = 0;
  for (const auto& l : model.layers) {
    int64_t n = l.vectors() * l.dim, b = static_cast<int64_t>(l.bias.size());
    table.rows.push_back({l.name, std::string(kmeans::to_string(l.granularity)), l.k,
                          fmt::format("{}", join_dims(l.weight_shape, "x")), n, b});
    total_weights += n;
    total_biases += b;
  }
  table.total = {std::string("total"), {}, {}, {}, total_weights, total_biases};
  fmt::print("{}\n", reports::to_text(table));
  if (model.random_weights)
    fmt::print("note: {} was compressed from RANDOM weights (--random-weights {}), not trained ones\n", o.input,
               model.weights_seed);
  fmt::print("wrote {} tensors of model '{}' to {}\n", weights.size(), model.model, o.output);
}

void setup_decompress(CLI::App& app) {
  auto o = std::make_shared<DecompressOptions>();
  auto* cmd = app.add_subcommand("decompress", "Rebuild float weights (codebook[label]) from a compressed model");
  cmd->add_option("COMPRESSED", o->input, "compressed model written by `dkm compress` (docs/container.md)")->required();
  cmd->add_option("-o,--output", o->output, "output weights: .npz or .safetensors (docs/weights.md)")->required();
  cmd->callback([o] { run_decompress(*o); });
}

const bool registered = register_command({45, setup_decompress});

}  // namespace
}  // namespace dkm::cli

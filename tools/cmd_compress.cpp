// `dkm compress MODEL (--weights W | --random-weights SEED) --plan P -o OUT`: row-wise (or other
// granularity) k-means weight sharing of every planned conv (or linear) layer, written as one container
// (docs/container.md), with a per-layer summary: K, p, MSE, compression ratio three ways, time.
#include <chrono>
#include <memory>
#include <optional>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "estimator/compression_ratio.hpp"
#include "estimator/pipeline.hpp"
#include "kmeans/compress.hpp"
#include "kmeans/container.hpp"
#include "kmeans/cuda_backend.hpp"
#include "kmeans/plan.hpp"
#include "models/atomic_file.hpp"
#include "models/runtime/calibration.hpp"
#include "models/output_files.hpp"
#include "models/weight_source.hpp"
#include "models/error.hpp"
#include "models/model.hpp"
#include "models/onnx.hpp"
#include "models/tensor_io.hpp"
#include "reports/table.hpp"
#include "tools/command.hpp"
#include "tools/usage.hpp"
#include "tools/progress.hpp"

namespace dkm::cli {
namespace {

struct CompressOptions {
  std::string model, weights, plan, output, json, csv, onnx_out, stats;
  std::optional<uint64_t> random_seed;
  int threads = 0;
  kmeans::Device device = kmeans::Device::cpu;
};

// One line on standard error saying where k-means runs, so `--device auto` is never a guess.
void announce_device(kmeans::Device device) {
  if (device == kmeans::Device::cpu) return;
  std::string why;
  if (kmeans::cuda_usable(&why))
    fmt::print(stderr, "dkm: k-means on the GPU ({})\n", why);
  else if (device == kmeans::Device::automatic)
    fmt::print(stderr, "dkm: CUDA not used ({}); k-means runs on the CPU\n", why);
  else
    throw UsageError("--device cuda: " + why);
}

// One compressed layer as the summary shows it: what is left of it once its labels are written and dropped.
struct LayerRow {
  std::string name, warning;
  int64_t k = 0, vectors = 0, dim = 0;
  double sparsity = 0, mse = 0, time_ms = 0;
  int iterations = 0;
};

reports::Table summary_table(const std::vector<LayerRow>& layers, const estimator::ModelRatio& ratio,
                             const std::string& weights_label) {
  reports::Table t;
  t.columns = {{"layer", "layer"},
               {"k", "K"},
               {"sparsity", "p", 3},
               {"vectors", "N"},
               {"dim", "d"},
               {"iterations", "iter"},
               {"mse", "MSE", 4},
               {"cr_fixed", "CR fixed", 4},
               {"cr_entropy", "CR entropy", 4},
               {"cr_huffman", "CR Huffman", 4},
               {"time_ms", "time [ms]", 4},
               {"weights", "weights"}};
  double time_ms = 0, sq_err = 0;
  int64_t values = 0;
  for (const auto& l : layers) {
    const estimator::LayerRatio* r = nullptr;
    for (const auto& lr : ratio.layers)
      if (lr.layer == l.name) r = &lr;
    reports::Cell fixed, entropy, huffman;  // empty for layers kept unchanged (K == N)
    if (r) fixed = r->ratio.fixed, entropy = r->ratio.entropy, huffman = r->ratio.huffman;
    t.rows.push_back({l.name, l.k, l.sparsity, l.vectors, l.dim, int64_t{l.iterations}, l.mse, fixed, entropy,
                      huffman, l.time_ms, weights_label});
    time_ms += l.time_ms;
    sq_err += l.mse * double(l.vectors * l.dim);
    values += l.vectors * l.dim;
  }
  t.total = {std::string("total"), {}, {}, {}, {}, {}, values ? sq_err / double(values) : 0.0, ratio.ratio.fixed,
             ratio.ratio.entropy, ratio.ratio.huffman, time_ms, weights_label};
  return t;
}

// The weights are read one tensor at a time and each layer's container tensors are spooled to a
// temporary file as soon as it is compressed: memory holds one layer, not the model (docs/weights.md).
void run_compress(const CompressOptions& o) {
  const bool onnx_model = o.model.ends_with(".onnx");
  if (!o.onnx_out.empty() && !onnx_model) throw UsageError("--onnx-out needs an .onnx MODEL");
  estimator::PipelineOptions p;
  p.model = o.model;
  p.plan = o.plan;
  p.weights = o.weights;
  p.random_seed = o.random_seed;
  p.stream_weights = true;
  std::optional<kmeans::ActivationStats> stats;
  if (!o.stats.empty()) stats = runtime::load_activation_stats(o.stats);
  p.kmeans.stats = stats ? &*stats : nullptr;
  p.kmeans.threads = o.threads;
  p.kmeans.device = o.device;
  const estimator::Loaded loaded = estimator::load_stage(p);
  const models::Model& model = loaded.model;
  // An ONNX file carries its own weights; a spec or zoo model needs --weights or --random-weights.
  const std::unique_ptr<WeightSource> weights = estimator::weight_source(loaded, p);
  std::vector<std::string> inputs = {o.model, o.weights, o.plan, o.stats};
  for (const std::string& shard : weights->files()) inputs.push_back(shard);
  OutputFiles files(inputs);
  files.add("--output", o.output);
  files.add("--csv", o.csv);
  files.add("--json", o.json);
  files.add("--onnx-out", o.onnx_out);
  const std::vector<kmeans::LayerSetting>& settings = loaded.settings;
  const std::string& weights_source = loaded.weights_source;
  const std::string weights_label =
      o.random_seed ? fmt::format("RANDOM (seed {})", *o.random_seed) : std::string("trained");
  announce_device(o.device);

  ProgressBar bar("compress");
  p.kmeans.progress = [&](size_t done, size_t total, const std::string& layer) { bar.update(done, total, layer); };
  const auto start = std::chrono::steady_clock::now();
  const int spool = files.spool("--output");
  kmeans::ContainerWriter writer([&](std::string_view bytes) { write_all_from(spool, o.output, bytes, -1); });
  std::vector<LayerRow> rows;
  std::vector<estimator::LayerRatio> shared;
  kmeans::CompressedModel kept;  // whole layers, only for --onnx-out (an ONNX file is at most 2 GiB)
  kept.model = model.name;
  kept.random_weights = o.random_seed.has_value();
  kept.weights_seed = o.random_seed.value_or(0);
  size_t weighted = 0, corrected = 0;
  kmeans::compress_streamed(model, *weights, settings, p.kmeans, [&](kmeans::CompressedLayer&& l) {
    writer.add(l);
    weighted += l.weighting == kmeans::Weighting::activation ? 1 : 0;
    corrected += l.bias_corrected ? 1 : 0;
    if (auto r = estimator::compression_ratio(model, l, "compressed model '" + model.name + "'")) shared.push_back(*r);
    rows.push_back({l.name, l.warning, l.k, l.vectors(), l.dim, l.sparsity, l.mse, l.time_ms, l.iterations});
    if (!o.onnx_out.empty()) kept.layers.push_back(std::move(l));
  });
  bar.finish();
  const estimator::ModelRatio ratio = estimator::compression_ratio(model, std::move(shared));
  const reports::Table table = summary_table(rows, ratio, weights_label);
  const double compute_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::string json_text;
  if (!o.json.empty()) {
    nlohmann::json j;
    j["model"] = model.name;
    j["plan"] = loaded.plan_source;
    j["weights_random"] = o.random_seed.has_value();
    j["weights"] = o.random_seed ? weights_label : weights_source;
    if (o.random_seed) j["weights_seed"] = *o.random_seed;
    j["output"] = o.output;
    j["layers"] = reports::to_json_rows(table);
    j["total"] = reports::to_json_total(table);
    j["original_bits"] = ratio.original_bits;
    j["compressed_bits"] = {{"fixed", ratio.total_bits.fixed},
                            {"entropy", ratio.total_bits.entropy},
                            {"huffman", ratio.total_bits.huffman}};
    j["time_ms"] = compute_ms;
    json_text = j.dump(2) + "\n";
  }
  // Everything is computed before the first file is replaced, so the outputs change in one short
  // burst: a signal during the long work leaves every earlier file as it was.
  files.set_spooled("--output", writer.header(kept));
  if (!o.csv.empty()) files.set("--csv", reports::to_csv(table));
  files.set("--json", json_text);
  if (!o.onnx_out.empty())
    files.set("--onnx-out", models::encode_onnx_with_weights(o.model, kmeans::decompress(kept), o.onnx_out));
  files.commit();
  const double total_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();

  if (o.random_seed)
    fmt::print("WARNING: RANDOM weights (Student-t, 4 degrees of freedom, x 0.05, seed {}), not trained ones: the\n"
               "MSE and entropy/Huffman ratios describe these stand-ins only\n",
               *o.random_seed);
  fmt::print("model {} | plan {} | weights {}\n", model.name, loaded.plan_source, o.random_seed ? weights_label : weights_source);
  fmt::print("{}\n", reports::to_text(table));
  for (const auto& l : rows)
    if (!l.warning.empty()) fmt::print("warning: {}: {}\n", l.name, l.warning);
  for (const auto& s : settings)
    if (!s.compress) fmt::print("note: {} is not compressed (plan says compress: false)\n", s.layer);
  if (weighted || corrected)
    fmt::print("activation-aware: {} layer(s) weighted by input second moments, {} bias(es) corrected (statistics {})\n",
               weighted, corrected, o.stats);
  fmt::print("original {:.0f} bits; compressed {:.0f} (fixed) / {:.0f} (entropy) / {:.0f} (Huffman) bits; "
             "{:.0f} ms end to end; wrote {}\n",
             ratio.original_bits, ratio.total_bits.fixed, ratio.total_bits.entropy, ratio.total_bits.huffman, total_ms,
             o.output);
}

void setup_compress(CLI::App& app) {
  auto o = std::make_shared<CompressOptions>();
  auto* cmd = app.add_subcommand("compress", "k-means weight sharing of a model's conv (and, where the plan asks, linear) layers by a plan");
  cmd->add_option("MODEL", o->model, "model spec (.json), ONNX file or zoo name")->required();
  cmd->add_option("--weights", o->weights,
                  "weights: .safetensors, a sharded model's .safetensors.index.json (both read one tensor at a time), "
                  ".npz or .npy (docs/weights.md)");
  cmd->add_option("--random-weights", o->random_seed,
                  "draw heavy-tailed stand-in weights with this seed (demos and benchmarks; labelled RANDOM)");
  cmd->add_option("--plan", o->plan, "plan file or shipped plan name (docs/plan.md)")->required();
  cmd->add_option("--stats", o->stats, "calibration statistics (dkm calibrate) for plans with weighting activation or bias_correction");
  cmd->add_option("-o,--output", o->output, "compressed model (.safetensors container, docs/container.md; - for standard output)")->required();
  cmd->add_option("--threads", o->threads, "threads, 0 = all; results do not depend on it")->capture_default_str()
      ->check(integer_in(0, 4096));
  cmd->add_option("--device", o->device, "where k-means runs: cpu, cuda, or auto (the GPU when usable, else the CPU)")
      ->transform(choice({{"cpu", static_cast<int>(kmeans::Device::cpu)},
                          {"cuda", static_cast<int>(kmeans::Device::cuda)},
                          {"auto", static_cast<int>(kmeans::Device::automatic)}}))
      ->default_str("cpu");
  cmd->add_option("--json", o->json, "also write the summary as JSON (- for standard output)");
  cmd->add_option("--csv", o->csv, "also write the summary table as CSV (- for standard output)");
  cmd->add_option("--onnx-out", o->onnx_out,
                  "with an .onnx MODEL: also write it with each compressed layer's weights set to codebook[label] (float32)");
  cmd->callback([o] { run_compress(*o); });
}

const bool registered = register_command({42, setup_compress});

}  // namespace
}  // namespace dkm::cli

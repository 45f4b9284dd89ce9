#pragma once
// One configuration run end to end for the report and compare commands: model and profile loaded, the
// plan resolved, the weights compressed (when weights are given), both energy metrics estimated for the
// compressed and the uncompressed model, and the compression ratio counted three ways. Then the run
// turned into the report's plain input (reports/html.hpp) or one row of a comparison (reports/compare.hpp).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "estimator/compression_ratio.hpp"
#include "estimator/estimate.hpp"
#include "estimator/pipeline.hpp"
#include "kmeans/compressed.hpp"
#include "kmeans/plan.hpp"
#include "models/model.hpp"
#include "reports/compare.hpp"
#include "reports/html.hpp"

namespace dkm::reports {

struct RunOptions {
  std::string model;                   // spec file, ONNX file or zoo name
  std::string hw;                      // hardware profile name or file (required: no silent default)
  std::string plan;                    // plan file or shipped name; "" = uncompressed
  std::string compressed;              // a container from `dkm compress` or the PyTorch hook, instead of a plan
  std::string weights;                 // weights file; "" = none
  std::optional<uint64_t> random_seed; // heavy-tailed stand-in weights instead of a file
  int threads = 0;                     // k-means threads, 0 = all; results do not depend on it
  int64_t batch = 0;                   // 0 = the model's batch
  int conv_bits = 0;                   // 0 = the model's widths
  // Told each stage after the inputs have loaded (estimator::PipelineOptions::on_stage).
  std::function<void(const std::string& stage)> on_stage;
  std::function<void(const estimator::Loaded&)> check_loaded;  // estimator::PipelineOptions::check_loaded
};

struct Run {
  RunOptions options;
  models::Model model;
  estimator::HwProfile profile;
  std::vector<kmeans::LayerSetting> settings;        // empty without a plan
  std::optional<kmeans::CompressedModel> compressed; // weights given with a plan, or a container read
  Weights weights;                                   // the original weights, when given
  estimator::Estimate estimate;                      // as compressed
  estimator::Estimate baseline;                      // uncompressed
  estimator::ModelRatio ratio;                       // from real labels, or the plan's uniform bound
};

// Throws dkm::InputError / dkm::UsageError for bad files or options (both --weights and --random-weights,
// weights without a plan are fine: the report then shows the uncompressed model's filters only).
Run run_configuration(const RunOptions& options);

// The report's input. `sweep_rates` empty = no sweep section; `filter_layer` "" = the first weight-shared
// conv layer with a kernel larger than 1x1 (throws dkm::UsageError when the named layer is not one).
ReportInput report_input(const Run& run, const std::vector<double>& sweep_rates, const std::string& filter_layer,
                         const std::string& generator);

// The compressed layer whose filters the report draws: `name`, or "" for the first weight-shared conv
// layer with a kernel larger than 1x1; nullptr when there is none. Throws dkm::UsageError when a named
// layer is not a weight-shared conv layer of the run.
const kmeans::CompressedLayer* filter_layer_of(const Run& run, const std::string& name);

// Before the run: throws dkm::UsageError unless `name` ("" passes) will be a weight-shared conv layer, i.e. a
// conv layer of the container read, or one the plan compresses when weights are given.
void check_filter_layer(const estimator::Loaded& loaded, const std::string& name);

// One comparison row for the run, labelled `name`.
CompareRow compare_row(const Run& run, const std::string& name);

// The cluster rates of the paper's AlexNet validation sweep.
std::vector<double> paper_sweep_rates();

// The report's default sweep: the paper's rates, extended down to the plan's overall K/N (the sum of K over
// the sum of N of its shared layers) with rates a factor sqrt(10) apart, so the plan's own point lies inside
// the sweep rather than far left of it.
std::vector<double> default_sweep_rates(const Run& run);

}  // namespace dkm::reports

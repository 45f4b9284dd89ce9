#pragma once
// The one load -> compress -> estimate sequence, used by `dkm compress`, `dkm estimate`, the report and
// Python. Three named stages with plain value types between them, so a caller can run all of them
// (run_pipeline) or stop after any one:
//   load_stage     files read and checked: model, profile, plan resolved, weights, container;
//   compress_stage the planned layers weight-shared by k-means (or the container read by load_stage);
//   estimate_stage both energy metrics, compressed and uncompressed, and the compression ratio.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "estimator/compression_ratio.hpp"
#include "estimator/estimate.hpp"
#include "estimator/profile.hpp"
#include "kmeans/compress.hpp"
#include "kmeans/compressed.hpp"
#include "kmeans/plan.hpp"
#include "models/model.hpp"
#include "models/tensor.hpp"
#include "models/weight_source.hpp"

namespace dkm::estimator {

struct Loaded;

struct PipelineOptions {
  std::string model;                    // spec file, ONNX file or zoo name
  std::string hw;                       // hardware profile name or file; "" = no estimate stage
  std::string plan;                     // plan file or shipped name; "" = uncompressed
  std::string compressed;               // a container (dkm compress, the PyTorch hook) instead of a plan
  std::string weights;                  // weights file; "" = the model's own (ONNX) weights, if any
  std::optional<uint64_t> random_seed;  // heavy-tailed stand-in weights instead of a file
  // false: never run k-means; a plan is estimated with uniform labels (what `dkm estimate --plan` does).
  bool run_kmeans = true;
  // true: load_stage names the weights (weights_source) but reads none; the caller reads them one tensor
  // at a time through weight_source (`dkm compress`, for models larger than memory).
  bool stream_weights = false;
  // threads, device, progress, calibration statistics (weights_source is set by load_stage)
  kmeans::CompressOptions kmeans;
  int64_t batch = 0;                    // 0 = the model's batch
  int conv_bits = 0;                    // 0 = the model's widths
  std::optional<MapperOptions> mapper;  // also map every MAC layer (EstimateOptions::mapper)
  // Mappings to evaluate instead of searching, "LAYER=FILE" (Timeloop's map.txt form); a bare FILE when
  // the model has one conv, linear or matmul layer. Needs `mapper`.
  std::vector<std::string> mappings;
  // Told what each later stage does as it starts, once load_stage has read and checked every input (so a
  // bad input still ends in one error line): a piped `dkm report` says so on standard error.
  std::function<void(const std::string& stage)> on_stage;
  // The caller's own checks of its options against what was loaded (e.g. a layer it names), run before
  // any stage is announced; they throw as load_stage does.
  std::function<void(const Loaded&)> check_loaded;
};

// Stage 1.
struct Loaded {
  models::Model model;
  std::optional<HwProfile> profile;                  // when options.hw is set
  std::string plan_source;                           // "" without a plan
  std::vector<kmeans::LayerSetting> settings;        // empty without a plan
  Weights weights;                                   // the original weights; empty when none are known
  std::string weights_source;                        // file name, model file or "--random-weights"
  std::optional<kmeans::CompressedModel> container;  // read from options.compressed
  std::map<std::string, std::pair<LoopNest, std::string>> given_mappings;  // layer -> (mapping, file)
};

// The weights of options.weights, options.random_seed or the model's own (ONNX), read one tensor at a
// time; `loaded` must outlive it. Throws dkm::UsageError when there are none.
std::unique_ptr<WeightSource> weight_source(const Loaded& loaded, const PipelineOptions& options);

// Stage 3.
struct Estimated {
  Estimate estimate;  // as compressed
  Estimate baseline;  // uncompressed
  ModelRatio ratio;   // from real labels, or the plan's uniform-label bound
};

struct PipelineResult {
  Loaded loaded;
  std::optional<kmeans::CompressedModel> compressed;  // the container, k-means' result, or none
  std::optional<Estimated> estimated;                 // when options.hw is set
};

// Throws dkm::UsageError for contradictory options, dkm::InputError for bad files.
Loaded load_stage(const PipelineOptions& options);
// A container is priced only against the model it was written for: its "model" field, then every
// layer's name and weight shape; errors name `source` (the file) and the field. load_stage calls it.
void check_container_fits(const kmeans::CompressedModel& container, const models::Model& model,
                          const std::string& source, const std::string& model_arg);
// nullopt without a plan, without weights, or with run_kmeans false; the container when one was read.
// A plan that shares no layer gives a container with no layers.
std::optional<kmeans::CompressedModel> compress_stage(const Loaded& loaded, const PipelineOptions& options);
// Needs loaded.profile.
Estimated estimate_stage(const Loaded& loaded, const std::optional<kmeans::CompressedModel>& compressed,
                         const PipelineOptions& options);

PipelineResult run_pipeline(const PipelineOptions& options);

}  // namespace dkm::estimator

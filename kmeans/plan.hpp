#pragma once
// A compression plan: which conv layers are weight-shared and how (K or cluster rate, granularity,
// sparsity, initialisation, seed). Plans are JSON files ("format": "dkm-plan/1", docs/plan.md) or the
// shipped ones in models/plans/, parsed and validated here; resolve_plan() turns one into concrete
// per-layer settings for a model without running k-means, so the estimator can use it too.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kmeans/compressed.hpp"
#include "kmeans/kmeans.hpp"
#include "models/embedded.hpp"
#include "models/model.hpp"

namespace dkm::kmeans {

// Settings that a plan's "defaults" or a rule may give; unset fields fall through to the next level.
struct PlanSettings {
  std::optional<int64_t> k;                 // clusters, the sparse one included
  std::optional<double> cluster_rate;       // K = round(rate * N) when k is not set
  std::optional<Granularity> granularity;
  std::optional<int64_t> group_size;        // G of the group granularity
  std::optional<double> sparsity;           // p in [0, 1)
  std::optional<SparsityVariant> sparsity_variant;
  std::optional<Init> init;                 // Init::given is not available in plans
  std::optional<uint64_t> seed;             // default: 1000 + conv layer index (the reference code)
  std::optional<int> max_iter;
  std::optional<double> tol;
  std::optional<bool> compress;             // false leaves the layer at 32-bit float
  std::optional<Weighting> weighting;       // activation: needs calibration statistics (--stats)
  std::optional<bool> bias_correction;      // b' = b - dW mu after clustering (needs --stats)
};

struct PlanRule {
  std::string match;  // exact layer name or a glob with * and ?
  PlanSettings settings;
  std::string where;  // JSON path of the rule, e.g. "layers[3]", for error messages
};

struct Plan {
  std::string source;            // file name or "<embedded>/name.json"
  std::string model;             // optional "model" field; informational
  // The layer types the plan covers ("layer_types"): conv2d by default (the paper's setting), linear
  // layers too where a plan asks for them (a transformer's projections, MatMul by a constant).
  std::vector<models::LayerKind> layer_types = {models::LayerKind::conv2d};
  PlanSettings defaults;
  std::vector<PlanRule> rules;   // applied in order, later rules override earlier ones
};

// Concrete settings for one conv or linear layer.
struct LayerSetting {
  std::string layer;                 // model layer name; its weight is "<layer>.weight"
  int64_t conv_index = 0;            // 0-based position among the model's layers of the plan's layer types
  bool compress = true;
  std::vector<int64_t> weight_shape; // OIHW; linear (out, in)
  Granularity granularity = Granularity::row;
  int64_t vectors = 0;               // N for this granularity
  int64_t dim = 0;                   // vector length d
  int64_t k = 0;                     // clusters, clamped to N (K == N keeps the layer unchanged)
  double sparsity = 0;
  SparsityVariant sparsity_variant = SparsityVariant::none;
  Init init = Init::kmeans_plus_plus;
  uint64_t seed = 0;
  int max_iter = 300;
  double tol = 1e-4;
  Weighting weighting = Weighting::plain;
  bool bias_correction = false;
  std::string warning;               // non-empty when a value was clamped
};

// Throws dkm::InputError (source + JSON path) on unknown keys, bad types or values out of range.
Plan parse_plan(std::string_view json_text, const std::string& source);

// A path to a plan file or the name of a shipped plan ("wrn-16-4-cr47").
Plan load_plan(const std::string& path_or_name);

// The plans compiled into the binary (models/plans/*.json).
std::span<const EmbeddedFile> plan_files();

// One setting per layer of the plan's layer types, in the model's layer order. Throws dkm::InputError
// when a rule matches no such layer of the model.
std::vector<LayerSetting> resolve_plan(const Plan& plan, const models::Model& model);

// Vectors and their length when a weight of this OIHW shape is cut at this granularity. A linear weight
// (out, in) is cut as the 1x1 convolution (out, in, 1, 1) it equals, as the estimator prices it.
struct VectorShape {
  int64_t vectors = 0, dim = 0;
};
// `group_size` is G of Granularity::group (ignored by the others).
VectorShape vector_shape(std::span<const int64_t> weight_shape, Granularity granularity, int64_t group_size = 0);

// Names as they appear in plans and on the command line.
std::string_view to_string(Granularity g);
std::string_view to_string(SparsityVariant v);
std::string_view to_string(Init init);
std::string_view to_string(Weighting w);
std::optional<Granularity> parse_granularity(std::string_view s);
std::optional<SparsityVariant> parse_sparsity_variant(std::string_view s);
std::optional<Init> parse_init(std::string_view s);
std::optional<Weighting> parse_weighting(std::string_view s);

// Glob match with * (any run) and ? (one character); everything else literal.
bool glob_match(std::string_view pattern, std::string_view name);

}  // namespace dkm::kmeans

#pragma once
// The estimator stage: a model (and optionally how each layer is compressed) in, per-layer and total
// energies out, by two metrics side by side: the paper's energy-aware metric and the row-stationary
// hierarchy model. `estimate()` is the one call most callers need; `sweep()` runs the paper's
// cluster-rate experiment analytically.
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "estimator/hierarchy.hpp"
#include "estimator/paper_metric.hpp"
#include "estimator/problem.hpp"
#include "estimator/profile.hpp"
#include "models/model.hpp"

namespace dkm::estimator {

struct EstimateOptions {
  int64_t batch = 0;  // images per run; 0 = the model's batch
  // Per layer name; layers not listed are uncompressed. Conv and linear layers only.
  std::map<std::string, LayerCompression> compression;
  // When set, conv layers use these weight and activation widths (linear layers keep theirs): the
  // paper's validation runs conv layers at 8 bits and FC layers at 16.
  std::optional<int> conv_bits;
};

// What a layer's compression was, without the labels.
struct CompressionSummary {
  double density = 1.0;
  int64_t k = 0;  // 0 = not shared
  kmeans::Granularity granularity = kmeans::Granularity::row;
  int64_t vectors = 0, dim = 0;
  int index_bits = 0;
  bool labels_used = false;  // computation saving from the real assignment, not the expectation
};

struct LayerEstimate {
  std::string name;
  models::LayerKind kind = models::LayerKind::conv2d;
  ConvProblem problem;
  CompressionSummary compression;
  PaperMetric paper;
  Hierarchy hierarchy;
};

struct Totals {
  int64_t macs = 0;              // dense MACs for the whole batch
  int64_t executed_macs = 0;     // after zero gating
  double paper_energy = 0;       // profile unit
  double paper_comp_energy = 0, paper_rep_energy = 0;
  double comp_full_adders = 0;
  double r_w_bits = 0, r_x_bits = 0;
  double hierarchy_energy = 0;   // profile unit
  double hierarchy_mac_energy = 0;
  EnergyTable hierarchy_by{};    // [DataType][Level]
  double paper_per_mac() const { return macs ? paper_energy / static_cast<double>(macs) : 0.0; }
  double hierarchy_per_mac() const { return macs ? hierarchy_energy / static_cast<double>(macs) : 0.0; }
};

struct Estimate {
  std::string model;
  std::string profile;
  EnergyUnit unit = EnergyUnit::mac_normalised;
  int64_t batch = 1;
  std::vector<LayerEstimate> layers;  // conv and linear layers, model order
  Totals totals;
  std::optional<Totals> uncompressed;  // the same model uncompressed, when any layer is compressed
};

// Throws dkm::InputError for compression entries naming no conv/linear layer or with bad values.
Estimate estimate(const models::Model& model, const HwProfile& profile, const EstimateOptions& options = {});

// The paper's validation experiment: every conv layer weight-shared row-wise at cluster rate K/N
// (K = max(1, round(rate*N)), index bits ceil(log2 K), uniform labels), for each rate.
struct SweepPoint {
  double rate = 0;
  Totals totals;       // conv layers only (the paper's comparison)
  Totals all_layers;   // conv and linear
  // The conv layers' paper metric with the computation of the uncompressed layers: only the
  // representational costs see the sharing (no credit for reused products).
  double paper_energy_without_reuse = 0;
};

struct Sweep {
  std::string model, profile;
  EnergyUnit unit = EnergyUnit::mac_normalised;
  std::vector<SweepPoint> points;
  // Coefficient of determination of a linear fit of hierarchy on paper energy (conv layers); unset where
  // it is undefined (one distinct rate, no conv layer, energies that do not change), `r2_undefined` says why.
  std::optional<double> r2;
  std::optional<double> r2_without_reuse;  // the same against paper_energy_without_reuse
  std::string r2_undefined;
};

Sweep sweep(const models::Model& model, const HwProfile& profile, std::span<const double> rates,
            const EstimateOptions& base = {});

// Coefficient of determination of the least-squares line y ~ a + b x (the squared Pearson correlation);
// nullopt where it is undefined: fewer than two points, or x or y constant. Throws std::invalid_argument
// for series of different lengths.
std::optional<double> r_squared(std::span<const double> x, std::span<const double> y);

}  // namespace dkm::estimator

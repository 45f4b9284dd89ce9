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
#include "estimator/layer_mapping.hpp"
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
  // When set, every conv, linear and matmul layer is also mapped by the mapping search
  // (estimator/mapper.hpp) with this objective: identical shapes are searched once, a weight-shared
  // layer is searched at its index width with its codebook taking capacity, and the paper metric takes
  // N_w and N_x from the dense layer's chosen mapping.
  std::optional<MapperOptions> mapper;
  // Per layer name: a mapping to evaluate instead of searching (needs `mapper`), and where it was read.
  std::map<std::string, std::pair<LoopNest, std::string>> given_mappings;
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
  // With EstimateOptions::mapper: the layer's mapping as compressed; for a compressed layer whose
  // mapping differs from the dense layer's, its energy on the dense layer's mapping (what the change is
  // worth), when that mapping still fits.
  std::optional<LayerMapping> mapped;
  bool mapping_changed = false;
  std::optional<double> energy_on_dense_mapping;
};

// A layer without MACs (pooling, normalisation, activation, elementwise arithmetic, data movement), priced
// the same way by both metrics: each element operation as one MAC at the layer's activation width (the
// profile's ALU energy, an upper bound for an add or a compare) plus reading its inputs from and writing its
// output to the global buffer (or DRAM when activations bypass it). Rearranging layers cost traffic only.
struct ElementwiseEstimate {
  std::string name;
  models::LayerKind kind = models::LayerKind::elementwise;
  int64_t element_ops = 0;  // for the batch
  int64_t values_moved = 0;  // input and output activations, for the batch
  double ops_energy = 0, traffic_energy = 0;  // profile unit
  double energy() const { return ops_energy + traffic_energy; }
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
  // Layers without MACs (ElementwiseEstimate), outside the energies above so that those stay the
  // conv/linear/matmul figures the paper's metric and the hierarchy model define.
  int64_t element_ops = 0;
  double elementwise_energy = 0;
  // With EstimateOptions::mapper: the mapped layers' energy (profile unit) and cycles, and the
  // compressed layers that map differently from their dense form with the energy that saves.
  double mapped_energy = 0;
  int64_t mapped_cycles = 0;
  int64_t mapping_changes = 0;
  int64_t mapping_changes_unfit = 0;  // of those, where the dense layer's mapping no longer fits
  double mapping_change_saving = 0;
  int64_t mapped_macs = 0;         // the MACs of the mapped layers
  int64_t unmapped_layers = 0;     // layers no mapping of the profile can hold: outside the mapped figures
  double paper_per_mac() const { return macs ? paper_energy / static_cast<double>(macs) : 0.0; }
  double mapped_per_mac() const { return mapped_macs ? mapped_energy / static_cast<double>(mapped_macs) : 0.0; }
  double hierarchy_per_mac() const { return macs ? hierarchy_energy / static_cast<double>(macs) : 0.0; }
};

struct Estimate {
  std::string model;
  std::string profile;
  EnergyUnit unit = EnergyUnit::mac_normalised;
  int64_t batch = 1;
  std::vector<LayerEstimate> layers;  // conv, linear and matmul layers, model order
  std::vector<ElementwiseEstimate> elementwise;  // every other layer, model order
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

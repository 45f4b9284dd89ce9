#pragma once
// `dkm plan`: a compression plan searched from measured per-layer sensitivity (docs/plan.md, "How plans are
// searched"). Each conv layer is clustered alone at each candidate K and the model is run on the data; then a
// deterministic greedy walk lowers K one layer at a time, cheapest loss per saved bit first, measuring every
// point jointly, until the target compression ratio is met or the quality budget would be broken.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "estimator/profile.hpp"
#include "kmeans/compress.hpp"
#include "kmeans/compressed.hpp"
#include "models/model.hpp"
#include "models/runtime/evaluation.hpp"

namespace dkm::reports {

struct PlanSearchOptions {
  std::vector<int64_t> candidates = {256, 128, 64, 32, 16, 8, 4};  // K per layer; "uncompressed" always too
  kmeans::Granularity granularity = kmeans::Granularity::row;
  // k-means++ (seeded Lloyd), or optimal_1d: layers whose vectors have length 1 (1x1 convs, scalar
  // granularity) get the exact (weighted) 1-D optimum, the others k-means++.
  kmeans::Init init = kmeans::Init::kmeans_plus_plus;
  uint64_t seed = 1000;                     // layer i (0-based among conv layers) uses seed + i
  std::optional<double> max_drop_points;    // quality budget with labels: accuracy drop in points
  std::optional<double> min_snr_db;         // quality budget without labels: output SNR against the float model
  std::optional<double> target_cr;          // or: Huffman compression ratio of the conv layers to reach
  // Weightings tried at each K; the better measured one is kept (accuracy drop, then output noise, then
  // the order given). activation needs `stats`.
  std::vector<kmeans::Weighting> weightings = {kmeans::Weighting::plain};
  bool bias_correction = false;             // every compressed layer's bias corrected (needs `stats`)
  const kmeans::ActivationStats* stats = nullptr;
  runtime::EvaluationSetup evaluation;      // score rule, labels, batch, threads, weights source
  // Called before each forward pass: done / total passes of the current phase, and what is measured.
  std::function<void(size_t done, size_t total, const std::string& what)> progress;
};

// One measurement: the model with some conv layers weight-shared, against the float model.
struct Quality {
  std::optional<double> accuracy_drop_points;  // with labels
  double output_snr_db = 0;                    // +inf when the outputs are identical
};

struct Candidate {
  int64_t k = 0;           // as planned; the k-means may clamp it (see `warning`)
  kmeans::Weighting weighting = kmeans::Weighting::plain;  // the better of the weightings tried
  double huffman_bits = 0;  // the layer compressed: codebook + Huffman-coded labels + bias
  Quality quality;          // this layer alone compressed
  std::string warning;
};

struct LayerSensitivity {
  std::string layer;
  int64_t vectors = 0, dim = 0;
  double original_bits = 0;             // weights and bias at 32 bits
  std::vector<Candidate> candidates;    // K descending; K >= N is left out (it keeps the layer as it is)
};

struct Energy {
  double paper = 0, hierarchy = 0;  // whole model, unit of the profile
};

// A point the greedy walk measured: every layer's K at that moment (0 = uncompressed).
struct CurvePoint {
  std::string layer;        // the layer whose K changed ("" for the start: nothing compressed)
  int64_t k = 0;
  bool accepted = true;     // false: it broke the quality budget and the layer keeps its previous K
  // Huffman, over the conv layers' weights and biases (estimator/compression_ratio.hpp counting rules):
  // what a plan can compress; linear layers stay 32-bit float and are left out of both sides.
  double compression_ratio = 1;
  Quality quality;
  Energy energy;
};

struct PlanSearch {
  std::string model, metric;   // metric: the score rule, or "output SNR" without labels
  int64_t images = 0;
  std::optional<double> float_accuracy;  // percent, with labels
  std::string profile;                   // the hardware profile of the energies
  estimator::EnergyUnit unit = estimator::EnergyUnit::mac_normalised;
  std::vector<LayerSensitivity> sensitivity;  // every conv layer, model order
  std::vector<CurvePoint> curve;
  std::vector<int64_t> chosen_k;         // per conv layer, 0 = uncompressed
  std::vector<kmeans::Weighting> chosen_weighting;  // per conv layer
  std::string plan_json;                 // dkm-plan/1 text for the chosen K
  CurvePoint verified;                   // the chosen plan, compressed from plan_json and measured once more
};

// Throws dkm::UsageError for contradicting options or an unreachable --target-cr, dkm::InputError for bad
// weights or data.
PlanSearch search_plan(const models::Model& model, const Weights& weights, const runtime::Activations& data,
                       const estimator::HwProfile& profile, const PlanSearchOptions& options);

}  // namespace dkm::reports

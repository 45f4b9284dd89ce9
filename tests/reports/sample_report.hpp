#pragma once
// A small hand-made report input (four layers, a sweep, one conv layer's filters) shared by the HTML
// tests and the browser test, so they run without the estimator and k-means stages.
#include <cmath>

#include "reports/html.hpp"

namespace dkm::test {

inline reports::ReportLayer sample_layer(const std::string& name, const std::string& kind,
                                         std::vector<int64_t> shape, int64_t macs, int64_t k, double scale) {
  reports::ReportLayer l;
  l.name = name;
  l.kind = kind;
  l.weight_shape = shape;
  l.weights = 1;
  for (auto d : shape) l.weights *= d;
  l.macs = macs;
  l.compressed = k > 0;
  l.k = k;
  const int64_t vectors = shape.size() == 4 ? shape[0] * shape[1] * shape[2] : 0;
  l.cluster_rate = k > 0 ? static_cast<double>(k) / static_cast<double>(vectors) : 0;
  l.granularity = k > 0 ? "row" : "";
  l.mse = k > 0 ? 1e-4 * scale : reports::kNotComputed;
  const int64_t bias = shape[0];
  l.original_bits = 32.0 * static_cast<double>(l.weights + bias);
  if (k > 0) {
    const double dim = static_cast<double>(shape[3]);
    const double codebook = 32.0 * static_cast<double>(k) * dim + 32.0 * static_cast<double>(bias);
    l.fixed_bits = codebook + static_cast<double>(vectors) * std::ceil(std::log2(static_cast<double>(k)));
    l.entropy_bits = codebook + static_cast<double>(vectors) * std::log2(static_cast<double>(k)) * 0.9;
    l.huffman_bits = codebook + static_cast<double>(vectors) * std::log2(static_cast<double>(k)) * 0.92;
  } else {
    l.fixed_bits = l.entropy_bits = l.huffman_bits = l.original_bits;
  }
  // Level energies (DRAM, buffer, array, RF, MAC) and the same total by data type (weights, inputs,
  // psums, MAC); the compressed layer saves weight traffic only.
  const double weight_share = k > 0 ? 0.25 : 1.0;
  const double w = 400 * scale * weight_share, x = 300 * scale, p = 200 * scale, mac = 100 * scale;
  l.energy_by_type = {w, x, p, mac};
  const double moved = w + x + p;
  l.energy_by_level = {0.5 * moved, 0.2 * moved, 0.1 * moved, 0.2 * moved, mac};
  l.hierarchy_energy = moved + mac;
  l.hierarchy_energy_uncompressed = 1000 * scale;
  l.paper_energy = 0.8 * l.hierarchy_energy;
  l.paper_energy_uncompressed = 800 * scale;
  return l;
}

inline reports::ReportInput sample_report_input() {
  reports::ReportInput in;
  in.model = "wrn-mini <test & check>";
  in.profile = "eyeriss-65nm";
  in.energy_unit = "mac_normalised";
  in.plan = "cr47-like";
  in.weights = "random (seed 1)";
  in.batch = 1;
  in.levels = {"DRAM", "buffer", "array", "RF", "MAC"};
  in.data_types = {"weights", "inputs", "psums", "MAC"};
  in.layers = {sample_layer("conv1", "conv2d", {16, 3, 3, 3}, 442368, 0, 1.0),
               sample_layer("block1.conv1", "conv2d", {64, 16, 3, 3}, 9437184, 90, 20.0),
               sample_layer("block1.shortcut", "conv2d", {64, 16, 1, 1}, 1048576, 50, 3.0),
               sample_layer("fc", "linear", {10, 256}, 2560, 0, 0.1)};
  reports::ReportSweep sweep;
  sweep.cluster_rates = {0.5, 0.3, 0.25, 0.2, 0.15, 0.1, 0.05, 0.01};
  for (double r : sweep.cluster_rates) {
    sweep.paper_energy.push_back(500 + 800 * r);
    sweep.hierarchy_energy.push_back(620 + 700 * r + 20 * std::sin(30 * r));
  }
  sweep.paper_uncompressed = 1300;
  sweep.hierarchy_uncompressed = 1320;
  sweep.r2 = 0.9931;
  in.sweep = sweep;
  reports::ReportFilters f;
  f.layer = "block1.conv1";
  f.shape = {64, 16, 3, 3};
  f.k = 90;
  const size_t n = 64 * 16 * 3 * 3;
  for (size_t i = 0; i < n; ++i) {
    const double v = 0.1 * std::sin(0.37 * static_cast<double>(i)) * std::cos(0.011 * static_cast<double>(i));
    f.original.push_back(static_cast<float>(v));
    f.compressed.push_back(static_cast<float>(std::round(v * 40) / 40));  // a few shared levels
  }
  in.filters = f;
  in.notes = {"Weights drawn at random (seed 1): sizes and energies are exact, accuracy is not meaningful."};
  in.generator = "dkm test";
  return in;
}

}  // namespace dkm::test

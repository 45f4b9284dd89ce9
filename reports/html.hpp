#pragma once
// The HTML report: one self-contained file (inline CSS, inline SVG, a few lines of script that sort the
// table; no network, no external fonts, scripts or styles, and a Content-Security-Policy that forbids
// them). Sections (docs/reports.md): summary, per-layer table, energy per memory level and per data type,
// compression per layer, uncompressed against compressed, the cluster-rate sweep, filter heat maps.
//
// The input is a plain struct filled by the command (tools/cmd_report.cpp) from the estimator and k-means
// results, so the renderer depends on nothing but these values. Output is deterministic: the same input
// gives the same bytes (no dates, no random ids).
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "reports/table.hpp"

namespace dkm::reports {

inline constexpr double kNotComputed = std::numeric_limits<double>::quiet_NaN();

struct ReportLayer {
  std::string name;
  std::string kind;                    // "conv2d" or "linear"
  std::vector<int64_t> weight_shape;   // OIHW, or (out, in) for linear
  int64_t weights = 0;                 // weight count (biases excluded)
  int64_t macs = 0;                    // for the whole batch
  bool compressed = false;             // weight-shared
  int64_t k = 0;                       // shared centres (0 = not shared)
  double cluster_rate = 0;             // K / N
  std::string granularity;             // "row", "kernel", ... ("" when not shared)
  double mse = kNotComputed;           // mean squared weight error after sharing
  // Storage in bits: the original at 32-bit float (weights + biases) and the compressed layer counted
  // three ways: fixed-length indices, entropy bound of the labels, real Huffman-coded indices (each with
  // the codebook and biases at 32 bits). Uncompressed layers repeat the original size.
  double original_bits = 0;
  double fixed_bits = 0, entropy_bits = 0, huffman_bits = 0;
  // Energies in ReportInput::energy_unit.
  double paper_energy = 0, paper_energy_uncompressed = 0;
  double hierarchy_energy = 0, hierarchy_energy_uncompressed = 0;
  std::vector<double> energy_by_level;  // hierarchy energy per ReportInput::levels (compressed layer)
  std::vector<double> energy_by_type;   // per ReportInput::data_types
  // The mapping search's result for the layer (estimator/layer_mapping.hpp), when it ran: energy,
  // cycles, and the loop nest as one line, per level its loops outermost first.
  double mapped_energy = kNotComputed;
  int64_t cycles = 0;
  std::string mapping;
};

// Both metrics over cluster rates (conv layers), and the uncompressed totals they are relative to.
struct ReportSweep {
  std::vector<double> cluster_rates;
  std::vector<double> paper_energy, hierarchy_energy;
  double paper_uncompressed = 0, hierarchy_uncompressed = 0;
  double r2 = kNotComputed;  // of a linear fit of hierarchy on paper energy
  std::string r2_undefined;  // why r2 is not computed (one rate, no conv layer), or ""
  // The report's own plan as a point: its overall K/N (0 = no plan) and its conv layers' energies.
  double plan_rate = 0, plan_paper_energy = 0, plan_hierarchy_energy = 0;
};

// One conv layer's weights before and after sharing (same OIHW shape), for the heat maps.
struct ReportFilters {
  std::string layer;
  std::vector<int64_t> shape;  // OIHW
  std::vector<float> original, compressed;
  int64_t k = 0;
};

struct ReportInput {
  std::string model;
  std::string profile;          // hardware profile name
  std::string energy_unit;      // "pJ" or "mac_normalised"
  std::string plan;             // plan name or file; "" = none
  std::string weights;          // where the weights came from, e.g. "random (seed 1)" or a path
  int64_t batch = 1;
  std::vector<std::string> levels;      // names of energy_by_level entries, e.g. DRAM, buffer, array, RF, MAC
  std::vector<std::string> data_types;  // names of energy_by_type entries, e.g. weights, inputs, psums, MAC
  std::vector<ReportLayer> layers;      // conv and linear layers in model order
  std::optional<ReportSweep> sweep;
  std::optional<ReportFilters> filters;
  std::vector<std::string> notes;  // caveats shown under the summary (e.g. random weights)
  std::string generator;           // e.g. "dkm 0.1.0"
};

// Whole-model numbers derived from the layers (sums; CR = original bits / compressed bits).
struct ReportTotals {
  int64_t weights = 0, macs = 0;
  double original_bits = 0, fixed_bits = 0, entropy_bits = 0, huffman_bits = 0;
  double paper_energy = 0, paper_energy_uncompressed = 0;
  double hierarchy_energy = 0, hierarchy_energy_uncompressed = 0;
  double cr_fixed() const { return fixed_bits > 0 ? original_bits / fixed_bits : kNotComputed; }
  double cr_entropy() const { return entropy_bits > 0 ? original_bits / entropy_bits : kNotComputed; }
  double cr_huffman() const { return huffman_bits > 0 ? original_bits / huffman_bits : kNotComputed; }
};
ReportTotals report_totals(const ReportInput& input);

// The per-layer table of the report (also the rows of `dkm report --csv`); column keys in docs/reports.md.
Table report_layer_table(const ReportInput& input);

// Throws std::invalid_argument when per-layer vectors do not match `levels` / `data_types` or the
// filter tensors do not match their shape.
std::string render_report(const ReportInput& input);

// A Table as an HTML <table class="sortable"> (numbers right-aligned, raw values in data-v for sorting,
// the total row in <tfoot>).
std::string html_table(const Table& table, const std::string& caption);

// The page stylesheet (besides chart_css()) and the table-sorting script, shared by the compare page.
const char* report_page_css();
const char* report_sort_script();

// The Content-Security-Policy every report carries: nothing may load from anywhere.
inline constexpr const char* kReportCsp =
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

}  // namespace dkm::reports

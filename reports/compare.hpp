#pragma once
// Configurations side by side (`dkm compare`): compression ratio three ways, MSE, energy by both
// metrics and per memory level, one row per configuration. Rows come from runs (reports/pipeline.hpp)
// or from result JSON files written by `dkm report --json`, `dkm estimate --json` or
// `dkm compress --json`; a file holding only part of the numbers leaves the rest empty.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "reports/html.hpp"
#include "reports/table.hpp"

namespace dkm::reports {

struct CompareRow {
  std::string name;                    // configuration label (plan name, file name)
  std::string model, profile, weights;
  double original_bits = kNotComputed;
  double fixed_bits = kNotComputed, entropy_bits = kNotComputed, huffman_bits = kNotComputed;
  double mse = kNotComputed;           // over all weight-shared values
  int64_t macs = 0;
  double paper_energy = kNotComputed, paper_energy_uncompressed = kNotComputed;
  double hierarchy_energy = kNotComputed, hierarchy_energy_uncompressed = kNotComputed;
  std::vector<double> energy_by_level;  // per Comparison::levels; empty = unknown
};

struct Comparison {
  std::string energy_unit;           // shared by every row ("" when no row has energies)
  std::vector<std::string> levels;   // e.g. dram, buffer, array, rf, mac
  std::vector<CompareRow> rows;
};

// Column keys in docs/reports.md ("dkm compare").
Table compare_table(const Comparison& comparison);

// {"format": "dkm-compare/1", "energy_unit", "levels", "configurations": [rows as in compare_table]}.
nlohmann::json compare_json(const Comparison& comparison);

// A self-contained HTML page (same rules as the report): the table, CR three ways, energy per level.
std::string render_compare(const Comparison& comparison, const std::string& generator);

// Reads one result file; `source` names it in errors. Sets `energy_unit` and `levels` of `into` from the
// first file with energies and throws dkm::InputError when a later file uses another unit.
void add_result_json(Comparison& into, const nlohmann::json& result, const std::string& source);

// The report's whole-model result as JSON ("format": "dkm-result/1"), which add_result_json reads back.
nlohmann::json result_json(const ReportInput& input);

}  // namespace dkm::reports

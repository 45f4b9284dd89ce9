// The report's per-layer table: its columns (shared with CSV/JSON) and its HTML rendering.
#include <algorithm>
#include <cmath>

#include <fmt/core.h>

#include "reports/html.hpp"
#include "reports/svg.hpp"

namespace dkm::reports {

namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "x" : "") + std::to_string(shape[i]);
  return s;
}

Cell ratio_cell(double num, double den) {
  if (!(den > 0) || !std::isfinite(num)) return Cell{};
  return num / den;
}

Cell optional_double(double v) { return std::isfinite(v) ? Cell{v} : Cell{}; }

// Raw value for sorting: numbers at full precision, text as is.
std::string sort_value(const Cell& c) {
  switch (c.index()) {
    case 1: return std::to_string(std::get<int64_t>(c));
    case 2: return fmt::format("{}", std::get<double>(c));
    case 3: return std::get<std::string>(c);
    default: return "";
  }
}

}  // namespace

ReportTotals report_totals(const ReportInput& in) {
  ReportTotals t;
  for (const auto& l : in.layers) {
    t.weights += l.weights;
    t.macs += l.macs;
    t.original_bits += l.original_bits;
    t.fixed_bits += l.fixed_bits;
    t.entropy_bits += l.entropy_bits;
    t.huffman_bits += l.huffman_bits;
    t.paper_energy += l.paper_energy;
    t.paper_energy_uncompressed += l.paper_energy_uncompressed;
    t.hierarchy_energy += l.hierarchy_energy;
    t.hierarchy_energy_uncompressed += l.hierarchy_energy_uncompressed;
  }
  return t;
}

Table report_layer_table(const ReportInput& in) {
  const std::string u = unit_key(in.energy_unit);
  Table t;
  t.columns = {
      {"layer", "layer", 4},
      {"kind", "kind", 4},
      {"weight_shape", "weight shape", 4},
      {"weights", "weights", 4},
      {"macs", "MACs", 4},
      {"k", "K", 4},
      {"cluster_rate", "K/N", 3},
      {"original_bits", "original [bits]", 8},
      {"compressed_bits_huffman", "compressed [bits]", 8},
      {"cr_huffman", "CR [x]", 4},
      {"mse", "MSE", 3},
      {"hierarchy_energy_" + u, "hierarchy energy [" + in.energy_unit + "]", 4},
      {"hierarchy_share_percent", "share [%]", 3},
      {"hierarchy_ratio", "uncompressed ÷ compressed", 3},
      {"paper_energy_" + u, "paper metric [" + in.energy_unit + "]", 4},
      {"paper_ratio", "paper uncompressed ÷ compressed", 3},
  };
  const ReportTotals tot = report_totals(in);
  // The total's MSE: per weight over the compressed layers (each layer's MSE weighted by its weights).
  double squared = 0, shared = 0;
  for (const auto& l : in.layers)
    if (l.compressed && std::isfinite(l.mse)) {
      squared += l.mse * static_cast<double>(l.weights);
      shared += static_cast<double>(l.weights);
    }
  for (const auto& l : in.layers) {
    t.rows.push_back({
        l.name,
        l.kind,
        shape_text(l.weight_shape),
        l.weights,
        l.macs,
        l.k > 0 ? Cell{l.k} : Cell{},
        l.k > 0 ? Cell{l.cluster_rate} : Cell{},
        l.original_bits,
        l.huffman_bits,
        ratio_cell(l.original_bits, l.huffman_bits),
        l.compressed ? optional_double(l.mse) : Cell{},
        l.hierarchy_energy,
        ratio_cell(100.0 * l.hierarchy_energy, tot.hierarchy_energy),
        ratio_cell(l.hierarchy_energy_uncompressed, l.hierarchy_energy),
        l.paper_energy,
        ratio_cell(l.paper_energy_uncompressed, l.paper_energy),
    });
  }
  t.total = {Cell{},
             Cell{},
             Cell{},
             tot.weights,
             tot.macs,
             Cell{},
             Cell{},
             tot.original_bits,
             tot.huffman_bits,
             ratio_cell(tot.original_bits, tot.huffman_bits),
             shared > 0 ? Cell{squared / shared} : Cell{},
             tot.hierarchy_energy,
             ratio_cell(100.0 * tot.hierarchy_energy, tot.hierarchy_energy),
             ratio_cell(tot.hierarchy_energy_uncompressed, tot.hierarchy_energy),
             tot.paper_energy,
             ratio_cell(tot.paper_energy_uncompressed, tot.paper_energy)};
  return t;
}

std::string html_table(const Table& table, const std::string& caption) {
  std::string out = "<div class=\"table-wrap\"><table class=\"sortable\">\n";
  out += "<caption>" + xml_escape(caption) + "</caption>\n<thead><tr>";
  std::vector<bool> numeric(table.columns.size(), false);
  for (const auto& row : table.rows)
    for (size_t c = 0; c < row.size() && c < numeric.size(); ++c)
      if (row[c].index() == 1 || row[c].index() == 2) numeric[c] = true;
  for (size_t c = 0; c < table.columns.size(); ++c) {
    const auto& col = table.columns[c];
    out += fmt::format("<th scope=\"col\"{} title=\"{}\"><button type=\"button\">{}</button></th>",
                       numeric[c] ? " class=\"num\"" : "", xml_escape("CSV column: " + col.key),
                       xml_escape(col.title.empty() ? col.key : col.title));
  }
  out += "</tr></thead>\n<tbody>\n";
  auto row_html = [&](const std::vector<Cell>& row, bool total) {
    std::string r = "<tr>";
    for (size_t c = 0; c < row.size(); ++c) {
      const std::string text = total && c == 0 ? "total" : format_cell(row[c], table.columns[c].precision);
      const bool num = row[c].index() == 1 || row[c].index() == 2;
      if (c == 0)
        r += fmt::format("<th scope=\"row\" data-v=\"{}\">{}</th>", xml_escape(sort_value(row[c])), xml_escape(text));
      else
        r += fmt::format("<td{} data-v=\"{}\">{}</td>", num ? " class=\"num\"" : "", xml_escape(sort_value(row[c])),
                         xml_escape(text));
    }
    return r + "</tr>\n";
  };
  for (const auto& row : table.rows) out += row_html(row, false);
  out += "</tbody>\n";
  if (!table.total.empty()) out += "<tfoot>\n" + row_html(table.total, true) + "</tfoot>\n";
  return out + "</table></div>\n";
}

}  // namespace dkm::reports

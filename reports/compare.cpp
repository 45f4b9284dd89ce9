#include "reports/compare.hpp"

#include <cmath>

#include <fmt/core.h>

#include "models/error.hpp"
#include "reports/charts.hpp"
#include "reports/svg.hpp"

namespace dkm::reports {

namespace {

Cell num(double v) { return std::isfinite(v) ? Cell{v} : Cell{}; }
Cell ratio(double a, double b) { return std::isfinite(a) && std::isfinite(b) && b > 0 ? Cell{a / b} : Cell{}; }

double json_number(const nlohmann::json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number()) return kNotComputed;
  return j[key].get<double>();
}

std::string json_string(const nlohmann::json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return "";
  return j[key].get<std::string>();
}

// Keeps one energy unit across the rows; the first file with energies decides it.
void adopt_unit(Comparison& into, const std::string& unit, const std::vector<std::string>& levels,
                const std::string& source) {
  if (into.energy_unit.empty()) {
    into.energy_unit = unit;
    if (into.levels.empty()) into.levels = levels;
    return;
  }
  if (into.energy_unit != unit)
    throw InputError(source, "energy_unit",
                     fmt::format("the same energy unit as the other results (\"{}\", not \"{}\")", into.energy_unit,
                                 unit));
}

}  // namespace

Table compare_table(const Comparison& c) {
  const std::string u = unit_key(c.energy_unit), ut = c.energy_unit.empty() ? "unit" : c.energy_unit;
  Table t;
  t.columns = {{"configuration", "configuration", 4},
               {"model", "model", 4},
               {"profile", "profile", 4},
               {"original_bits", "original [bits]", 10},
               {"compressed_bits_huffman", "Huffman [bits]", 10},
               {"cr_fixed", "CR fixed", 4},
               {"cr_entropy", "CR entropy", 4},
               {"cr_huffman", "CR Huffman", 4},
               {"mse", "MSE", 3},
               {"paper_energy_" + u, "paper [" + ut + "]", 4},
               {"paper_ratio", "paper gain", 3},
               {"hierarchy_energy_" + u, "hierarchy [" + ut + "]", 4},
               {"hierarchy_ratio", "hier. gain", 3}};
  for (const auto& l : c.levels) t.columns.push_back({l + "_energy_" + u, l, 4});
  for (const auto& r : c.rows) {
    std::vector<Cell> row{r.name,
                          r.model,
                          r.profile,
                          num(r.original_bits),
                          num(r.huffman_bits),
                          ratio(r.original_bits, r.fixed_bits),
                          ratio(r.original_bits, r.entropy_bits),
                          ratio(r.original_bits, r.huffman_bits),
                          num(r.mse),
                          num(r.paper_energy),
                          ratio(r.paper_energy_uncompressed, r.paper_energy),
                          num(r.hierarchy_energy),
                          ratio(r.hierarchy_energy_uncompressed, r.hierarchy_energy)};
    for (size_t i = 0; i < c.levels.size(); ++i)
      row.push_back(i < r.energy_by_level.size() ? num(r.energy_by_level[i]) : Cell{});
    t.rows.push_back(std::move(row));
  }
  return t;
}

nlohmann::json compare_json(const Comparison& c) {
  return {{"format", "dkm-compare/1"},
          {"energy_unit", c.energy_unit},
          {"levels", c.levels},
          {"configurations", to_json_rows(compare_table(c))}};
}

nlohmann::json result_json(const ReportInput& in) {
  const std::string u = unit_key(in.energy_unit);
  const ReportTotals t = report_totals(in);
  nlohmann::json by_level = nlohmann::json::object(), by_type = nlohmann::json::object();
  for (size_t i = 0; i < in.levels.size(); ++i) {
    double s = 0;
    for (const auto& l : in.layers) s += l.energy_by_level[i];
    by_level[in.levels[i]] = s;
  }
  for (size_t i = 0; i < in.data_types.size(); ++i) {
    double s = 0;
    for (const auto& l : in.layers) s += l.energy_by_type[i];
    by_type[in.data_types[i]] = s;
  }
  double sq = 0, n = 0;
  for (const auto& l : in.layers)
    if (l.compressed && std::isfinite(l.mse)) sq += l.mse * static_cast<double>(l.weights), n += static_cast<double>(l.weights);
  const Table table = report_layer_table(in);
  nlohmann::json totals = {
      {"weights", t.weights},
      {"macs", t.macs},
      {"original_bits", t.original_bits},
      {"compressed_bits", {{"fixed", t.fixed_bits}, {"entropy", t.entropy_bits}, {"huffman", t.huffman_bits}}},
      {"cr", {{"fixed", t.cr_fixed()}, {"entropy", t.cr_entropy()}, {"huffman", t.cr_huffman()}}},
      {"mse", n > 0 ? nlohmann::json(sq / n) : nlohmann::json(nullptr)},
      {"paper_energy_" + u, t.paper_energy},
      {"paper_energy_uncompressed_" + u, t.paper_energy_uncompressed},
      {"hierarchy_energy_" + u, t.hierarchy_energy},
      {"hierarchy_energy_uncompressed_" + u, t.hierarchy_energy_uncompressed},
      {"hierarchy_by_level_" + u, by_level},
      {"hierarchy_by_data_type_" + u, by_type}};
  nlohmann::json j = {{"format", "dkm-result/1"}, {"model", in.model},       {"profile", in.profile},
                      {"energy_unit", in.energy_unit}, {"plan", in.plan}, {"weights", in.weights},
                      {"batch", in.batch},             {"levels", in.levels}, {"data_types", in.data_types},
                      {"totals", totals},              {"layers", to_json_rows(table)}};
  if (in.sweep) {
    j["sweep"] = {{"cluster_rates", in.sweep->cluster_rates},
                  {"paper_energy_" + u, in.sweep->paper_energy},
                  {"hierarchy_energy_" + u, in.sweep->hierarchy_energy},
                  {"r2", std::isfinite(in.sweep->r2) ? nlohmann::json(in.sweep->r2) : nlohmann::json(nullptr)}};
  }
  j["notes"] = in.notes;
  return j;
}

void add_result_json(Comparison& into, const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) throw InputError(source, "", "a JSON object written by dkm report, estimate or compress --json");
  CompareRow row;
  row.name = source;
  row.model = json_string(j, "model");
  row.profile = json_string(j, "profile");
  const std::string format = json_string(j, "format");
  if (format == "dkm-result/1") {
    const std::string unit = json_string(j, "energy_unit");
    const std::string u = unit_key(unit);
    if (!j.contains("totals") || !j["totals"].is_object()) throw InputError(source, "totals", "an object");
    const auto& t = j["totals"];
    std::vector<std::string> levels;
    if (j.contains("levels") && j["levels"].is_array())
      for (const auto& l : j["levels"]) levels.push_back(l.is_string() ? l.get<std::string>() : "?");
    adopt_unit(into, unit, levels, source);
    row.weights = json_string(j, "weights");
    row.original_bits = json_number(t, "original_bits");
    if (t.contains("compressed_bits")) {
      row.fixed_bits = json_number(t["compressed_bits"], "fixed");
      row.entropy_bits = json_number(t["compressed_bits"], "entropy");
      row.huffman_bits = json_number(t["compressed_bits"], "huffman");
    }
    row.mse = json_number(t, "mse");
    row.macs = static_cast<int64_t>(json_number(t, "macs"));
    row.paper_energy = json_number(t, ("paper_energy_" + u).c_str());
    row.paper_energy_uncompressed = json_number(t, ("paper_energy_uncompressed_" + u).c_str());
    row.hierarchy_energy = json_number(t, ("hierarchy_energy_" + u).c_str());
    row.hierarchy_energy_uncompressed = json_number(t, ("hierarchy_energy_uncompressed_" + u).c_str());
    const std::string by = "hierarchy_by_level_" + u;
    for (const auto& l : into.levels) row.energy_by_level.push_back(t.contains(by) ? json_number(t[by], l.c_str()) : kNotComputed);
  } else if (j.contains("totals") && j.contains("energy_unit")) {  // dkm estimate --json
    const std::string unit = json_string(j, "energy_unit");
    const std::string u = unit_key(unit);
    const auto& t = j["totals"];
    std::vector<std::string> levels = {"dram", "buffer", "array", "rf", "mac"};
    adopt_unit(into, unit, levels, source);
    row.macs = static_cast<int64_t>(json_number(t, "macs"));
    row.paper_energy = json_number(t, "paper_metric_energy");
    row.hierarchy_energy = json_number(t, "hierarchy_energy");
    if (j.contains("uncompressed_totals")) {
      row.paper_energy_uncompressed = json_number(j["uncompressed_totals"], "paper_metric_energy");
      row.hierarchy_energy_uncompressed = json_number(j["uncompressed_totals"], "hierarchy_energy");
    } else {
      row.paper_energy_uncompressed = row.paper_energy;
      row.hierarchy_energy_uncompressed = row.hierarchy_energy;
    }
    for (const auto& l : into.levels) {
      if (l == "mac") row.energy_by_level.push_back(json_number(t, ("hierarchy_mac_energy_" + u).c_str()));
      else if (t.contains("hierarchy_by_level"))
        row.energy_by_level.push_back(json_number(t["hierarchy_by_level"], (l + "_" + u).c_str()));
      else row.energy_by_level.push_back(kNotComputed);
    }
  } else if (j.contains("compressed_bits") && j.contains("original_bits")) {  // dkm compress --json
    row.weights = j.contains("weights") && j["weights"].is_string() ? j["weights"].get<std::string>() : "";
    row.original_bits = json_number(j, "original_bits");
    row.fixed_bits = json_number(j["compressed_bits"], "fixed");
    row.entropy_bits = json_number(j["compressed_bits"], "entropy");
    row.huffman_bits = json_number(j["compressed_bits"], "huffman");
    if (j.contains("total")) row.mse = json_number(j["total"], "mse");
  } else {
    throw InputError(source, "", "a result written by dkm report --json, dkm estimate --json or dkm compress --json");
  }
  into.rows.push_back(std::move(row));
}

std::string render_compare(const Comparison& c, const std::string& generator) {
  const Table table = compare_table(c);
  std::vector<std::string> names;
  for (const auto& r : c.rows) names.push_back(r.name);

  BarChart cr;
  cr.title = "Compression ratio per configuration, three ways";
  cr.description = "Grouped horizontal bars: fixed-length indices, entropy bound and Huffman-coded indices.";
  cr.value_title = "compression ratio [×]";
  cr.category_title = "configuration";
  cr.categories = names;
  cr.value_labels = true;
  cr.value_suffix = "×";
  Series fixed{"fixed-length indices", {}}, entropy{"entropy bound", {}}, huffman{"Huffman coded", {}};
  for (const auto& r : c.rows) {
    auto cr_of = [&](double bits) { return bits > 0 && std::isfinite(r.original_bits) ? r.original_bits / bits : 0.0; };
    fixed.values.push_back(cr_of(r.fixed_bits));
    entropy.values.push_back(cr_of(r.entropy_bits));
    huffman.values.push_back(cr_of(r.huffman_bits));
  }
  cr.series = {fixed, entropy, huffman};

  BarChart energy;
  energy.title = "Hierarchy-model energy per configuration and memory level";
  energy.description = "Stacked horizontal bars, one per configuration, one segment per memory level.";
  energy.value_title = "energy [" + (c.energy_unit.empty() ? std::string("unit") : c.energy_unit) + "]";
  energy.category_title = "configuration";
  energy.categories = names;
  energy.stacked = true;
  energy.value_labels = true;
  for (size_t i = 0; i < c.levels.size(); ++i) {
    Series s{c.levels[i], {}};
    for (const auto& r : c.rows)
      s.values.push_back(i < r.energy_by_level.size() && std::isfinite(r.energy_by_level[i]) ? r.energy_by_level[i] : 0);
    energy.series.push_back(std::move(s));
  }

  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += fmt::format("<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\n", kReportCsp);
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         "<meta name=\"color-scheme\" content=\"light dark\">\n<title>dkm compare</title>\n<style>\n" +
         chart_css() + report_page_css() + "</style>\n</head>\n<body>\n";
  out += fmt::format("<header>\n<h1>Configurations side by side</h1>\n<p class=\"meta\">{} configurations · energies "
                     "in <b>{}</b></p>\n</header>\n<main>\n",
                     c.rows.size(), xml_escape(c.energy_unit.empty() ? "—" : c.energy_unit));
  out += "<section id=\"table\">\n<h2>Results</h2>\n" +
         html_table(table, "Gains are uncompressed ÷ compressed energy; CSV columns in docs/reports.md.") +
         "</section>\n";
  out += "<section id=\"cr\">\n<h2>Compression ratio</h2>\n<figure>\n" + bar_chart(cr) + "</figure>\n</section>\n";
  if (!c.energy_unit.empty())
    out += "<section id=\"energy\">\n<h2>Energy per memory level</h2>\n<figure>\n" + bar_chart(energy) +
           "</figure>\n</section>\n";
  out += "</main>\n<footer><p>Made by " + xml_escape(generator) +
         ". Self-contained: this file loads nothing from the network.</p></footer>\n";
  out += "<script>" + std::string(report_sort_script()) + "</script>\n</body>\n</html>\n";
  return out;
}

}  // namespace dkm::reports

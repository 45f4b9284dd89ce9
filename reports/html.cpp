// The report page: summary, table and charts assembled into one self-contained HTML file.
#include "reports/html.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/core.h>

#include "reports/charts.hpp"
#include "reports/svg.hpp"

namespace dkm::reports {

namespace {

constexpr const char* kPageCss = R"CSS(
*{box-sizing:border-box}
body{margin:0;background:var(--dkm-bg);color:var(--dkm-fg);
font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","DejaVu Sans",sans-serif}
header,main,footer{max-width:1120px;margin:0 auto;padding:0 24px}
header{padding-top:28px;padding-bottom:8px;border-bottom:1px solid var(--dkm-grid)}
h1{font-size:26px;margin:0 0 4px;font-weight:650;letter-spacing:-.01em}
h2{font-size:19px;margin:40px 0 6px;font-weight:650}
h3{font-size:15px;margin:22px 0 4px;font-weight:600}
p{margin:6px 0}
.meta,.lead,figcaption,caption,footer{color:var(--dkm-muted)}
.meta{margin:0 0 8px}
nav{display:flex;flex-wrap:wrap;gap:4px 16px;font-size:14px;margin:8px 0 4px}
a{color:var(--dkm-s0)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(190px,1fr));gap:12px;margin:16px 0}
.card{border:1px solid var(--dkm-grid);border-radius:10px;padding:12px 14px;background:var(--dkm-card)}
.card h3{margin:0 0 6px;font-size:12px;text-transform:uppercase;letter-spacing:.06em;color:var(--dkm-muted)}
.card .big{font-size:24px;font-weight:650;font-variant-numeric:tabular-nums}
.card dl{display:grid;grid-template-columns:minmax(0,1fr) auto;gap:2px 10px;margin:6px 0 0;font-size:13px}
.card .unit{margin:6px 0 0;font-size:12px;color:var(--dkm-muted)}
.card dt{color:var(--dkm-muted)}.card dd{margin:0;text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.notes{border-left:3px solid var(--dkm-s1);padding:4px 12px;margin:12px 0;font-size:14px}
figure{margin:14px 0 26px}
figcaption{font-size:13px;margin-top:4px;max-width:960px}
.table-wrap{overflow-x:auto;border:1px solid var(--dkm-grid);border-radius:10px}
#layers .table-wrap{width:calc(100vw - 48px);max-width:1872px;margin-left:50%;transform:translateX(-50%)}
table{border-collapse:collapse;width:100%;font-size:12.5px;font-variant-numeric:tabular-nums}
caption{caption-side:bottom;text-align:left;padding:6px 10px;font-size:12px}
th,td{padding:5px 8px;border-bottom:1px solid var(--dkm-grid);white-space:nowrap;text-align:left}
.num{text-align:right}
thead th{position:sticky;top:0;background:var(--dkm-card);font-weight:600;white-space:normal;vertical-align:bottom}
thead th button{all:unset;cursor:pointer;display:block;width:100%}
thead th button:focus-visible{outline:2px solid var(--dkm-s0);outline-offset:2px}
thead th[aria-sort=ascending] button::after{content:" \25B2";font-size:10px}
thead th[aria-sort=descending] button::after{content:" \25BC";font-size:10px}
tbody tr:hover{background:var(--dkm-hover)}
tbody th,tfoot th{font-weight:500}
tfoot td,tfoot th{font-weight:650;border-bottom:none;border-top:2px solid var(--dkm-axis)}
footer{margin-top:40px;padding-top:12px;padding-bottom:40px;border-top:1px solid var(--dkm-grid);font-size:13px}
:root{--dkm-card:#f6f8fa;--dkm-hover:#eef2f6}
@media (prefers-color-scheme:dark){:root{--dkm-card:#161c24;--dkm-hover:#1c2430}}
)CSS";

// Sorts a table by the clicked column, numbers numerically (data-v), empty cells last; keyboard too.
constexpr const char* kSortScript = R"JS(
document.querySelectorAll("table.sortable").forEach(function (table) {
  var heads = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th, col) {
    th.querySelector("button").addEventListener("click", function () {
      var asc = th.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[col].getAttribute("data-v"), y = b.cells[col].getAttribute("data-v");
        if (x === "" || y === "") return (x === "") - (y === "");
        var nx = Number(x), ny = Number(y);
        var r = isNaN(nx) || isNaN(ny) ? x.localeCompare(y) : nx - ny;
        return asc ? r : -r;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
)JS";

std::string esc(const std::string& s) { return xml_escape(s); }

std::string figure(const std::string& svg, const std::string& caption) {
  return "<figure>\n" + svg + "<figcaption>" + esc(caption) + "</figcaption>\n</figure>\n";
}

std::string bits_text(double bits) {
  const double bytes = bits / 8;
  if (bytes >= 1024.0 * 1024.0) return fmt::format("{:.2f} MiB", bytes / (1024.0 * 1024.0));
  if (bytes >= 1024.0) return fmt::format("{:.1f} KiB", bytes / 1024.0);
  return fmt::format("{:.0f} B", bytes);
}

std::string ratio_text(double num, double den) {
  if (!(den > 0) || !std::isfinite(num)) return "–";
  return short_number(num / den, 3) + "×";
}

void check_input(const ReportInput& in) {
  for (const auto& l : in.layers) {
    if (l.energy_by_level.size() != in.levels.size())
      throw std::invalid_argument(fmt::format("report: layer '{}' has {} level energies for {} levels", l.name,
                                              l.energy_by_level.size(), in.levels.size()));
    if (l.energy_by_type.size() != in.data_types.size())
      throw std::invalid_argument(fmt::format("report: layer '{}' has {} data-type energies for {} types", l.name,
                                              l.energy_by_type.size(), in.data_types.size()));
  }
  if (in.filters) {
    int64_t n = 1;
    for (auto d : in.filters->shape) n *= d;
    if (in.filters->shape.size() != 4 || static_cast<int64_t>(in.filters->original.size()) != n ||
        in.filters->compressed.size() != in.filters->original.size())
      throw std::invalid_argument("report: filter tensors do not match their OIHW shape");
  }
}

// Each layer's mapping from the mapping search, as a list that wraps (long loop nests never widen the page).
std::string mapping_panel(const ReportInput& in) {
  std::string items;
  for (const ReportLayer& l : in.layers)
    if (!l.mapping.empty())
      items += fmt::format("<li><strong>{}</strong>: {} {}, {} cycles; <code>{}</code></li>\n", esc(l.name),
                           short_number(l.mapped_energy, 4), esc(in.energy_unit), short_number(static_cast<double>(l.cycles)),
                           esc(l.mapping));
  if (items.empty()) return "";
  return "<details class=\"mappings\">\n<summary>Mappings: the energy-optimal loop nest of each layer (one group; per "
         "level its loops outermost first; x, y: spatial) with its energy and cycles</summary>\n<ul>\n" +
         items + "</ul>\n</details>\n";
}

std::string summary(const ReportInput& in, const ReportTotals& t) {
  const std::string& u = in.energy_unit;
  std::string out = "<section id=\"summary\">\n<h2>Summary</h2>\n<div class=\"cards\">\n";
  out += fmt::format(
      "<div class=\"card\"><h3>Model</h3><div class=\"big\">{}</div><dl><dt>conv + FC layers</dt><dd>{}</dd>"
      "<dt>weights</dt><dd>{}</dd><dt>MACs (batch {})</dt><dd>{}</dd></dl></div>\n",
      esc(in.model), in.layers.size(), short_number(static_cast<double>(t.weights)), in.batch,
      short_number(static_cast<double>(t.macs)));
  out += fmt::format(
      "<div class=\"card\"><h3>Compression ratio</h3><div class=\"big\">{}</div><dl>"
      "<dt>fixed-length</dt><dd>{}</dd><dt>entropy bound</dt><dd>{}</dd><dt>Huffman coded</dt><dd>{}</dd>"
      "</dl></div>\n",
      ratio_text(t.original_bits, t.huffman_bits), ratio_text(t.original_bits, t.fixed_bits),
      ratio_text(t.original_bits, t.entropy_bits), ratio_text(t.original_bits, t.huffman_bits));
  out += fmt::format(
      "<div class=\"card\"><h3>Size</h3><div class=\"big\">{}</div><dl><dt>32-bit original</dt><dd>{}</dd>"
      "<dt>fixed-length</dt><dd>{}</dd><dt>Huffman coded</dt><dd>{}</dd></dl></div>\n",
      bits_text(t.huffman_bits), bits_text(t.original_bits), bits_text(t.fixed_bits), bits_text(t.huffman_bits));
  auto energy_card = [&](const char* name, double before, double after) {
    return fmt::format(
        "<div class=\"card\"><h3>Energy · {}</h3><div class=\"big\">{}</div><dl>"
        "<dt>uncompressed</dt><dd>{}</dd><dt>compressed</dt><dd>{}</dd><dt>per MAC</dt><dd>{}</dd></dl>"
        "<p class=\"unit\">in {}</p></div>\n",
        name, ratio_text(before, after), short_number(before, 4), short_number(after, 4),
        t.macs > 0 ? short_number(after / static_cast<double>(t.macs), 4) : "–", esc(u));
  };
  out += energy_card("hierarchy model", t.hierarchy_energy_uncompressed, t.hierarchy_energy);
  out += energy_card("paper metric", t.paper_energy_uncompressed, t.paper_energy);
  out += "</div>\n<p class=\"lead\">Big numbers are gains: uncompressed ÷ compressed (higher is better). "
         "Compression ratios count all conv and linear weights and biases at 32 bits against codebooks "
         "(32-bit), indices and biases; batch-norm parameters are not counted.</p>\n";
  if (!in.notes.empty()) {
    out += "<div class=\"notes\">\n";
    for (const auto& n : in.notes) out += "<p>" + esc(n) + "</p>\n";
    out += "</div>\n";
  }
  return out + "</section>\n";
}

std::vector<std::string> layer_names(const ReportInput& in) {
  std::vector<std::string> names;
  for (const auto& l : in.layers) names.push_back(l.name);
  return names;
}

std::string energy_section(const ReportInput& in) {
  std::string out = "<section id=\"energy\">\n<h2>Energy per layer</h2>\n<p class=\"lead\">Row-stationary hierarchy "
                    "model of the compressed model, per layer, split by where the energy is spent.</p>\n";
  BarChart by_level;
  by_level.title = "Energy per layer and memory level";
  by_level.description = "Horizontal stacked bars, one per layer, one segment per memory level.";
  by_level.value_title = "energy [" + in.energy_unit + "]";
  by_level.category_title = "layer";
  by_level.categories = layer_names(in);
  by_level.stacked = true;
  by_level.value_labels = true;
  for (size_t i = 0; i < in.levels.size(); ++i) {
    Series s{in.levels[i], {}};
    for (const auto& l : in.layers) s.values.push_back(l.energy_by_level[i]);
    by_level.series.push_back(std::move(s));
  }
  out += "<h3>By memory level</h3>\n" +
         figure(bar_chart(by_level), "Each bar is one layer's energy; segments are the memory levels "
                                     "(outermost first) and the MAC arithmetic.");
  BarChart by_type = by_level;
  by_type.title = "Energy per layer and data type";
  by_type.description = "Horizontal stacked bars, one per layer, one segment per data type.";
  by_type.series.clear();
  for (size_t i = 0; i < in.data_types.size(); ++i) {
    Series s{in.data_types[i], {}};
    for (const auto& l : in.layers) s.values.push_back(l.energy_by_type[i]);
    by_type.series.push_back(std::move(s));
  }
  out += "<h3>By data type</h3>\n" +
         figure(bar_chart(by_type), "The same energies split by what moves: weights (indices when shared), "
                                    "input activations, partial sums and outputs, codebook reads.");
  return out + "</section>\n";
}

std::string compression_section(const ReportInput& in) {
  std::string out = "<section id=\"compression\">\n<h2>Compression per layer</h2>\n";
  BarChart cr;
  cr.title = "Compression ratio per layer";
  cr.description = "Horizontal bars, one per layer: original size divided by compressed size.";
  cr.value_title = "compression ratio, Huffman-coded indices [×]";
  cr.category_title = "layer";
  cr.categories = layer_names(in);
  cr.value_labels = true;
  cr.value_suffix = "×";
  Series s{"compression ratio", {}};
  for (const auto& l : in.layers) s.values.push_back(l.huffman_bits > 0 ? l.original_bits / l.huffman_bits : 0);
  cr.series.push_back(std::move(s));
  out += figure(bar_chart(cr), "Layers left uncompressed (fully connected layers, excluded layers) stay at 1×.");

  out += "<h2 id=\"versus\">Uncompressed against compressed</h2>\n";
  BarChart size;
  size.title = "Size per layer, uncompressed and compressed";
  size.description = "Grouped horizontal bars, two per layer: 32-bit original and Huffman-coded compressed size.";
  size.value_title = "size [KiB]";
  size.category_title = "layer";
  size.categories = cr.categories;
  Series before{"uncompressed (32-bit float)", {}}, after{"compressed (Huffman-coded indices)", {}};
  for (const auto& l : in.layers) {
    before.values.push_back(l.original_bits / 8192.0);
    after.values.push_back(l.huffman_bits / 8192.0);
  }
  size.series = {before, after};
  size.value_labels = true;  // the compressed bars are slivers beside the originals: say their size
  size.value_suffix = " KiB";
  out += "<h3>Storage</h3>\n" + figure(bar_chart(size), "Weights, biases, codebooks and indices; 1 KiB = 1024 bytes.");

  BarChart energy = size;
  energy.value_labels = false;
  energy.value_suffix.clear();
  energy.title = "Energy per layer, uncompressed and compressed";
  energy.description = "Grouped horizontal bars, two per layer: hierarchy-model energy before and after compression.";
  energy.value_title = "energy, hierarchy model [" + in.energy_unit + "]";
  Series e0{"uncompressed", {}}, e1{"compressed", {}};
  for (const auto& l : in.layers) {
    e0.values.push_back(l.hierarchy_energy_uncompressed);
    e1.values.push_back(l.hierarchy_energy);
  }
  energy.series = {e0, e1};
  out += "<h3>Energy</h3>\n" + figure(bar_chart(energy), "Weight sharing cuts weight traffic; input and partial-sum "
                                                         "traffic stay, so the energy gain is below the CR.");
  return out + "</section>\n";
}

std::string sweep_section(const ReportInput& in) {
  std::string out = "<section id=\"sweep\">\n<h2>Cluster-rate sweep</h2>\n";
  if (!in.sweep || in.sweep->cluster_rates.empty())
    return out + "<p class=\"lead\">No sweep was run for this report.</p>\n</section>\n";
  const ReportSweep& sw = *in.sweep;
  auto relative = [](const std::vector<double>& v, double base) {
    double denom = base > 0 ? base : (v.empty() ? 1 : *std::max_element(v.begin(), v.end()));
    std::vector<double> r;
    for (double x : v) r.push_back(denom > 0 ? x / denom : 0);
    return r;
  };
  LinePlot p;
  p.title = "Energy against cluster rate, both metrics";
  p.description = "Line plot: paper metric and hierarchy model energy, relative to the uncompressed model, "
                  "for each cluster rate on a logarithmic axis.";
  p.x_title = "cluster rate K/N (log scale)";
  p.y_title = "energy relative to uncompressed [1 = dense]";
  p.log_x = std::all_of(sw.cluster_rates.begin(), sw.cluster_rates.end(), [](double r) { return r > 0; });
  p.series = {{"paper metric", sw.cluster_rates, relative(sw.paper_energy, sw.paper_uncompressed)},
              {"row-stationary hierarchy model", sw.cluster_rates,
               relative(sw.hierarchy_energy, sw.hierarchy_uncompressed)}};
  if (std::isfinite(sw.r2)) p.note = fmt::format("R² = {:.4f}", sw.r2);
  else if (!sw.r2_undefined.empty()) p.note = "R² undefined: " + sw.r2_undefined;
  std::string plan_note;
  if (sw.plan_rate > 0) {
    p.series.push_back({"this plan, paper metric", {sw.plan_rate}, relative({sw.plan_paper_energy}, sw.paper_uncompressed)});
    p.series.push_back({"this plan, hierarchy model", {sw.plan_rate},
                        relative({sw.plan_hierarchy_energy}, sw.hierarchy_uncompressed)});
    plan_note = fmt::format(" The single markers are this report's plan at its overall K/N = {} (the sum of K over "
                            "the sum of N of its shared layers), with its own per-layer K and labels.",
                            short_number(sw.plan_rate, 3));
  }
  out += figure(line_plot(p), "Every conv layer shared row-wise at the given K/N with uniform labels (the paper's "
                              "validation experiment). R² is the coefficient of determination of a linear fit of "
                              "the hierarchy energy on the paper metric." + plan_note);
  return out + "</section>\n";
}

// The first filters and input channels of the layer as tiles of kh x kw cells.
HeatmapPanel filter_panel(const std::string& caption, const std::vector<float>& w, const std::vector<int64_t>& s,
                          int64_t filters, int64_t channels) {
  const int64_t I = s[1], kh = s[2], kw = s[3];
  HeatmapPanel p{caption, filters * kh, channels * kw, {}};
  p.values.resize(static_cast<size_t>(p.rows * p.cols));
  for (int64_t o = 0; o < filters; ++o)
    for (int64_t i = 0; i < channels; ++i)
      for (int64_t y = 0; y < kh; ++y)
        for (int64_t x = 0; x < kw; ++x)
          p.values[static_cast<size_t>((o * kh + y) * p.cols + i * kw + x)] =
              w[static_cast<size_t>(((o * I + i) * kh + y) * kw + x)];
  return p;
}

std::string filters_section(const ReportInput& in) {
  std::string out = "<section id=\"filters\">\n<h2>Filters before and after weight sharing</h2>\n";
  if (!in.filters) return out + "<p class=\"lead\">No weights were given, so there are no filters to show.</p>\n</section>\n";
  const ReportFilters& f = *in.filters;
  const int64_t filters = std::min<int64_t>(f.shape[0], 8), channels = std::min<int64_t>(f.shape[1], 8);
  Heatmap m;
  m.title = "Filters of " + f.layer + " before and after weight sharing";
  m.description = fmt::format("Heat maps of the first {} filters and {} input channels of {}: original weights "
                              "and the shared centres that replace them.", filters, channels, f.layer);
  m.value_title = "weight value";
  m.row_title = fmt::format("output filter ({} rows each)", f.shape[2]);
  m.col_title = fmt::format("input channel ({} columns each)", f.shape[3]);
  m.tile_rows = f.shape[2];
  m.tile_cols = f.shape[3];
  m.panels = {filter_panel("original", f.original, f.shape, filters, channels),
              filter_panel(fmt::format("after k-means (K = {})", f.k), f.compressed, f.shape, filters, channels)};
  // Heavy-tailed weights would wash the map out: the colour saturates at the 99th percentile of |w|.
  std::vector<double> mags;
  for (double v : m.panels[0].values) mags.push_back(std::fabs(v));
  if (!mags.empty()) {
    const size_t at = std::min(mags.size() - 1, static_cast<size_t>(0.99 * static_cast<double>(mags.size())));
    std::nth_element(mags.begin(), mags.begin() + static_cast<std::ptrdiff_t>(at), mags.end());
    m.scale_max = mags[at];
  }
  out += figure(heatmap(m), fmt::format("Layer {} ({}x{}x{}x{}); each tile is one kernel, red positive, blue "
                                        "negative, opacity by magnitude on one shared scale that saturates at the 99th percentile of |weight|.",
                                        f.layer, f.shape[0], f.shape[1], f.shape[2], f.shape[3]));
  return out + "</section>\n";
}

}  // namespace

const char* report_page_css() { return kPageCss; }
const char* report_sort_script() { return kSortScript; }

std::string render_report(const ReportInput& in) {
  check_input(in);
  const ReportTotals totals = report_totals(in);
  std::string title = "dkm report: " + in.model + (in.plan.empty() ? "" : " · " + in.plan) + " on " + in.profile;
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += fmt::format("<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\n", kReportCsp);
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         "<meta name=\"color-scheme\" content=\"light dark\">\n";
  out += "<title>" + esc(title) + "</title>\n<style>\n" + chart_css() + kPageCss + "</style>\n</head>\n<body>\n";
  out += "<header>\n<h1>" + esc(in.model) + "</h1>\n";
  out += fmt::format("<p class=\"meta\">hardware profile <b>{}</b> · plan <b>{}</b> · weights <b>{}</b> · batch {} · "
                     "energies in <b>{}</b></p>\n",
                     esc(in.profile), esc(in.plan.empty() ? "none" : in.plan),
                     esc(in.weights.empty() ? "none" : in.weights), in.batch, esc(in.energy_unit));
  out += "<nav aria-label=\"sections\"><a href=\"#summary\">Summary</a><a href=\"#layers\">Layers</a>"
         "<a href=\"#energy\">Energy</a><a href=\"#compression\">Compression</a>"
         "<a href=\"#versus\">Uncompressed vs compressed</a><a href=\"#sweep\">Sweep</a>"
         "<a href=\"#filters\">Filters</a></nav>\n</header>\n<main>\n";
  out += summary(in, totals);
  out += "<section id=\"layers\">\n<h2>Layers</h2>\n<p class=\"lead\">Click a column header to sort. Energies are "
         "for the whole batch; ratios are uncompressed ÷ compressed.</p>\n";
  out += html_table(report_layer_table(in), "Per-layer results; the CSV columns of the same names are described in "
                                            "docs/reports.md.");
  out += mapping_panel(in);
  out += "</section>\n";
  out += energy_section(in);
  out += compression_section(in);
  out += sweep_section(in);
  out += filters_section(in);
  out += "</main>\n<footer>\n<p>Made by " + esc(in.generator.empty() ? std::string("dkm") : in.generator) +
         ". Self-contained: this file loads nothing from the network.</p>\n</footer>\n";
  out += "<script>" + std::string(kSortScript) + "</script>\n</body>\n</html>\n";
  return out;
}

}  // namespace dkm::reports

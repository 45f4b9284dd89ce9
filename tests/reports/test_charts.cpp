#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "reports/charts.hpp"
#include "reports/svg.hpp"
#include "tests/support.hpp"

using namespace dkm::reports;
using dkm::test::count;

namespace {

// Every opened element is closed: a cheap well-formedness check for the generated SVG.
bool balanced(const std::string& svg, const std::string& tag) {
  size_t self_closing = 0;
  for (size_t pos = svg.find("<" + tag + " "); pos != std::string::npos; pos = svg.find("<" + tag + " ", pos + 1))
    if (svg[svg.find('>', pos) - 1] == '/') ++self_closing;
  return count(svg, "<" + tag + " ") + count(svg, "<" + tag + ">") == count(svg, "</" + tag + ">") + self_closing;
}

}  // namespace

TEST_CASE("svg helpers: escaping, nice ticks, labels") {
  CHECK(xml_escape("a<b & \"c\" 'd'>") == "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;");

  Ticks t = nice_ticks(0, 87, 5);
  CHECK(t.step == 20);
  CHECK(t.lo == 0);
  CHECK(t.hi == 100);
  CHECK(t.values == std::vector<double>{0, 20, 40, 60, 80, 100});

  t = nice_ticks(-0.3, 0.7, 5);
  CHECK(t.step == doctest::Approx(0.2));
  CHECK(t.values.size() == 7);  // -0.4 .. 0.8
  CHECK(t.values[2] == 0);  // exactly zero, no -0 or 1e-17

  t = nice_ticks(5, 5, 5);  // degenerate range is widened
  CHECK(t.lo < 5);
  CHECK(t.hi > 5);

  Ticks l = log_ticks(0.012, 0.5);
  CHECK(l.lo == doctest::Approx(0.01));
  CHECK(l.hi == doctest::Approx(1));
  CHECK(l.values.size() == 7);  // 0.01 0.02 0.05 0.1 0.2 0.5 1

  CHECK(tick_label(0, 20) == "0");
  CHECK(tick_label(0.25, 0.05) == "0.25");
  CHECK(tick_label(40, 20) == "40");
  CHECK(tick_label(2500000, 500000) == "2.5M");
  CHECK(tick_label(3e9, 1e9) == "3G");
  CHECK(tick_label(15000, 5000) == "15k");
  CHECK(short_number(1234567) == "1.235M");
  CHECK(short_number(0.012345, 3) == "0.0123");
  CHECK(short_number(9999.7) == "10000");
  CHECK(short_number(45.26, 3) == "45.3");
}

TEST_CASE("bar chart: stacked bars have one mark per layer and level, axes, legend, escaped names") {
  BarChart c;
  c.title = "Energy per memory level";
  c.description = "one bar per layer";
  c.value_title = "energy [pJ]";
  c.category_title = "layer";
  c.categories = {"conv<1>", "fc&2", "head"};
  c.series = {{"DRAM", {100, 200, 0}}, {"buffer", {10, 20, 5}}, {"RF \"x\"", {1, 2, 3}}};
  c.stacked = true;
  const std::string svg = bar_chart(c);
  CHECK(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"dkm-chart dkm-stacked-bars\" role=\"img\"", 0) ==
        0);
  CHECK(count(svg, "class=\"mark ") == 9);
  CHECK(svg.find("<title>Energy per memory level</title>") != std::string::npos);
  CHECK(svg.find("<desc>one bar per layer</desc>") != std::string::npos);
  CHECK(svg.find(">energy [pJ]</text>") != std::string::npos);
  CHECK(svg.find(">layer</text>") != std::string::npos);
  CHECK(svg.find("conv&lt;1&gt;") != std::string::npos);
  CHECK(svg.find("fc&amp;2") != std::string::npos);
  CHECK(svg.find("RF &quot;x&quot;") != std::string::npos);
  CHECK(svg.find("conv<1>") == std::string::npos);
  CHECK(count(svg, "class=\"swatch") == 3);  // legend
  // Axis 0..250 in steps of 50 (largest stack is 222).
  CHECK(svg.find(">250</text>") != std::string::npos);
  CHECK(svg.find(">50</text>") != std::string::npos);
  CHECK(balanced(svg, "svg"));
  CHECK(balanced(svg, "text"));
  CHECK(balanced(svg, "rect"));
  CHECK(balanced(svg, "g"));
}

TEST_CASE("bar chart: single series has no legend and labels each bar") {
  BarChart c;
  c.title = "CR per layer";
  c.value_title = "compression ratio [x]";
  c.category_title = "layer";
  c.categories = {"a", "b"};
  c.series = {{"CR", {45.26, 1}}};
  c.value_labels = true;
  c.value_suffix = "x";
  const std::string svg = bar_chart(c);
  CHECK(count(svg, "class=\"mark ") == 2);
  CHECK(count(svg, "class=\"swatch") == 0);
  CHECK(svg.find(">45.3x</text>") != std::string::npos);
  CHECK(svg.find("<title>a: 45.26x</title>") != std::string::npos);
}

TEST_CASE("bar chart: grouped bars and bad input") {
  BarChart c;
  c.categories = {"a", "b"};
  c.series = {{"before", {4, 5}}, {"after", {1, -1}}};
  const std::string svg = bar_chart(c);
  CHECK(count(svg, "class=\"mark ") == 4);
  CHECK(svg.find("<title>b · after: -1</title>") != std::string::npos);

  c.series[1].values.pop_back();
  CHECK_THROWS_AS(bar_chart(c), std::invalid_argument);
  c.series[1].values = {1, -1};
  c.stacked = true;
  CHECK_THROWS_AS(bar_chart(c), std::invalid_argument);
}

TEST_CASE("line plot: two series of points with a log x axis and an R^2 note") {
  LinePlot p;
  p.title = "Sweep";
  p.x_title = "cluster rate K/N";
  p.y_title = "energy [relative to uncompressed]";
  p.series = {{"paper metric", {0.5, 0.1, 0.01}, {0.9, 0.5, 0.3}}, {"hierarchy <RS>", {0.5, 0.1, 0.01}, {0.95, 0.6, 0.35}}};
  p.log_x = true;
  p.note = "R² = 0.9931";
  const std::string svg = line_plot(p);
  CHECK(count(svg, "class=\"mark ") == 6);
  CHECK(count(svg, "<polyline class=\"line ") == 2);
  CHECK(svg.find(">R² = 0.9931</text>") != std::string::npos);
  CHECK(svg.find(">cluster rate K/N</text>") != std::string::npos);
  CHECK(svg.find("rotate(-90)\" text-anchor=\"middle\">energy [relative to uncompressed]</text>") !=
        std::string::npos);
  CHECK(svg.find("hierarchy &lt;RS&gt;") != std::string::npos);
  CHECK(svg.find(">0.01</text>") != std::string::npos);  // log ticks
  CHECK(svg.find(">0.1</text>") != std::string::npos);
  CHECK(count(svg, "class=\"swatch") == 2);
  CHECK(balanced(svg, "svg"));
  CHECK(balanced(svg, "g"));

  p.series[0].x[0] = 0;  // zero on a log axis
  CHECK_THROWS_AS(line_plot(p), std::invalid_argument);
}

TEST_CASE("heat map: one mark per cell, shared symmetric scale, tile outlines") {
  Heatmap m;
  m.title = "conv1 filters";
  m.value_title = "weight";
  m.row_title = "output channel";
  m.col_title = "input channel";
  m.panels = {{"original", 2, 4, {-2, -1, 0, 1, 0.5, 0.25, 2, -0.5}}, {"after <k-means>", 2, 4, {-1, -1, 0, 1, 1, 0, 1, -1}}};
  m.tile_rows = 2;
  m.tile_cols = 2;
  const std::string svg = heatmap(m);
  CHECK(count(svg, "class=\"mark ") == 16);
  CHECK(count(svg, "class=\"mark neg\"") == 6);
  CHECK(count(svg, "class=\"tile\"") == 2 + 2 + 1);  // 2 tiles per panel + the legend frame
  CHECK(svg.find("fill-opacity=\"1.000\"><title>original [0, 0] = -2</title>") != std::string::npos);
  CHECK(svg.find("fill-opacity=\"0.500\"><title>after &lt;k-means&gt; [0, 0] = -1</title>") != std::string::npos);
  CHECK(svg.find(">-2</text>") != std::string::npos);  // legend ends at -max and +max
  CHECK(svg.find(">2</text>") != std::string::npos);
  CHECK(balanced(svg, "rect"));

  m.panels[0].values.pop_back();
  CHECK_THROWS_AS(heatmap(m), std::invalid_argument);
}

TEST_CASE("chart css: light and dark colour schemes define every series colour") {
  const std::string css = chart_css();
  CHECK(css.find("@media (prefers-color-scheme:dark)") != std::string::npos);
  for (int i = 0; i < 8; ++i) CHECK(count(css, "--dkm-s" + std::to_string(i) + ":") == 2);
  CHECK(css.find("http") == std::string::npos);
}

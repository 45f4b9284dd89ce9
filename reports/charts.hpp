#pragma once
// Inline SVG charts for the HTML report: pure functions from a plain description to an SVG string.
//
// Every chart is `<svg class="dkm-chart" role="img">` with a <title> and <desc> for screen readers,
// axes with ticks and a titled axis (units in the title), a legend when it has several series, and one
// element of class "mark" per data value (each with its own <title> tooltip), so tests and the browser
// check can count what was drawn. Colours come from CSS variables (chart_css()), which switch with
// prefers-color-scheme, so the same SVG reads well on light and dark pages. Names are XML-escaped.
#include <cstdint>
#include <string>
#include <vector>

namespace dkm::reports {

// One named series of values, one per category (bars) or per point (plots).
struct Series {
  std::string name;  // legend entry
  std::vector<double> values;
};

// Horizontal bars, one row per category (layers read best down the page). Stacked: the series are the
// segments of one bar (values must be >= 0). Grouped: one thin bar per series side by side.
struct BarChart {
  std::string title;        // <title>: what the chart shows
  std::string description;  // <desc>: one sentence for screen readers
  std::string value_title;  // value axis title with its unit, e.g. "energy [pJ]"
  std::string category_title;  // e.g. "layer"
  std::vector<std::string> categories;
  std::vector<Series> series;  // each with categories.size() values
  bool stacked = false;
  bool value_labels = false;  // print each bar's value (stacked: the bar's total) at its end
  std::string value_suffix;   // appended to value labels and tooltips, e.g. "x" or " pJ"
};

// Points joined by lines, several series on one pair of axes; `note` is printed in the plot's top-left
// corner (e.g. "R² = 0.9931").
struct XYSeries {
  std::string name;
  std::vector<double> x, y;
};
struct LinePlot {
  std::string title, description;
  std::string x_title, y_title;  // with units
  std::vector<XYSeries> series;
  bool log_x = false;        // logarithmic x axis (all x > 0)
  bool y_from_zero = true;   // the y axis starts at 0 (honest for ratios and energies)
  std::string note;
};

// A matrix of values drawn as coloured cells: blue below zero, red above, opacity by magnitude.
struct HeatmapPanel {
  std::string caption;  // shown above the panel, e.g. "original"
  int64_t rows = 0, cols = 0;
  std::vector<double> values;  // rows x cols, row-major
};
// Panels drawn side by side on one symmetric colour scale, with a colour legend. Thin gaps separate
// tiles of tile_rows x tile_cols cells (e.g. one kernel each), so filters stay distinguishable.
struct Heatmap {
  std::string title, description;
  std::string value_title;  // colour legend title with unit, e.g. "weight value"
  std::string row_title, col_title;  // what the rows and columns are, e.g. "output channel (3 rows each)"
  std::vector<HeatmapPanel> panels;
  int64_t tile_rows = 1, tile_cols = 1;
  // Colour scale limit: values beyond +-scale_max saturate. 0 = the largest magnitude (a heavy tail
  // then washes everything else out, so callers may pass a high percentile instead).
  double scale_max = 0;
};

// Throws std::invalid_argument when the series do not match the categories or a stacked value is
// negative (a programming error in the caller, not bad user input).
std::string bar_chart(const BarChart& chart);
std::string line_plot(const LinePlot& plot);
std::string heatmap(const Heatmap& map);

// The stylesheet the charts need: colour variables for light and dark schemes, fonts, axis styles.
// Include it once in the page that holds the charts.
std::string chart_css();

}  // namespace dkm::reports

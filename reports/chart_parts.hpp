#pragma once
// Internal to reports/: the pieces every chart draws the same way (frame, legend, axes). Not part of the
// public chart API (reports/charts.hpp).
#include <string>
#include <vector>

#include "reports/svg.hpp"

namespace dkm::reports::parts {

constexpr double kWidth = 960;       // viewBox width of every chart; CSS scales it to the page
constexpr double kFontPx = 12;       // tick and label font size
constexpr double kLegendRowPx = 22;  // height of one legend row

// Coordinates with one decimal: plenty for a 760-wide viewBox and keeps the file small.
std::string px(double v);

// <svg ...> with the accessible <title> and <desc>; close with "</svg>\n".
std::string open_svg(double width, double height, const std::string& kind, const std::string& title,
                     const std::string& description);

enum class Marker { square, circle, triangle, diamond };

// Legend entries laid out left to right from (x, y), wrapping at `max_width`. Returns the SVG and sets
// `height` to the space it used (0 for no entries).
std::string legend(const std::vector<std::string>& names, double x, double y, double max_width,
                   bool markers, double& height);

// Height the legend will need, for laying out the rest of the chart first.
double legend_height(const std::vector<std::string>& names, double max_width);

// One marker shape of series `index` centred on (cx, cy), with the given class and tooltip.
std::string marker(Marker shape, double cx, double cy, double r, const std::string& css_class,
                   const std::string& tooltip);
Marker marker_for(size_t series_index);

// Maps a value on a linear or log axis to pixels.
struct Scale {
  double d0 = 0, d1 = 1;  // domain
  double r0 = 0, r1 = 1;  // range in pixels
  bool log = false;
  double operator()(double v) const;
};

}  // namespace dkm::reports::parts

#include "reports/chart_parts.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/core.h>

namespace dkm::reports::parts {

std::string px(double v) {
  if (!std::isfinite(v)) v = 0;
  std::string s = fmt::format("{:.1f}", v);
  if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
  if (s == "-0") s = "0";
  return s;
}

std::string open_svg(double width, double height, const std::string& kind, const std::string& title,
                     const std::string& description) {
  return fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"dkm-chart dkm-{}\" role=\"img\" viewBox=\"0 0 {} {}\" "
      "width=\"{}\" height=\"{}\">\n<title>{}</title>\n<desc>{}</desc>\n",
      kind, px(width), px(height), px(width), px(height), xml_escape(title), xml_escape(description));
}

namespace {

constexpr double kSwatch = 10, kSwatchGap = 6, kEntryGap = 18;

double entry_width(const std::string& name) { return kSwatch + kSwatchGap + text_width(name, kFontPx) + kEntryGap; }

}  // namespace

double legend_height(const std::vector<std::string>& names, double max_width) {
  if (names.empty()) return 0;
  double x = 0, rows = 1;
  for (const auto& n : names) {
    const double w = entry_width(n);
    if (x > 0 && x + w > max_width) rows += 1, x = 0;
    x += w;
  }
  return rows * kLegendRowPx;
}

std::string legend(const std::vector<std::string>& names, double x0, double y0, double max_width, bool markers,
                   double& height) {
  height = legend_height(names, max_width);
  if (names.empty()) return "";
  std::string out = "<g class=\"legend\">\n";
  double x = 0, y = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    const double w = entry_width(names[i]);
    if (x > 0 && x + w > max_width) y += kLegendRowPx, x = 0;
    const double cy = y0 + y + kLegendRowPx / 2;
    const std::string cls = fmt::format("s{}", i % 8);
    if (markers)
      out += marker(marker_for(i), x0 + x + kSwatch / 2, cy, 4.5, "swatch " + cls, "");
    else
      out += fmt::format("<rect class=\"swatch {}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"2\"/>\n", cls,
                         px(x0 + x), px(cy - kSwatch / 2), px(kSwatch), px(kSwatch));
    out += fmt::format("<text x=\"{}\" y=\"{}\" dominant-baseline=\"central\">{}</text>\n",
                       px(x0 + x + kSwatch + kSwatchGap), px(cy), xml_escape(names[i]));
    x += w;
  }
  return out + "</g>\n";
}

Marker marker_for(size_t series_index) {
  constexpr Marker order[] = {Marker::circle, Marker::square, Marker::triangle, Marker::diamond};
  return order[series_index % 4];
}

std::string marker(Marker shape, double cx, double cy, double r, const std::string& css_class,
                   const std::string& tooltip) {
  const std::string tip = tooltip.empty() ? "" : "<title>" + xml_escape(tooltip) + "</title>";
  auto element = [&](const std::string& tag, const std::string& attrs) {
    if (tip.empty()) return fmt::format("<{} class=\"{}\" {}/>\n", tag, css_class, attrs);
    return fmt::format("<{} class=\"{}\" {}>{}</{}>\n", tag, css_class, attrs, tip, tag);
  };
  switch (shape) {
    case Marker::circle:
      return element("circle", fmt::format("cx=\"{}\" cy=\"{}\" r=\"{}\"", px(cx), px(cy), px(r)));
    case Marker::square:
      return element("rect", fmt::format("x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"", px(cx - r * 0.9),
                                         px(cy - r * 0.9), px(1.8 * r), px(1.8 * r)));
    case Marker::triangle:
      return element("path", fmt::format("d=\"M{} {}L{} {}L{} {}Z\"", px(cx), px(cy - 1.15 * r), px(cx + 1.1 * r),
                                         px(cy + 0.85 * r), px(cx - 1.1 * r), px(cy + 0.85 * r)));
    case Marker::diamond:
      return element("path", fmt::format("d=\"M{} {}L{} {}L{} {}L{} {}Z\"", px(cx), px(cy - 1.25 * r),
                                         px(cx + 1.25 * r), px(cy), px(cx), px(cy + 1.25 * r), px(cx - 1.25 * r),
                                         px(cy)));
  }
  return "";
}

double Scale::operator()(double v) const {
  double t;
  if (log) {
    const double lv = std::log10(std::max(v, 1e-300));
    t = (lv - std::log10(d0)) / (std::log10(d1) - std::log10(d0));
  } else {
    t = d1 == d0 ? 0.5 : (v - d0) / (d1 - d0);
  }
  return r0 + t * (r1 - r0);
}

}  // namespace dkm::reports::parts

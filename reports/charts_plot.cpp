// Line plots and heat maps (bar charts and the stylesheet are in charts.cpp).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include <fmt/core.h>

#include "reports/chart_parts.hpp"
#include "reports/charts.hpp"

namespace dkm::reports {

using parts::px;

std::string line_plot(const LinePlot& p) {
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  for (const auto& s : p.series) {
    if (s.x.size() != s.y.size())
      throw std::invalid_argument(fmt::format("line_plot '{}': series '{}' has {} x and {} y values", p.title,
                                              s.name, s.x.size(), s.y.size()));
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      if (p.log_x && !(s.x[i] > 0))
        throw std::invalid_argument(fmt::format("line_plot '{}': x = {} on a log axis", p.title, s.x[i]));
      xlo = std::min(xlo, s.x[i]), xhi = std::max(xhi, s.x[i]);
      ylo = std::min(ylo, s.y[i]), yhi = std::max(yhi, s.y[i]);
    }
  }
  if (!(xlo <= xhi)) xlo = p.log_x ? 0.1 : 0, xhi = 1;
  if (!(ylo <= yhi)) ylo = 0, yhi = 1;
  if (p.y_from_zero) ylo = std::min(ylo, 0.0), yhi = std::max(yhi, 0.0);

  const double W = parts::kWidth;
  std::vector<std::string> names;
  for (const auto& s : p.series) names.push_back(s.name);
  const double legend_h = parts::legend_height(names, W - 16);
  const double left = 78, right = 24, top = 12 + legend_h, bottom = 50;
  const double plot_w = W - left - right, plot_h = 300;
  const double H = top + plot_h + bottom;

  const Ticks xt = p.log_x ? log_ticks(xlo, xhi) : nice_ticks(xlo, xhi, 8);
  const Ticks yt = nice_ticks(ylo, yhi, 6);
  const parts::Scale x{xt.lo, xt.hi, left, left + plot_w, p.log_x};
  const parts::Scale y{yt.lo, yt.hi, top + plot_h, top};

  std::string out = parts::open_svg(W, H, "plot", p.title, p.description);
  double used = 0;
  out += parts::legend(names, 8, 6, W - 16, true, used);

  out += "<g class=\"axes\">\n";
  for (double t : xt.values) {
    out += fmt::format("<line class=\"grid\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/>\n", px(x(t)), px(top),
                       px(top + plot_h));
    out += fmt::format("<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", px(x(t)),
                       px(top + plot_h + 16), xml_escape(tick_label(t, xt.step)));
  }
  for (double t : yt.values) {
    out += fmt::format("<line class=\"grid\" x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\"/>\n", px(left),
                       px(left + plot_w), px(y(t)));
    out += fmt::format("<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"end\" dominant-baseline=\"central\">{}"
                       "</text>\n",
                       px(left - 6), px(y(t)), xml_escape(tick_label(t, yt.step)));
  }
  out += fmt::format("<line class=\"axis\" x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\"/>\n", px(left),
                     px(left + plot_w), px(top + plot_h));
  out += fmt::format("<line class=\"axis\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/>\n", px(left), px(top),
                     px(top + plot_h));
  out += fmt::format("<text class=\"axis-title\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                     px(left + plot_w / 2), px(H - 8), xml_escape(p.x_title));
  out += fmt::format("<text class=\"axis-title\" transform=\"translate({} {}) rotate(-90)\" text-anchor=\"middle\">"
                     "{}</text>\n",
                     px(16), px(top + plot_h / 2), xml_escape(p.y_title));
  out += "</g>\n";

  for (size_t s = 0; s < p.series.size(); ++s) {
    const auto& ser = p.series[s];
    std::vector<size_t> order(ser.x.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ser.x[a] < ser.x[b]; });
    std::string points;
    for (size_t i : order)
      if (std::isfinite(ser.x[i]) && std::isfinite(ser.y[i]))
        points += fmt::format("{}{},{}", points.empty() ? "" : " ", px(x(ser.x[i])), px(y(ser.y[i])));
    out += fmt::format("<polyline class=\"line s{}\" points=\"{}\"/>\n", s % 8, points);
    out += "<g class=\"points\">\n";
    for (size_t i : order) {
      if (!std::isfinite(ser.x[i]) || !std::isfinite(ser.y[i])) continue;
      const std::string tip = fmt::format("{}: {} = {}, {} = {}", ser.name, p.x_title, short_number(ser.x[i]),
                                          p.y_title, short_number(ser.y[i]));
      out += parts::marker(parts::marker_for(s), x(ser.x[i]), y(ser.y[i]), 4.5, fmt::format("mark s{}", s % 8), tip);
    }
    out += "</g>\n";
  }
  if (!p.note.empty())
    out += fmt::format("<text class=\"note\" x=\"{}\" y=\"{}\">{}</text>\n", px(left + 10), px(top + 18),
                       xml_escape(p.note));
  return out + "</svg>\n";
}

std::string heatmap(const Heatmap& m) {
  double max_abs = 0;
  int64_t max_rows = 0, total_cols = 0;
  for (const auto& panel : m.panels) {
    if (panel.rows < 0 || panel.cols < 0 || static_cast<int64_t>(panel.values.size()) != panel.rows * panel.cols)
      throw std::invalid_argument(fmt::format("heatmap '{}': panel '{}' has {} values for {} x {}", m.title,
                                              panel.caption, panel.values.size(), panel.rows, panel.cols));
    for (double v : panel.values)
      if (std::isfinite(v)) max_abs = std::max(max_abs, std::fabs(v));
    max_rows = std::max(max_rows, panel.rows);
    total_cols += panel.cols;
  }
  const bool clipped = m.scale_max > 0 && m.scale_max < max_abs;
  if (m.scale_max > 0) max_abs = m.scale_max;
  if (max_abs == 0) max_abs = 1;
  const int64_t tr = std::max<int64_t>(m.tile_rows, 1), tc = std::max<int64_t>(m.tile_cols, 1);
  const double gap = 3, panel_gap = 36;
  const double W = parts::kWidth, left = 34, right = 16;
  const auto npanels = static_cast<double>(m.panels.size());
  // Cells as large as fit (at most 14 px), gaps between tiles included.
  double gaps_w = npanels > 0 ? (npanels - 1) * panel_gap : 0;
  for (const auto& panel : m.panels) gaps_w += static_cast<double>((panel.cols + tc - 1) / tc - 1) * gap;
  const double cell =
      std::clamp(std::floor((W - left - right - gaps_w) / static_cast<double>(std::max<int64_t>(total_cols, 1))),
                 2.0, 16.0);
  const double row_gaps = static_cast<double>(std::max<int64_t>((max_rows + tr - 1) / tr - 1, 0)) * gap;
  const double top = 30, panel_h = static_cast<double>(max_rows) * cell + row_gaps;
  const double legend_y = top + panel_h + 34;
  const double H = legend_y + 44;

  std::string out = parts::open_svg(W, H, "heatmap", m.title, m.description);
  out += fmt::format("<text class=\"axis-title\" transform=\"translate({} {}) rotate(-90)\" text-anchor=\"middle\">"
                     "{}</text>\n",
                     px(14), px(top + panel_h / 2), xml_escape(m.row_title));
  double x0 = left;
  for (const auto& panel : m.panels) {
    const double pw = static_cast<double>(panel.cols) * cell +
                      static_cast<double>(std::max<int64_t>((panel.cols + tc - 1) / tc - 1, 0)) * gap;
    out += fmt::format("<text class=\"caption\" x=\"{}\" y=\"{}\">{}</text>\n", px(x0), px(top - 10),
                       xml_escape(panel.caption));
    out += "<g class=\"cells\">\n";
    for (int64_t r = 0; r < panel.rows; ++r) {
      for (int64_t c = 0; c < panel.cols; ++c) {
        const double v = panel.values[static_cast<size_t>(r * panel.cols + c)];
        const double cx = x0 + static_cast<double>(c) * cell + static_cast<double>(c / tc) * gap;
        const double cy = top + static_cast<double>(r) * cell + static_cast<double>(r / tr) * gap;
        const double opacity = std::isfinite(v) ? std::min(std::fabs(v) / max_abs, 1.0) : 0;
        out += fmt::format("<rect class=\"mark {}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" "
                           "fill-opacity=\"{:.3f}\"><title>{} [{}, {}] = {}</title></rect>\n",
                           v < 0 ? "neg" : "pos", px(cx), px(cy), px(cell), px(cell), opacity,
                           xml_escape(panel.caption), r, c, short_number(v));
      }
    }
    out += "</g>\n";
    // Tile outlines make each kernel a visible unit even where its values are near zero.
    out += "<g class=\"tiles\">\n";
    for (int64_t r = 0; r < panel.rows; r += tr)
      for (int64_t c = 0; c < panel.cols; c += tc) {
        const double tx = x0 + static_cast<double>(c) * cell + static_cast<double>(c / tc) * gap;
        const double ty = top + static_cast<double>(r) * cell + static_cast<double>(r / tr) * gap;
        out += fmt::format("<rect class=\"tile\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>\n", px(tx), px(ty),
                           px(static_cast<double>(std::min(tc, panel.cols - c)) * cell),
                           px(static_cast<double>(std::min(tr, panel.rows - r)) * cell));
      }
    out += "</g>\n";
    x0 += pw + panel_gap;
  }
  out += fmt::format("<text class=\"axis-title\" x=\"{}\" y=\"{}\">{}</text>\n", px(left), px(top + panel_h + 20),
                     xml_escape(m.col_title));

  // Colour legend: discrete steps from -max to +max.
  const int steps = 11;
  const double lw = 16, lx = left + 150;
  out += "<g class=\"colour-legend\">\n";
  out += fmt::format("<text class=\"axis-title\" x=\"{}\" y=\"{}\" text-anchor=\"end\" dominant-baseline=\"central\">"
                     "{}</text>\n",
                     px(lx - 44), px(legend_y + 7), xml_escape(m.value_title));
  for (int i = 0; i < steps; ++i) {
    const double v = -max_abs + 2 * max_abs * i / (steps - 1);
    out += fmt::format("<rect class=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"14\" fill-opacity=\"{:.3f}\"/>\n",
                       v < 0 ? "neg" : "pos", px(lx + i * lw), px(legend_y), px(lw), std::fabs(v) / max_abs);
  }
  out += fmt::format("<rect class=\"tile\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"14\"/>\n", px(lx), px(legend_y),
                     px(steps * lw));
  const double label_y = legend_y + 28;
  out += fmt::format("<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}{}</text>\n", px(lx), px(label_y),
                     clipped ? "≤" : "", short_number(-max_abs, 3));
  out += fmt::format("<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">0</text>\n",
                     px(lx + steps * lw / 2), px(label_y));
  out += fmt::format("<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}{}</text>\n",
                     px(lx + steps * lw), px(label_y), clipped ? "≥" : "", short_number(max_abs, 3));
  out += "</g>\n";
  return out + "</svg>\n";
}

}  // namespace dkm::reports

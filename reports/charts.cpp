// Bar charts, the shared stylesheet and R^2. Plots and heat maps are in charts_plot.cpp.
#include "reports/charts.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/core.h>

#include "reports/chart_parts.hpp"

namespace dkm::reports {

using parts::px;

namespace {

void check_bars(const BarChart& c) {
  for (const auto& s : c.series) {
    if (s.values.size() != c.categories.size())
      throw std::invalid_argument(fmt::format("bar_chart '{}': series '{}' has {} values for {} categories",
                                              c.title, s.name, s.values.size(), c.categories.size()));
    if (c.stacked)
      for (double v : s.values)
        if (!(v >= 0))
          throw std::invalid_argument(fmt::format("bar_chart '{}': stacked value {} in '{}' is not >= 0", c.title,
                                                  v, s.name));
  }
}

// Long layer names are cut with an ellipsis; the full name stays in the tooltip.
std::string fit_label(const std::string& s, double max_px) {
  if (text_width(s, parts::kFontPx) <= max_px) return s;
  std::string out;
  for (char ch : s) {
    if (text_width(out + ch + "…", parts::kFontPx) > max_px) break;
    out += ch;
  }
  // Never cut inside a UTF-8 sequence.
  while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
  if (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0xC0) out.pop_back();
  return out + "…";
}

}  // namespace

std::string bar_chart(const BarChart& c) {
  check_bars(c);
  const size_t ncat = c.categories.size(), nser = c.series.size();
  const double W = parts::kWidth;

  double label_w = text_width(c.category_title, parts::kFontPx);
  for (const auto& cat : c.categories) label_w = std::max(label_w, text_width(cat, parts::kFontPx));
  label_w = std::min(label_w, 200.0) + 14;
  const double left = label_w, right = c.value_labels ? 70 : 24;
  const double plot_w = W - left - right;

  std::vector<std::string> names;
  for (const auto& s : c.series) names.push_back(s.name);
  if (nser <= 1) names.clear();  // a single series needs no legend
  const double legend_h = parts::legend_height(names, W - 16);
  const double title_row = 18;  // category axis title above the labels
  const double top = 8 + legend_h + title_row;
  const double row_h = (c.stacked || nser <= 1) ? 22 : std::max(22.0, 6 + 10.0 * static_cast<double>(nser));
  const double plot_h = row_h * static_cast<double>(std::max<size_t>(ncat, 1));
  const double bottom = 46;
  const double H = top + plot_h + bottom;

  // Value domain: stacked bars start at 0; grouped bars include 0 and any negative value.
  double lo = 0, hi = 0;
  for (size_t i = 0; i < ncat; ++i) {
    double sum = 0;
    for (const auto& s : c.series) {
      const double v = std::isfinite(s.values[i]) ? s.values[i] : 0;
      sum += v;
      lo = std::min(lo, v), hi = std::max(hi, v);
    }
    if (c.stacked) hi = std::max(hi, sum);
  }
  if (hi == lo) hi = lo + 1;
  const Ticks ticks = nice_ticks(lo, hi, 6);
  const parts::Scale x{ticks.lo, ticks.hi, left, left + plot_w};

  std::string out = parts::open_svg(W, H, c.stacked ? "stacked-bars" : "bars", c.title, c.description);
  double used = 0;
  out += parts::legend(names, 8, 6, W - 16, false, used);

  // Grid, ticks and the value axis.
  out += "<g class=\"x axis-group\">\n";
  for (double t : ticks.values) {
    const double tx = x(t);
    out += fmt::format("<line class=\"grid\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/>\n", px(tx), px(top),
                       px(top + plot_h));
    out += fmt::format("<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", px(tx),
                       px(top + plot_h + 16), xml_escape(tick_label(t, ticks.step)));
  }
  out += fmt::format("<line class=\"axis\" x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\"/>\n", px(left),
                     px(left + plot_w), px(top + plot_h));
  out += fmt::format("<text class=\"axis-title\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                     px(left + plot_w / 2), px(H - 8), xml_escape(c.value_title));
  out += "</g>\n";
  out += fmt::format("<text class=\"axis-title\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n", px(left - 8),
                     px(top - 6), xml_escape(c.category_title));
  out += fmt::format("<line class=\"axis\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/>\n", px(x(0)), px(top),
                     px(top + plot_h));

  // Bars.
  out += "<g class=\"bars\">\n";
  for (size_t i = 0; i < ncat; ++i) {
    const double row_y = top + static_cast<double>(i) * row_h;
    const std::string& cat = c.categories[i];
    out += fmt::format("<text class=\"label\" x=\"{}\" y=\"{}\" text-anchor=\"end\" dominant-baseline=\"central\">"
                       "<title>{}</title>{}</text>\n",
                       px(left - 8), px(row_y + row_h / 2), xml_escape(cat),
                       xml_escape(fit_label(cat, label_w - 14)));
    double acc = 0, end_value = 0;
    for (size_t s = 0; s < nser; ++s) {
      const double raw = c.series[s].values[i];
      const double v = std::isfinite(raw) ? raw : 0;
      double x0, x1, y, h;
      if (c.stacked || nser == 1) {
        h = row_h - 8;
        y = row_y + 4;
        x0 = x(c.stacked ? acc : std::min(v, 0.0));
        x1 = x(c.stacked ? acc + v : std::max(v, 0.0));
        acc += v;
        end_value = c.stacked ? acc : v;
      } else {
        h = (row_h - 6) / static_cast<double>(nser);
        y = row_y + 3 + static_cast<double>(s) * h;
        x0 = x(std::min(v, 0.0)), x1 = x(std::max(v, 0.0));
      }
      const std::string tip = nser > 1 ? fmt::format("{} · {}: {}{}", cat, c.series[s].name, short_number(raw),
                                                     c.value_suffix)
                                       : fmt::format("{}: {}{}", cat, short_number(raw), c.value_suffix);
      out += fmt::format("<rect class=\"mark s{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{}</title>"
                         "</rect>\n",
                         s % 8, px(x0), px(y), px(x1 - x0), px(std::max(h - (nser > 1 && !c.stacked ? 1 : 0), 1.0)),
                         xml_escape(tip));
      if (c.value_labels && !c.stacked && nser > 1)
        out += fmt::format("<text class=\"value\" x=\"{}\" y=\"{}\" dominant-baseline=\"central\">{}{}</text>\n",
                           px(x(std::max(v, 0.0)) + 4), px(y + h / 2), short_number(raw, 3),
                           xml_escape(c.value_suffix));
    }
    if (c.value_labels && (c.stacked || nser == 1))
      out += fmt::format("<text class=\"value\" x=\"{}\" y=\"{}\" dominant-baseline=\"central\">{}{}</text>\n",
                         px(x(std::max(end_value, 0.0)) + 4), px(row_y + row_h / 2), short_number(end_value, 3),
                         xml_escape(c.value_suffix));
  }
  out += "</g>\n</svg>\n";
  return out;
}

std::string chart_css() {
  return R"CSS(:root{color-scheme:light dark;
--dkm-bg:#ffffff;--dkm-fg:#1f2328;--dkm-muted:#57606a;--dkm-grid:#e6e8eb;--dkm-axis:#8c959f;
--dkm-s0:#4e79a7;--dkm-s1:#f28e2b;--dkm-s2:#e15759;--dkm-s3:#76b7b2;--dkm-s4:#59a14f;--dkm-s5:#edc948;
--dkm-s6:#b07aa1;--dkm-s7:#9c755f;--dkm-pos:#c0392b;--dkm-neg:#1f66b0}
@media (prefers-color-scheme:dark){:root{
--dkm-bg:#0f141a;--dkm-fg:#e6edf3;--dkm-muted:#9ba5b0;--dkm-grid:#252c35;--dkm-axis:#6b7480;
--dkm-s0:#79a7e0;--dkm-s1:#ffa34d;--dkm-s2:#ff7f80;--dkm-s3:#8fd6d0;--dkm-s4:#7fcf72;--dkm-s5:#f2d45c;
--dkm-s6:#d7a6cc;--dkm-s7:#c8a58d;--dkm-pos:#ff6f61;--dkm-neg:#4fa3ff}}
.dkm-chart{display:block;width:100%;max-width:960px;height:auto;overflow:visible;
font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","DejaVu Sans",sans-serif;font-size:12px}
.dkm-chart text{fill:var(--dkm-fg)}
.dkm-chart .tick,.dkm-chart .label,.dkm-chart .value,.dkm-chart .caption-sub{fill:var(--dkm-muted)}
.dkm-chart .axis-title,.dkm-chart .note,.dkm-chart .caption{font-weight:600}
.dkm-chart .grid{stroke:var(--dkm-grid);stroke-width:1}
.dkm-chart .axis{stroke:var(--dkm-axis);stroke-width:1}
.dkm-chart .bars rect.mark{stroke:var(--dkm-bg);stroke-width:.6}
.dkm-chart .mark:hover{opacity:.75}
.dkm-chart .line{fill:none;stroke-width:2}
.dkm-chart .points .mark{stroke:var(--dkm-bg);stroke-width:1.2}
.dkm-chart .cells rect{stroke:none}
.dkm-chart .tile{fill:none;stroke:var(--dkm-grid);stroke-width:.8}
.dkm-chart .pos{fill:var(--dkm-pos)}.dkm-chart .neg{fill:var(--dkm-neg)}
.dkm-chart .s0{fill:var(--dkm-s0)}.dkm-chart .s1{fill:var(--dkm-s1)}.dkm-chart .s2{fill:var(--dkm-s2)}
.dkm-chart .s3{fill:var(--dkm-s3)}.dkm-chart .s4{fill:var(--dkm-s4)}.dkm-chart .s5{fill:var(--dkm-s5)}
.dkm-chart .s6{fill:var(--dkm-s6)}.dkm-chart .s7{fill:var(--dkm-s7)}
.dkm-chart .line.s0{stroke:var(--dkm-s0)}.dkm-chart .line.s1{stroke:var(--dkm-s1)}
.dkm-chart .line.s2{stroke:var(--dkm-s2)}.dkm-chart .line.s3{stroke:var(--dkm-s3)}
.dkm-chart .line.s4{stroke:var(--dkm-s4)}.dkm-chart .line.s5{stroke:var(--dkm-s5)}
.dkm-chart .line.s6{stroke:var(--dkm-s6)}.dkm-chart .line.s7{stroke:var(--dkm-s7)}
.dkm-chart .line{fill:none}
)CSS";
}

}  // namespace dkm::reports

#pragma once
// Small building blocks the charts share: XML escaping, number formatting for axes and tooltips, and
// "nice" axis ticks. Pure functions over plain values.
#include <string>
#include <string_view>
#include <vector>

namespace dkm::reports {

// Escapes & < > " ' so any name is safe as SVG/HTML text or attribute value.
std::string xml_escape(std::string_view text);

// A linear axis: the domain [lo, hi] widened to whole steps, and the tick values inside it.
struct Ticks {
  double lo = 0, hi = 1, step = 1;
  std::vector<double> values;
};

// About `target` ticks at 1, 2 or 5 times a power of ten covering [lo, hi]. lo == hi is widened.
Ticks nice_ticks(double lo, double hi, int target = 5);

// Powers of ten covering [lo, hi] (both > 0); adds 2x and 5x ticks when the range spans few decades.
Ticks log_ticks(double lo, double hi);

// An axis label for `v` on an axis stepping by `step`: 0, 0.25, 15, 2.5k, 40M, 1.2G ... (SI prefixes
// from 10^4 up, so long numbers never crowd the axis; the axis title carries the unit).
std::string tick_label(double v, double step);

// `v` with `digits` significant digits for tooltips and labels: 1234567 -> "1.235M", 0.01234 -> "0.01234".
std::string short_number(double v, int digits = 4);

// Approximate width in pixels of `text` at `font_px` in a sans-serif system font (for margins).
double text_width(std::string_view text, double font_px);

}  // namespace dkm::reports

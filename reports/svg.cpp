#include "reports/svg.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/core.h>

namespace dkm::reports {

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += ch;
    }
  }
  return out;
}

namespace {

// 1, 2 or 5 times a power of ten, the smallest such step >= raw.
double nice_step(double raw) {
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * power >= raw * (1 - 1e-9)) return m * power;
  return 10 * power;
}

// Removes trailing zeros after a decimal point: "2.50" -> "2.5", "3.0" -> "3".
std::string trim_zeros(std::string s) {
  if (s.find('.') == std::string::npos || s.find('e') != std::string::npos) return s;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

struct Prefix {
  double scale;
  const char* symbol;
};
constexpr Prefix kPrefixes[] = {{1e15, "P"}, {1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}};

}  // namespace

Ticks nice_ticks(double lo, double hi, int target) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  if (lo > hi) std::swap(lo, hi);
  if (hi - lo < 1e-300) {
    const double pad = lo == 0 ? 1.0 : std::fabs(lo) * 0.5;
    lo -= lo == 0 ? 0 : pad;
    hi += pad;
  }
  Ticks t;
  t.step = nice_step((hi - lo) / std::max(target, 1));
  t.lo = std::floor(lo / t.step + 1e-9) * t.step;
  t.hi = std::ceil(hi / t.step - 1e-9) * t.step;
  const auto n = static_cast<int>(std::llround((t.hi - t.lo) / t.step));
  for (int i = 0; i <= n; ++i) {
    double v = t.lo + i * t.step;
    if (std::fabs(v) < t.step * 1e-9) v = 0;  // no "-0" from rounding
    t.values.push_back(v);
  }
  return t;
}

Ticks log_ticks(double lo, double hi) {
  lo = std::max(lo, 1e-300);
  hi = std::max(hi, lo);
  Ticks t;
  const int first = static_cast<int>(std::floor(std::log10(lo) + 1e-9));
  const int last = static_cast<int>(std::ceil(std::log10(hi) - 1e-9));
  t.lo = std::pow(10.0, first);
  t.hi = std::pow(10.0, std::max(last, first + 1));
  t.step = 0;  // not linear
  const bool dense = (last - first) <= 2;
  for (int e = first; e <= std::max(last, first + 1); ++e) {
    const double p = std::pow(10.0, e);
    t.values.push_back(p);
    if (dense && e < std::max(last, first + 1)) {
      t.values.push_back(2 * p);
      t.values.push_back(5 * p);
    }
  }
  return t;
}

std::string tick_label(double v, double step) {
  if (v == 0) return "0";
  const double mag = std::fabs(v);
  if (step <= 0) step = mag;  // log axes: label each value on its own
  if (mag >= 1e4) {
    for (const auto& p : kPrefixes) {
      if (mag >= p.scale) {
        const double scaled_step = step / p.scale;
        const int decimals = scaled_step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(scaled_step) - 1e-9));
        return trim_zeros(fmt::format("{:.{}f}", v / p.scale, std::clamp(decimals, 0, 6))) + p.symbol;
      }
    }
  }
  if (mag < 1e-4) return fmt::format("{:.0e}", v);
  const int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  return trim_zeros(fmt::format("{:.{}f}", v, std::clamp(decimals, 0, 8)));
}

std::string short_number(double v, int digits) {
  if (!std::isfinite(v)) return std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
  const double mag = std::fabs(v);
  for (const auto& p : kPrefixes)
    if (mag >= 1e4 && mag >= p.scale) return trim_zeros(fmt::format("{:.{}g}", v / p.scale, digits)) + p.symbol;
  if (mag >= 1) {  // plain notation: %g would print 9999.7 as "1e+04"
    const int int_digits = static_cast<int>(std::floor(std::log10(mag))) + 1;
    return trim_zeros(fmt::format("{:.{}f}", v, std::max(digits - int_digits, 0)));
  }
  return trim_zeros(fmt::format("{:.{}g}", v, digits));
}

double text_width(std::string_view text, double font_px) {
  double em = 0;
  for (unsigned char ch : text) {
    if ((ch & 0xC0) == 0x80) continue;  // UTF-8 continuation byte
    if (ch == 'i' || ch == 'l' || ch == '.' || ch == ',' || ch == '1' || ch == ' ' || ch == 'j' || ch == 't' ||
        ch == 'f' || ch == 'r' || ch == '(' || ch == ')' || ch == '[' || ch == ']')
      em += 0.35;
    else if (ch == 'm' || ch == 'w' || ch == 'M' || ch == 'W')
      em += 0.85;
    else if (ch >= 'A' && ch <= 'Z')
      em += 0.68;
    else
      em += 0.56;
  }
  return em * font_px;
}

}  // namespace dkm::reports

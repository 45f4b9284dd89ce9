#include "reports/table.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <stdexcept>

#include <fmt/core.h>

namespace dkm::reports {

namespace {

// A table whose rows do not match its columns is a programming error in the command that built it.
void check_shape(const Table& table) {
  for (size_t r = 0; r < table.rows.size(); ++r)
    if (table.rows[r].size() != table.columns.size())
      throw std::logic_error(fmt::format("reports::Table: row {} has {} cells for {} columns", r,
                                         table.rows[r].size(), table.columns.size()));
  if (!table.total.empty() && table.total.size() != table.columns.size())
    throw std::logic_error(fmt::format("reports::Table: total row has {} cells for {} columns",
                                       table.total.size(), table.columns.size()));
}

std::string non_finite(double v) {
  if (std::isnan(v)) return "nan";
  return v > 0 ? "inf" : "-inf";
}

// "1234567" -> "1,234,567"; `digits` holds only digits.
std::string group_thousands(const std::string& digits) {
  std::string out;
  const size_t n = digits.size();
  for (size_t i = 0; i < n; ++i) {
    if (i > 0 && (n - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string text_int(int64_t v) {
  // Magnitude via unsigned arithmetic so INT64_MIN has no overflow.
  uint64_t mag = v < 0 ? uint64_t(0) - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  return (v < 0 ? "-" : "") + group_thousands(fmt::format("{}", mag));
}

// Terminal form of a double: `precision` significant digits in plain notation; a value whose integer
// part already has that many digits is shown whole (with separators) rather than padded with zeros;
// tiny or huge magnitudes fall back to scientific notation.
std::string text_double(double v, int precision) {
  if (!std::isfinite(v)) return non_finite(v);
  if (v == 0) return "0";
  const double mag = std::fabs(v);
  if (mag < 1e-4 || mag >= 1e18) return fmt::format("{:.{}e}", v, std::max(precision - 1, 0));
  const int int_digits = static_cast<int>(std::floor(std::log10(mag))) + 1;
  if (int_digits >= precision) {
    const double rounded = std::round(v);
    return (rounded < 0 ? "-" : "") + group_thousands(fmt::format("{:.0f}", std::fabs(rounded)));
  }
  const int decimals = precision - int_digits;  // >= 1 here
  std::string s = fmt::format("{:.{}f}", mag, decimals);
  // Drop trailing zeros (and a bare point) like %g does, so 2.5 stays "2.5".
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  const auto point = s.find('.');
  std::string whole = s.substr(0, point), frac = point == std::string::npos ? "" : s.substr(point);
  std::string out = group_thousands(whole) + frac;
  return (v < 0 && out != "0") ? "-" + out : out;
}

std::string text_cell(const Cell& c, int precision) {
  switch (c.index()) {
    case 0: return "";
    case 1: return text_int(std::get<int64_t>(c));
    case 2: return text_double(std::get<double>(c), precision);
    default: return std::get<std::string>(c);
  }
}

bool is_number(const Cell& c) { return c.index() == 1 || c.index() == 2; }

std::string csv_double(double v, int precision) {
  if (!std::isfinite(v)) return non_finite(v);
  return fmt::format("{:.{}g}", v, std::max(precision, 1));
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

std::string csv_cell(const Cell& c, int precision) {
  switch (c.index()) {
    case 0: return "";
    case 1: return fmt::format("{}", std::get<int64_t>(c));
    case 2: return csv_double(std::get<double>(c), precision);
    default: return csv_field(std::get<std::string>(c));
  }
}

nlohmann::json json_cell(const Cell& c) {
  switch (c.index()) {
    case 0: return nullptr;
    case 1: return std::get<int64_t>(c);
    case 2: {
      double v = std::get<double>(c);
      return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
    }
    default: return std::get<std::string>(c);
  }
}

// Display width in code points, so names with UTF-8 characters (e.g. "µ") still align.
size_t display_width(const std::string& s) {
  size_t n = 0;
  for (unsigned char ch : s)
    if ((ch & 0xC0) != 0x80) ++n;
  return n;
}

}  // namespace

std::string format_cell(const Cell& cell, int precision) { return text_cell(cell, precision); }

std::string unit_key(const std::string& unit) {
  std::string s;
  for (char ch : unit) s += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s.empty() ? "unit" : s;
}

std::string to_text(const Table& table) {
  check_shape(table);
  const size_t ncol = table.columns.size();
  if (ncol == 0) return "";

  struct Line {
    std::vector<std::string> cells;
    std::vector<bool> right;  // numbers are right-aligned
  };
  std::vector<Line> lines;
  auto add = [&](const std::vector<Cell>& row, bool is_total) {
    Line line;
    for (size_t c = 0; c < ncol; ++c) {
      if (is_total && c == 0) {
        line.cells.push_back("total");
        line.right.push_back(false);
        continue;
      }
      line.cells.push_back(text_cell(row[c], table.columns[c].precision));
      line.right.push_back(is_number(row[c]));
    }
    lines.push_back(std::move(line));
  };
  for (const auto& row : table.rows) add(row, false);
  if (!table.total.empty()) add(table.total, true);

  // A column holding numbers right-aligns its header too, so the header sits over the digits.
  std::vector<size_t> width(ncol, 0);
  std::vector<bool> numeric_column(ncol, false);
  std::vector<std::string> headers(ncol);
  for (size_t c = 0; c < ncol; ++c) {
    headers[c] = table.columns[c].title.empty() ? table.columns[c].key : table.columns[c].title;
    width[c] = display_width(headers[c]);
    for (const auto& line : lines) {
      width[c] = std::max(width[c], display_width(line.cells[c]));
      if (line.right[c]) numeric_column[c] = true;
    }
  }

  auto render = [&](const std::vector<std::string>& cells, const std::vector<bool>& right) {
    std::string out;
    for (size_t c = 0; c < ncol; ++c) {
      const size_t pad = width[c] - display_width(cells[c]);
      const bool last = c + 1 == ncol;
      if (c > 0) out += "  ";
      if (right[c]) out += std::string(pad, ' ') + cells[c];
      else out += cells[c] + (last ? "" : std::string(pad, ' '));
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  auto rule = [&] {
    size_t total_width = 0;
    for (size_t c = 0; c < ncol; ++c) total_width += width[c] + (c > 0 ? 2 : 0);
    return std::string(total_width, '-') + "\n";
  };

  std::string out = render(headers, numeric_column);
  out += rule();
  for (size_t i = 0; i < table.rows.size(); ++i) out += render(lines[i].cells, lines[i].right);
  if (!table.total.empty()) {
    out += rule();
    out += render(lines.back().cells, lines.back().right);
  }
  return out;
}

std::string to_csv(const Table& table) {
  check_shape(table);
  std::string out;
  auto add_line = [&](const std::vector<std::string>& fields) {
    for (size_t c = 0; c < fields.size(); ++c) {
      if (c > 0) out += ',';
      out += fields[c];
    }
    out += '\n';
  };
  std::vector<std::string> fields;
  for (const auto& col : table.columns) fields.push_back(csv_field(col.key));
  add_line(fields);
  for (const auto& row : table.rows) {
    fields.clear();
    for (size_t c = 0; c < row.size(); ++c) fields.push_back(csv_cell(row[c], table.columns[c].precision));
    add_line(fields);
  }
  if (!table.total.empty()) {
    fields.clear();
    for (size_t c = 0; c < table.total.size(); ++c)
      fields.push_back(c == 0 ? std::string("total") : csv_cell(table.total[c], table.columns[c].precision));
    add_line(fields);
  }
  return out;
}

nlohmann::json to_json_rows(const Table& table) {
  check_shape(table);
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& row : table.rows) {
    nlohmann::json obj = nlohmann::json::object();
    for (size_t c = 0; c < row.size(); ++c) obj[table.columns[c].key] = json_cell(row[c]);
    rows.push_back(std::move(obj));
  }
  return rows;
}

nlohmann::json to_json_total(const Table& table) {
  check_shape(table);
  if (table.total.empty()) return nullptr;
  nlohmann::json obj = nlohmann::json::object();
  for (size_t c = 0; c < table.total.size(); ++c)
    obj[table.columns[c].key] = c == 0 ? nlohmann::json("total") : json_cell(table.total[c]);
  return obj;
}

}  // namespace dkm::reports

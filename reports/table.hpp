#pragma once
// The one tabular value every command prints: columns with units in their names, one row per layer and
// an optional total row. Rendered as an aligned terminal table, CSV or JSON, so every command's output
// has the same stable shape (docs/reports.md).
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace dkm::reports {

using Cell = std::variant<std::monostate, int64_t, double, std::string>;  // monostate = empty

struct Column {
  std::string key;    // CSV header and JSON key, units included: "energy_pj", "params", "macs"
  std::string title;  // terminal header, e.g. "energy [pJ]"
  int precision = 4;  // significant digits for doubles
};

struct Table {
  std::vector<Column> columns;
  std::vector<std::vector<Cell>> rows;  // each row has columns.size() cells
  std::vector<Cell> total;              // empty = no total row
};

// A unit as it appears in column keys: lower case ("pJ" -> "pj"), "unit" when there is none.
std::string unit_key(const std::string& unit);

// Aligned columns for a terminal: numbers right-aligned with thousands separators, doubles to
// `precision` significant digits, a rule under the header and above the total row.
std::string to_text(const Table& table);

// RFC 4180 quoting, "\n" line ends, header = column keys, integers exact, doubles to `precision`
// significant digits, empty cells empty; the total row comes last and its first cell is "total".
std::string to_csv(const Table& table);

// [{key: value, ...}, ...] without the total row; doubles at full precision, empty or non-finite = null.
nlohmann::json to_json_rows(const Table& table);

// One cell as to_text() shows it (for other renderers, e.g. the HTML report's table).
std::string format_cell(const Cell& cell, int precision);

// The total row as {key: value, ...} with the first column's value "total", or null without one.
nlohmann::json to_json_total(const Table& table);

}  // namespace dkm::reports

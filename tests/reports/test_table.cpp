#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "reports/table.hpp"

using dkm::reports::Cell;
using dkm::reports::Column;
using dkm::reports::Table;

namespace {

Table layer_table() {
  Table t;
  t.columns = {{"layer", "layer", 4}, {"params", "params", 4}, {"energy_pj", "energy [pJ]", 4}};
  t.rows.push_back({std::string("conv1"), int64_t{34944}, 1234567.8});
  t.rows.push_back({std::string("fc"), int64_t{4097000}, 0.012346});
  t.total = {Cell{}, int64_t{4131944}, 1234567.812345};
  return t;
}

}  // namespace

TEST_CASE("table text: aligned, numbers right-aligned with separators, rule above total") {
  const std::string expected =
      "layer     params  energy [pJ]\n"
      "-----------------------------\n"
      "conv1     34,944    1,234,568\n"
      "fc     4,097,000      0.01235\n"
      "-----------------------------\n"
      "total  4,131,944    1,234,568\n";
  CHECK(dkm::reports::to_text(layer_table()) == expected);
}

TEST_CASE("table text: doubles keep significant digits and switch to scientific when tiny") {
  Table t;
  t.columns = {{"v", "v", 3}};
  for (double v : {2.5, 12.3456, -0.5, 0.0, 1.5e-7, 999.6, -1234.4, std::numeric_limits<double>::quiet_NaN()})
    t.rows.push_back({v});
  const std::string expected =
      "       v\n"
      "--------\n"
      "     2.5\n"
      "    12.3\n"
      "    -0.5\n"
      "       0\n"
      "1.50e-07\n"
      "   1,000\n"
      "  -1,234\n"
      "     nan\n";
  CHECK(dkm::reports::to_text(t) == expected);
}

TEST_CASE("table text: empty cells, strings left-aligned, no trailing spaces") {
  Table t;
  t.columns = {{"name", "", 4}, {"note", "note", 4}};
  t.rows.push_back({std::string("a"), Cell{}});
  t.rows.push_back({std::string("longer"), std::string("x")});
  CHECK(dkm::reports::to_text(t) ==
        "name    note\n"
        "------------\n"
        "a\n"
        "longer  x\n");
}

TEST_CASE("table csv: keys as header, exact integers, significant digits, total row last") {
  CHECK(dkm::reports::to_csv(layer_table()) ==
        "layer,params,energy_pj\n"
        "conv1,34944,1.235e+06\n"
        "fc,4097000,0.01235\n"
        "total,4131944,1.235e+06\n");
}

TEST_CASE("table csv: RFC 4180 quoting of commas, quotes and line breaks") {
  Table t;
  t.columns = {{"name", "name", 4}, {"x", "x", 17}};
  t.rows.push_back({std::string("a,b"), 0.1});
  t.rows.push_back({std::string("say \"hi\""), Cell{}});
  t.rows.push_back({std::string("two\nlines"), -std::numeric_limits<double>::infinity()});
  CHECK(dkm::reports::to_csv(t) ==
        "name,x\n"
        "\"a,b\",0.10000000000000001\n"
        "\"say \"\"hi\"\"\",\n"
        "\"two\nlines\",-inf\n");
}

TEST_CASE("table csv: 17 significant digits round-trip a double exactly") {
  Table t;
  t.columns = {{"x", "x", 17}};
  const double v = 1.0 / 3.0;
  t.rows.push_back({v});
  const std::string csv = dkm::reports::to_csv(t);
  const std::string field = csv.substr(2, csv.size() - 3);
  CHECK(std::stod(field) == v);
}

TEST_CASE("table json rows: one object per row keyed by column, full precision, nulls, no total") {
  auto j = dkm::reports::to_json_rows(layer_table());
  REQUIRE(j.is_array());
  REQUIRE(j.size() == 2);
  CHECK(j[0]["layer"] == "conv1");
  CHECK(j[0]["params"] == 34944);
  CHECK(j[0]["energy_pj"].get<double>() == 1234567.8);
  CHECK(j[1]["energy_pj"].get<double>() == 0.012346);

  Table t;
  t.columns = {{"a", "a", 4}, {"b", "b", 4}};
  t.rows.push_back({Cell{}, std::numeric_limits<double>::quiet_NaN()});
  auto k = dkm::reports::to_json_rows(t);
  CHECK(k[0]["a"].is_null());
  CHECK(k[0]["b"].is_null());
  CHECK(dkm::reports::to_json_total(t).is_null());
}

TEST_CASE("table json total: first column reads total") {
  auto j = dkm::reports::to_json_total(layer_table());
  CHECK(j["layer"] == "total");
  CHECK(j["params"] == 4131944);
  CHECK(j["energy_pj"].get<double>() == 1234567.812345);
}

TEST_CASE("table: a row with the wrong number of cells is rejected") {
  Table t;
  t.columns = {{"a", "a", 4}, {"b", "b", 4}};
  t.rows.push_back({int64_t{1}});
  CHECK_THROWS_AS(dkm::reports::to_text(t), std::logic_error);
  CHECK_THROWS_AS(dkm::reports::to_csv(t), std::logic_error);
  CHECK_THROWS_AS(dkm::reports::to_json_rows(t), std::logic_error);
}

TEST_CASE("table text: INT64 extremes format without overflow") {
  Table t;
  t.columns = {{"n", "n", 4}};
  t.rows.push_back({std::numeric_limits<int64_t>::min()});
  CHECK(dkm::reports::to_text(t) ==
        "                         n\n"
        "--------------------------\n"
        "-9,223,372,036,854,775,808\n");
}

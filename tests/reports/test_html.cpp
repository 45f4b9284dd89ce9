#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

#include "reports/html.hpp"
#include "sample_report.hpp"
#include "tests/support.hpp"

using namespace dkm::reports;
using dkm::test::count;

TEST_CASE("report totals: sums and compression ratios three ways, hand-computed") {
  const ReportInput in = dkm::test::sample_report_input();
  const ReportTotals t = report_totals(in);
  CHECK(t.weights == 432 + 9216 + 1024 + 2560);
  // block1.conv1: 9216 weights + 64 biases at 32 bits; 3072 row vectors of length 3, K = 90:
  // codebook 90*3*32 + biases 64*32 = 10688 bits, fixed-length indices 3072*7 bits.
  const ReportLayer& b = in.layers[1];
  CHECK(b.original_bits == 296960);
  CHECK(b.fixed_bits == 10688 + 21504);
  const double original = 32.0 * (448 + 9280 + 1088 + 2570);
  CHECK(t.original_bits == original);
  const double fixed = 32.0 * 448 + 32192 + (32.0 * 50 + 32.0 * 64 + 1024 * 6) + 32.0 * 2570;
  CHECK(t.fixed_bits == doctest::Approx(fixed));
  CHECK(t.cr_fixed() == doctest::Approx(original / fixed));
  CHECK(t.cr_huffman() > t.cr_fixed());   // Huffman beats fixed-length indices here
  CHECK(t.cr_entropy() > t.cr_huffman()); // and the entropy bound beats Huffman
  CHECK(t.hierarchy_energy_uncompressed == doctest::Approx(1000 * 24.1));
}

TEST_CASE("report layer table: stable keys with the energy unit, one row per layer, total row") {
  const ReportInput in = dkm::test::sample_report_input();
  const Table t = report_layer_table(in);
  std::vector<std::string> keys;
  for (const auto& c : t.columns) keys.push_back(c.key);
  CHECK(keys == std::vector<std::string>{"layer", "kind", "weight_shape", "weights", "macs", "k", "cluster_rate",
                                         "original_bits", "compressed_bits_huffman", "cr_huffman", "mse",
                                         "hierarchy_energy_mac_normalised", "hierarchy_share_percent",
                                         "hierarchy_ratio", "paper_energy_mac_normalised", "paper_ratio"});
  REQUIRE(t.rows.size() == 4);
  CHECK(std::get<std::string>(t.rows[1][2]) == "64x16x3x3");
  CHECK(std::get<int64_t>(t.rows[1][5]) == 90);
  CHECK(std::get<double>(t.rows[1][6]) == doctest::Approx(90.0 / 3072));
  CHECK(t.rows[0][5].index() == 0);   // uncompressed: no K
  CHECK(t.rows[0][10].index() == 0);  // and no MSE
  CHECK(std::get<double>(t.rows[0][9]) == 1.0);
  CHECK(std::get<double>(t.total[12]) == doctest::Approx(100.0));
  const std::string csv = to_csv(t);
  CHECK(csv.rfind("layer,kind,weight_shape,weights,macs,k,cluster_rate,", 0) == 0);
  CHECK(csv.find("\ntotal,,,13232,10930688,") != std::string::npos);
}

TEST_CASE("report html: one self-contained page with every section and chart") {
  const ReportInput in = dkm::test::sample_report_input();
  const std::string html = render_report(in);
  CHECK(html.rfind("<!DOCTYPE html>\n<html lang=\"en\">", 0) == 0);
  CHECK(html.find(std::string("<meta http-equiv=\"Content-Security-Policy\" content=\"") + kReportCsp + "\">") !=
        std::string::npos);
  for (const char* id : {"summary", "layers", "energy", "compression", "versus", "sweep", "filters"})
    CHECK(html.find(std::string("id=\"") + id + "\"") != std::string::npos);
  // Energy by level, by type, CR per layer, size and energy before/after, the sweep, the filters.
  CHECK(count(html, "<svg ") == 7);
  CHECK(count(html, "class=\"dkm-chart dkm-stacked-bars\"") == 2);
  CHECK(count(html, "class=\"dkm-chart dkm-plot\"") == 1);
  CHECK(count(html, "class=\"dkm-chart dkm-heatmap\"") == 1);
  CHECK(html.find(">R² = 0.9931</text>") != std::string::npos);
  // 8 filters x 8 channels x 3x3 cells, before and after.
  CHECK(count(html, "class=\"mark pos\"") + count(html, "class=\"mark neg\"") == 2 * 8 * 8 * 9);
  // Names are escaped everywhere.
  CHECK(html.find("wrn-mini <test") == std::string::npos);
  CHECK(html.find("wrn-mini &lt;test &amp; check&gt;") != std::string::npos);
  // Nothing external: no links, no remote sources, no fonts.
  CHECK(html.find("src=") == std::string::npos);
  CHECK(html.find("<link") == std::string::npos);
  CHECK(html.find("@import") == std::string::npos);
  CHECK(html.find("url(") == std::string::npos);
  // The table: 4 layers, a total row, sortable headers.
  CHECK(html.find("<table class=\"sortable\">") != std::string::npos);
  CHECK(count(html, "<tr>") == 1 + 4 + 1);
  CHECK(html.find("<tfoot>\n<tr><th scope=\"row\" data-v=\"\">total</th>") != std::string::npos);
  CHECK(html.find("Weights drawn at random (seed 1)") != std::string::npos);
  CHECK(html.find("prefers-color-scheme:dark") != std::string::npos);
}

TEST_CASE("report html: deterministic bytes, optional sections say why they are missing") {
  ReportInput in = dkm::test::sample_report_input();
  CHECK(render_report(in) == render_report(in));
  in.sweep.reset();
  in.filters.reset();
  const std::string html = render_report(in);
  CHECK(count(html, "<svg ") == 5);
  CHECK(html.find("No sweep was run for this report.") != std::string::npos);
  CHECK(html.find("No weights were given, so there are no filters to show.") != std::string::npos);
}

TEST_CASE("report html: mismatched inputs are rejected") {
  ReportInput in = dkm::test::sample_report_input();
  in.layers[2].energy_by_level.pop_back();
  CHECK_THROWS_AS(render_report(in), std::invalid_argument);
  in = dkm::test::sample_report_input();
  in.filters->compressed.pop_back();
  CHECK_THROWS_AS(render_report(in), std::invalid_argument);
}

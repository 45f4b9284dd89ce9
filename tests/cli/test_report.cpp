// `dkm report` and `dkm compare` end to end: outputs, their shape, failure paths, and the default report
// in a real browser (its own case, skipped when chromium is not installed).
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "models/atomic_file.hpp"
#include "tests/support.hpp"

using dkm::test::count;
using dkm::test::run_dkm;
using dkm::test::slurp;
using dkm::test::TempDir;

namespace {

// The bundled default report of WRN-16-4 with its CSV and JSON, written into `dir`.
dkm::test::RunResult write_default_report(const TempDir& dir, const std::string& html_path) {
  return run_dkm("report wrn-16-4 --hw eyeriss-65nm --plan wrn-16-4-cr47 --random-weights 1 -o '" + html_path +
                 "' --csv '" + (dir / "layers.csv") + "' --json '" + (dir / "result.json") + "'");
}

}  // namespace

TEST_CASE("report: the bundled default writes HTML, CSV and JSON that agree") {
  TempDir dir;
  const std::string html_path = dir / "wrn-16-4-cr47-report.html";
  auto r = write_default_report(dir, html_path);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("wrote " + html_path) != std::string::npos);
  CHECK(r.out.find("RANDOM") != std::string::npos);

  const std::string html = slurp(html_path);
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(count(html, "<svg ") == 7);
  for (const char* id : {"summary", "layers", "energy", "compression", "versus", "sweep", "filters"})
    CHECK(html.find(std::string("id=\"") + id + "\"") != std::string::npos);
  CHECK(html.find("R² = ") != std::string::npos);
  CHECK(html.find("after k-means (K = ") != std::string::npos);

  // 16 conv layers and the fc layer, plus the header and the total row.
  const std::string csv = slurp(dir / "layers.csv");
  CHECK(count(csv, "\n") == 1 + 17 + 1);
  CHECK(csv.rfind("layer,kind,weight_shape,weights,macs,k,cluster_rate,original_bits,compressed_bits_huffman,"
                  "cr_huffman,mse,hierarchy_energy_mac_normalised,",
                  0) == 0);
  // WRN-16-4: 2,747,530 conv + fc parameters at 32 bits (zoo.md), batch-norm not counted.
  CHECK(csv.find("\ntotal,,,2745264,505858560,,,87920960,") != std::string::npos);

  const auto j = nlohmann::json::parse(slurp(dir / "result.json"));
  CHECK(j["format"] == "dkm-result/1");
  CHECK(j["totals"]["original_bits"].get<double>() == 87920960.0);
  CHECK(j["totals"]["cr"]["huffman"].get<double>() ==
        doctest::Approx(87920960.0 / j["totals"]["compressed_bits"]["huffman"].get<double>()));
  CHECK(j["layers"].size() == 17);
  // The sweep: the paper's 8 rates, then down to the plan's own K/N (sum of K over sum of N), marked.
  const auto& rates = j["sweep"]["cluster_rates"];
  REQUIRE(rates.size() > 8);
  CHECK(rates[7].get<double>() == 0.01);
  double k = 0, n = 0;
  for (const auto& l : j["layers"])
    if (l["k"].is_number() && l["cluster_rate"].is_number())
      k += l["k"].get<double>(), n += l["k"].get<double>() / l["cluster_rate"].get<double>();
  CHECK(rates.back().get<double>() == doctest::Approx(k / n).epsilon(1e-9));
  CHECK(html.find("this plan, paper metric") != std::string::npos);
}

TEST_CASE("report: the bundled default renders in chromium, light and dark") {
  if (!std::filesystem::exists("/usr/bin/chromium")) return dkm::test::skip("chromium not installed (apt-get install chromium)");
  TempDir dir;
  const std::string html_path = dir / "wrn-16-4-cr47-report.html";
  auto r = write_default_report(dir, html_path);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string cmd = "python3 '" + dkm::test::source_path("tools/browser-check.py") + "' '" + html_path +
                          "' --screenshots screenshots >'" + (dir / "check") + "' 2>&1";
  const int status = std::system(cmd.c_str());
  INFO(slurp(dir / "check"));
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(std::filesystem::exists("screenshots/wrn-16-4-cr47-report-light.png"));
  CHECK(std::filesystem::exists("screenshots/wrn-16-4-cr47-report-dark.png"));
}

TEST_CASE("report: bad options and inputs exit 2 with one line and write nothing") {
  TempDir dir;
  const std::string out = dir / "r.html";
  auto r = run_dkm("report wrn-16-4 --plan no-such-plan -o '" + out + "'");
  CHECK(r.exit_code == 2);
  CHECK(r.err.rfind("dkm: error: ", 0) == 0);
  CHECK(count(r.err, "\n") == 1);
  CHECK(!std::filesystem::exists(out));

  r = run_dkm("report wrn-16-4 --plan wrn-16-4-cr47 --random-weights 1 --weights x.npz -o '" + out + "'");
  CHECK(r.exit_code == 2);
  CHECK(!std::filesystem::exists(out));

  r = run_dkm("report wrn-16-4 --plan wrn-16-4-cr47 --random-weights 1 --no-sweep --filters fc -o '" + out + "'");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--filters fc") != std::string::npos);
  CHECK(count(r.err, "\n") == 1);  // no stage line before the error
  CHECK(!std::filesystem::exists(out));

  // Without weights nothing is compressed, so no layer can have its filters drawn: said, not ignored.
  r = run_dkm("report wrn-16-4 --plan wrn-16-4-cr47 --no-sweep --filters conv1 -o '" + out + "'");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--filters conv1") != std::string::npos);
  CHECK(!std::filesystem::exists(out));

  r = run_dkm("report wrn-16-4 --hw no-such-profile -o '" + out + "'");
  CHECK(r.exit_code == 2);
  CHECK(!std::filesystem::exists(out));

  r = run_dkm("report wrn-16-4");  // no -o
  CHECK(r.exit_code == 2);
}

TEST_CASE("report: without weights the plan's uniform-label bound is reported and no filters are drawn") {
  TempDir dir;
  auto r = run_dkm("report wrn-16-4 --plan wrn-16-4-cr45 --no-sweep -o '" + (dir / "r.html") + "'");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string html = slurp(dir / "r.html");
  CHECK(count(html, "<svg ") == 5);
  CHECK(html.find("No weights were given") != std::string::npos);
  CHECK(html.find("No sweep was run for this report.") != std::string::npos);
  // Standard error is a pipe here: the stages are still named, after the inputs have loaded.
  CHECK(r.err.find("dkm report: the estimate of wrn-16-4 on eyeriss-65nm ...\n") != std::string::npos);
  CHECK(r.err.find("dkm report: rendering ") != std::string::npos);
  CHECK(r.err.find("k-means") == std::string::npos);  // no weights: nothing to cluster
}

TEST_CASE("compare: plans side by side as table, CSV, JSON and HTML") {
  TempDir dir;
  auto r = run_dkm("compare wrn-16-4 --plan wrn-16-4-cr45 --plan wrn-16-4-cr50 --csv '" + (dir / "c.csv") +
                   "' --json '" + (dir / "c.json") + "' --html '" + (dir / "c.html") + "'");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("uncompressed") != std::string::npos);
  CHECK(r.out.find("wrn-16-4-cr45") != std::string::npos);
  const std::string csv = slurp(dir / "c.csv");
  CHECK(csv.rfind("configuration,model,profile,original_bits,compressed_bits_huffman,cr_fixed,cr_entropy,cr_huffman,"
                  "mse,paper_energy_mac_normalised,paper_ratio,hierarchy_energy_mac_normalised,hierarchy_ratio,"
                  "dram_energy_mac_normalised,buffer_energy_mac_normalised,array_energy_mac_normalised,"
                  "rf_energy_mac_normalised,mac_energy_mac_normalised\n",
                  0) == 0);
  CHECK(count(csv, "\n") == 4);
  // The uncompressed row: CR 1 three ways, energy gain 1.
  CHECK(csv.find("\nuncompressed,wrn-16-4,eyeriss-65nm,87920960,87920960,1,1,1,,") != std::string::npos);
  const auto j = nlohmann::json::parse(slurp(dir / "c.json"));
  CHECK(j["format"] == "dkm-compare/1");
  REQUIRE(j["configurations"].size() == 3);
  // CR 50 shares more than CR 45: a higher fixed-length ratio.
  CHECK(j["configurations"][2]["cr_fixed"].get<double>() > j["configurations"][1]["cr_fixed"].get<double>());
  const std::string html = slurp(dir / "c.html");
  CHECK(html.find("Content-Security-Policy") != std::string::npos);
  CHECK(count(html, "<svg ") == 2);
}

TEST_CASE("compare: result files from report, estimate and compress; mixed units and bad files fail") {
  TempDir dir;
  REQUIRE(run_dkm("report wrn-16-4 --plan wrn-16-4-cr47 --no-sweep -o '" + (dir / "a.html") + "' --json '" +
                  (dir / "a.json") + "'").exit_code == 0);
  REQUIRE(run_dkm("estimate wrn-16-4 --plan wrn-16-4-cr45 --json '" + (dir / "b.json") + "'").exit_code == 0);
  auto r = run_dkm("compare '" + (dir / "a.json") + "' '" + (dir / "b.json") + "' --csv '" + (dir / "c.csv") + "'");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string csv = slurp(dir / "c.csv");
  CHECK(csv.find("\na.json,wrn-16-4,eyeriss-65nm,87920960,") != std::string::npos);
  CHECK(csv.find("\nb.json,wrn-16-4,eyeriss-65nm,,,,,,,") != std::string::npos);  // estimate: energies only

  dkm::write_file_atomic(dir / "bad.json", "{\"format\": 3");
  r = run_dkm("compare '" + (dir / "a.json") + "' '" + (dir / "bad.json") + "'");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("bad.json") != std::string::npos);
  dkm::write_file_atomic(dir / "other.json", "{\"hello\": 1}");
  r = run_dkm("compare '" + (dir / "other.json") + "'");
  CHECK(r.exit_code == 2);

  REQUIRE(run_dkm("estimate wrn-16-4 --hw accelergy-45nm --json '" + (dir / "pj.json") + "'").exit_code == 0);
  r = run_dkm("compare '" + (dir / "a.json") + "' '" + (dir / "pj.json") + "'");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("energy unit") != std::string::npos);
}

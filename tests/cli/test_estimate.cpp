// `dkm estimate` and `dkm sweep` end to end: profile named, tables, JSON shape, errors exit 2.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "tests/support.hpp"

using dkm::test::run_dkm;
using dkm::test::slurp;
using dkm::test::TempDir;

TEST_CASE("dkm estimate: default profile named, JSON totals with units") {
  TempDir dir;
  auto r = run_dkm("estimate lenet5 --json '" + (dir / "e.json") + "' --csv '" + (dir / "e.csv") + "'");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("eyeriss-65nm") != std::string::npos);
  CHECK(r.out.find("mac_normalised") != std::string::npos);
  auto j = nlohmann::json::parse(slurp(dir / "e.json"));
  CHECK(j["model"] == "lenet5");
  CHECK(j["profile"] == "eyeriss-65nm");
  CHECK(j["layers"].size() == 4);
  CHECK(j["totals"]["macs"] == 2293000);
  CHECK(j["totals"]["hierarchy_energy_unit"] == "mac_normalised");
  CHECK(j["totals"]["paper_metric_per_mac"].get<double>() > 1.0);
  CHECK(j["totals"]["hierarchy_per_mac"].get<double>() > 1.0);
  CHECK(j["layers"][0].contains("hierarchy_energy_mac_normalised"));
  CHECK(j["layers"][0].contains("weights_dram_accesses"));
  CHECK(slurp(dir / "e.csv").starts_with("layer,type,macs,"));
}

TEST_CASE("dkm estimate: every shipped profile, batch, and a plan") {
  for (const char* hw : {"eyeriss-65nm", "eyeriss-like", "horowitz-45nm", "accelergy-45nm", "eyeriss-like-timeloop"}) {
    CAPTURE(hw);
    auto r = run_dkm(std::string("estimate alexnet --hw ") + hw + " --batch 4");
    CHECK(r.exit_code == 0);
    CHECK(r.out.find(hw) != std::string::npos);
  }
  TempDir dir;
  auto r = run_dkm("estimate wrn-16-4 --plan wrn-16-4-cr45 --json '" + (dir / "p.json") + "'");
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(slurp(dir / "p.json"));
  CHECK(j["ratios"]["hierarchy_uncompressed_over_compressed"].get<double>() > 1.0);
  CHECK(j["uncompressed_totals"]["hierarchy_energy"].get<double>() > j["totals"]["hierarchy_energy"].get<double>());
}

TEST_CASE("dkm estimate: bad input exits 2 with one line and writes nothing") {
  TempDir dir;
  std::string bad = dir / "bad.json";
  {
    std::ofstream(bad) << R"({"format": "dkm-hwprofile/1"})";
  }
  auto r = run_dkm("estimate lenet5 --hw '" + bad + "' --json '" + (dir / "out.json") + "'");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("bad.json") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "out.json"));
  CHECK(run_dkm("estimate lenet5 --hw no-such-profile").exit_code == 2);
  CHECK(run_dkm("estimate lenet5 --batch 0").exit_code == 2);
  CHECK(run_dkm("estimate lenet5 --plan a --compressed b").exit_code == 2);
}

TEST_CASE("dkm sweep: both metrics per rate and R^2") {
  TempDir dir;
  auto r = run_dkm("sweep alexnet --rates 0.5,0.1,0.01 --conv-bits 8 --json '" + (dir / "s.json") + "'");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("R^2") != std::string::npos);
  auto j = nlohmann::json::parse(slurp(dir / "s.json"));
  REQUIRE(j["rates"].size() == 3);
  CHECK(j["rates"][0]["cluster_rate"] == 0.5);
  CHECK(j["r2"].get<double>() >= 0.0);
  CHECK(j["r2"].get<double>() <= 1.0);
  // Fewer centres, less energy by both metrics.
  CHECK(j["rates"][2]["conv_paper_energy_mac_normalised"].get<double>() <
        j["rates"][0]["conv_paper_energy_mac_normalised"].get<double>());
  CHECK(j["rates"][2]["conv_hierarchy_energy_mac_normalised"].get<double>() <
        j["rates"][0]["conv_hierarchy_energy_mac_normalised"].get<double>());
  CHECK(run_dkm("sweep alexnet --rates 0,0.5").exit_code == 2);
  CHECK(run_dkm("sweep alexnet").exit_code == 2);
}

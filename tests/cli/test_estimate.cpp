// `dkm estimate` and `dkm sweep` end to end: profile named, tables, JSON shape, errors exit 2.
#include <doctest/doctest.h>

#include <fstream>

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
  for (const char* hw : {"eyeriss-65nm", "eyeriss-like", "horowitz-45nm", "accelergy-45nm", "eyeriss-like-timeloop",
                         "tpu-like-ws", "shidiannao-like-os"}) {
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

TEST_CASE("dkm estimate: each layer's mapping as a loop nest, the objective named, --mapping evaluates a map.txt") {
  TempDir dir;
  auto r = run_dkm("estimate lenet5 --hw eyeriss-like-timeloop --objective delay --json '" + (dir / "m.json") + "'");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("mapped (delay objective)") != std::string::npos);
  auto j = nlohmann::json::parse(slurp(dir / "m.json"));
  CHECK(j["mapper_objective"] == "delay");
  REQUIRE(j["mappings"].size() == 4);
  for (const auto& m : j["mappings"]) {
    CHECK(m["cycles"].get<int64_t>() > 0);
    CHECK(m["utilization"].get<double>() > 0);
    CHECK(m["utilization"].get<double>() <= 1);
    REQUIRE(m["levels"].size() == 6);  // eyeriss-like-timeloop's levels, DRAM first
    CHECK(m["levels"][0]["level"] == "DRAM");
    int64_t macs = 1;
    for (const auto& level : m["levels"])
      for (const auto& loop : level["loops"]) macs *= loop["bound"].get<int64_t>();
    const std::string layer = m["layer"];
    for (const auto& row : j["layers"])
      if (row["layer"] == layer) CHECK(macs == row["macs"].get<int64_t>());  // one group, batch 1
  }

  // The first layer's own mapping written back as a map.txt and evaluated: the same cycles and energy.
  std::string text;
  for (const auto& level : j["mappings"][0]["levels"]) {
    text += level["level"].get<std::string>() + " [ ]\n";
    for (const auto& loop : level["loops"]) {
      const std::string kind = loop["kind"];
      text += "| for " + loop["dim"].get<std::string>() + " in [0:" + std::to_string(loop["bound"].get<int64_t>()) + ")" +
              (kind == "spatial_x" ? " (Spatial-X)" : kind == "spatial_y" ? " (Spatial-Y)" : "") + "\n";
    }
  }
  std::ofstream(dir / "map.txt") << text;
  const std::string first = j["mappings"][0]["layer"];
  auto g = run_dkm("estimate lenet5 --hw eyeriss-like-timeloop --mapping '" + first + "=" + (dir / "map.txt") +
                   "' --json '" + (dir / "g.json") + "'");
  REQUIRE(g.exit_code == 0);
  auto gj = nlohmann::json::parse(slurp(dir / "g.json"));
  CHECK(gj["mappings"][0]["given"] == true);
  CHECK(gj["mappings"][0]["cycles"] == j["mappings"][0]["cycles"]);
  CHECK(gj["mappings"][0]["energy_pj"] == j["mappings"][0]["energy_pj"]);
  CHECK(g.out.find(first + " (given)") != std::string::npos);

  // Bad input: one error naming the file (and the line), exit 2.
  std::ofstream(dir / "bad.txt") << "DRAM [ ]\n| for C in [0:3\n";
  auto bad = run_dkm("estimate lenet5 --hw eyeriss-like-timeloop --mapping '" + first + "=" + (dir / "bad.txt") + "'");
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("bad.txt: line 2") != std::string::npos);
  std::ofstream(dir / "wrong.txt") << "DRAM [ ]\n| for C in [0:3)\n";
  auto wrong = run_dkm("estimate lenet5 --hw eyeriss-like-timeloop --mapping '" + first + "=" + (dir / "wrong.txt") + "'");
  CHECK(wrong.exit_code == 2);
  CHECK(wrong.err.find("wrong.txt") != std::string::npos);
  CHECK(wrong.err.find("a mapping legal on profile eyeriss-like-timeloop") != std::string::npos);
  CHECK(run_dkm("estimate lenet5 --hw eyeriss-like-timeloop --mapping '" + (dir / "map.txt") + "'").exit_code == 2);
  CHECK(run_dkm("estimate lenet5 --objective fastest").exit_code == 2);
  CHECK(run_dkm("estimate lenet5 --no-mapper --mapping '" + (dir / "map.txt") + "'").exit_code == 2);
}

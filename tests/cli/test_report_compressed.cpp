// `dkm report --compressed`: a container written elsewhere (dkm compress, the PyTorch hook) is reported
// with the same compression ratios and energies that compress and estimate give for it.
#include <doctest/doctest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "tests/support.hpp"

TEST_CASE("report --compressed reads a container and agrees with compress and estimate") {
  dkm::test::TempDir dir;
  std::ofstream(dir / "plan.json") << R"({"format": "dkm-plan/1", "defaults": {"k": 4}})";
  auto c = dkm::test::run_dkm("compress lenet5 --plan '" + (dir / "plan.json") + "' --random-weights 2 -o '" +
                              (dir / "c.safetensors") + "' --json '" + (dir / "c.json") + "'");
  REQUIRE(c.exit_code == 0);
  auto e = dkm::test::run_dkm("estimate lenet5 --compressed '" + (dir / "c.safetensors") + "' --json '" +
                              (dir / "e.json") + "'");
  REQUIRE(e.exit_code == 0);
  auto r = dkm::test::run_dkm("report lenet5 --compressed '" + (dir / "c.safetensors") + "' --no-sweep -o '" +
                              (dir / "r.html") + "' --json '" + (dir / "r.json") + "'");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto cj = nlohmann::json::parse(dkm::test::slurp(dir / "c.json"));
  const auto ej = nlohmann::json::parse(dkm::test::slurp(dir / "e.json"));
  const auto rj = nlohmann::json::parse(dkm::test::slurp(dir / "r.json"));
  CHECK(rj["totals"]["cr"]["huffman"].get<double>() == cj["total"]["cr_huffman"].get<double>());
  CHECK(rj["totals"]["cr"]["fixed"].get<double>() == cj["total"]["cr_fixed"].get<double>());
  CHECK(rj["totals"]["hierarchy_energy_mac_normalised"].get<double>() ==
        ej["totals"]["hierarchy_energy"].get<double>());
  CHECK(r.out.find("compressed from RANDOM stand-in weights (seed 2)") != std::string::npos);
  const std::string html = dkm::test::slurp(dir / "r.html");
  CHECK(html.find("compressed model") != std::string::npos);
}

TEST_CASE("report --compressed excludes --plan and --random-weights") {
  dkm::test::TempDir dir;
  auto r = dkm::test::run_dkm("report lenet5 --compressed x.safetensors --plan wrn-16-4-cr47 -o '" + (dir / "r.html") + "'");
  CHECK(r.exit_code == 2);
  CHECK(r.err == "dkm: error: --compressed excludes --plan and --random-weights (the container holds the labels)\n");
  CHECK_FALSE(std::filesystem::exists(dir / "r.html"));
}

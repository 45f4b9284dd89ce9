// `dkm compress`: the WRN-16-4 CR 47 plan end to end on random weights, outputs labelled, errors.
#include <doctest/doctest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "kmeans/compress.hpp"
#include "kmeans/container.hpp"
#include "models/model.hpp"
#include "models/tensor_io.hpp"
#include "tests/support.hpp"

using dkm::test::run_dkm;
using dkm::test::slurp;
using dkm::test::TempDir;

TEST_CASE("dkm compress wrn-16-4 with the CR 47 plan on random weights") {
  TempDir dir;
  const auto r = run_dkm("compress wrn-16-4 --random-weights 7 --plan wrn-16-4-cr47 --threads 2 -o '" +
                         (dir / "c.safetensors") + "' --json '" + (dir / "s.json") + "' --csv '" + (dir / "s.csv") + "'");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("RANDOM weights") != std::string::npos);
  CHECK(r.out.find("stage3.block2.conv2") != std::string::npos);
  CHECK(r.err.empty());  // no progress bar when stderr is not a terminal

  const auto j = nlohmann::json::parse(slurp(dir / "s.json"));
  CHECK(j["weights_random"] == true);
  CHECK(j["weights_seed"] == 7);
  REQUIRE(j["layers"].size() == 16);
  CHECK(j["layers"][11]["layer"] == "stage3.block1.conv1");
  CHECK(j["layers"][11]["k"] == 7);
  CHECK(j["layers"][11]["sparsity"] == 0.6);
  CHECK(j["layers"][0]["k"] == 144);
  CHECK(j["layers"][0]["cr_fixed"].is_null());  // K == N: kept unchanged
  CHECK(j["total"]["cr_fixed"].get<double>() == doctest::Approx(23.50).epsilon(0.001));
  CHECK(j["total"]["cr_entropy"].get<double>() > 40);
  const std::string csv = slurp(dir / "s.csv");
  CHECK(csv.rfind("layer,k,sparsity,", 0) == 0);
  CHECK(csv.find("RANDOM (seed 7)") != std::string::npos);

  const auto cm = dkm::kmeans::read_compressed(dir / "c.safetensors");
  CHECK(cm.random_weights);
  CHECK(cm.weights_seed == 7);
  REQUIRE(cm.layers.size() == 16);
  CHECK(cm.layers[12].k == 6);
  // Same seed, same file, whatever the thread count.
  const auto again = run_dkm("compress wrn-16-4 --random-weights 7 --plan wrn-16-4-cr47 --threads 1 -o '" +
                             (dir / "d.safetensors") + "'");
  REQUIRE(again.exit_code == 0);
  CHECK(slurp(dir / "c.safetensors") == slurp(dir / "d.safetensors"));
}

TEST_CASE("dkm compress reads weights and refuses missing or misshapen tensors") {
  TempDir dir;
  const auto model = dkm::models::load_model("lenet5");
  auto w = dkm::kmeans::random_weights(model, 1);
  dkm::save_weights(dir / "w.npz", w);
  const std::string plan = dir / "p.json";
  {
    std::ofstream(plan) << R"({"format": "dkm-plan/1", "defaults": {"k": 8}})";
  }
  const auto ok = run_dkm("compress lenet5 --weights '" + (dir / "w.npz") + "' --plan '" + plan + "' -o '" +
                          (dir / "c.safetensors") + "'");
  CHECK(ok.exit_code == 0);
  CHECK(ok.out.find("RANDOM") == std::string::npos);
  CHECK(ok.out.find("trained") != std::string::npos);

  auto missing = w;
  missing.erase("conv2.weight");
  dkm::save_weights(dir / "m.npz", missing);
  const auto r1 = run_dkm("compress lenet5 --weights '" + (dir / "m.npz") + "' --plan '" + plan + "' -o '" +
                          (dir / "x.safetensors") + "'");
  CHECK(r1.exit_code == 2);
  CHECK(r1.err.find("conv2.weight") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "x.safetensors"));

  auto bad = w;
  bad["conv1.weight"].shape = {20, 1, 25, 1};
  dkm::save_weights(dir / "b.npz", bad);
  const auto r2 = run_dkm("compress lenet5 --weights '" + (dir / "b.npz") + "' --plan '" + plan + "' -o '" +
                          (dir / "x.safetensors") + "'");
  CHECK(r2.exit_code == 2);
  CHECK(r2.err.find("shape [20, 1, 5, 5]") != std::string::npos);
}

TEST_CASE("dkm compress usage errors exit with code 2") {
  TempDir dir;
  const std::string out = " -o '" + (dir / "c.safetensors") + "'";
  CHECK(run_dkm("compress lenet5 --plan wrn-16-4-cr47" + out).exit_code == 2);  // no weights
  CHECK(run_dkm("compress lenet5 --weights a.npz --random-weights 1 --plan wrn-16-4-cr47" + out).exit_code == 2);
  const auto r = run_dkm("compress lenet5 --random-weights 1 --plan wrn-16-4-cr47" + out);
  CHECK(r.exit_code == 2);  // the plan's rules name WRN layers
  CHECK(r.err.find("layers[1].match: expected a name or glob matching a conv layer of model \"lenet5\"") != std::string::npos);
  CHECK(run_dkm("compress lenet5 --random-weights 1 --plan no-such-plan" + out).exit_code == 2);
  CHECK_FALSE(std::filesystem::exists(dir / "c.safetensors"));
}

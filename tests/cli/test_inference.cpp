// `dkm run`, `dkm calibrate` and `dkm evaluate` end to end on the catalogue's tiny model: files written,
// identical for any thread count, and the compressed model measured against the float one.
#include <doctest/doctest.h>

#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "models/tensor_io.hpp"
#include "tests/support.hpp"

using dkm::test::run_dkm;
using dkm::test::slurp;
using dkm::test::TempDir;

namespace {

const std::string kTiny = dkm::test::source_path("tests/bad-inputs/tiny-model.json");
const std::string kWeights = dkm::test::source_path("tests/bad-inputs/run-weights.npz");
const std::string kCompressed = dkm::test::source_path("tests/bad-inputs/tiny-compressed.safetensors");

std::string write_input(const TempDir& dir, int64_t images) {
  std::mt19937 rng(5);
  std::normal_distribution<float> n(0, 1);
  dkm::Tensor x{{images, 1, 6, 6}, {}};
  for (int64_t i = 0; i < x.numel(); ++i) x.values.push_back(n(rng));
  dkm::write_npy(dir / "x.npy", dkm::Array::from_tensor(x));
  return dir / "x.npy";
}

}  // namespace

TEST_CASE("dkm run: the model's output per layer name, byte-identical for 1 and 2 threads") {
  TempDir dir;
  const std::string x = write_input(dir, 5);
  auto a = run_dkm("run '" + kTiny + "' --weights '" + kWeights + "' --input '" + x + "' --threads 1 -o '" + (dir / "a.npz") + "'");
  REQUIRE(a.exit_code == 0);
  CHECK(a.err.empty());
  CHECK(a.out.find("fc  (5x3)") != std::string::npos);
  auto b = run_dkm("run '" + kTiny + "' --weights '" + kWeights + "' --input '" + x + "' --threads 2 --layers conv1 -o '" +
                   (dir / "b.npz") + "'");
  REQUIRE(b.exit_code == 0);
  auto fa = dkm::read_npz(dir / "a.npz"), fb = dkm::read_npz(dir / "b.npz");
  REQUIRE(fa.count("fc"));
  CHECK(fa.at("fc").shape == std::vector<int64_t>{5, 3});
  CHECK(fb.at("conv1").shape == std::vector<int64_t>{5, 2, 4, 4});
  CHECK(fa.at("fc").bytes == fb.at("fc").bytes);
  // Without --input: the documented default image, the same every time.
  auto c = run_dkm("run '" + kTiny + "' --weights '" + kWeights + "' -o '" + (dir / "c.npz") + "'");
  auto d = run_dkm("run '" + kTiny + "' --weights '" + kWeights + "' -o '" + (dir / "d.npz") + "'");
  REQUIRE(c.exit_code == 0);
  CHECK(c.out.find("no --input") != std::string::npos);
  CHECK(slurp(dir / "c.npz") == slurp(dir / "d.npz"));
}

TEST_CASE("dkm calibrate and dkm evaluate on the tiny model with its compressed conv1") {
  TempDir dir;
  const std::string x = write_input(dir, 4);
  auto cal = run_dkm("calibrate '" + kTiny + "' --weights '" + kWeights + "' --data '" + x + "' -o '" + (dir / "s.json") + "'");
  REQUIRE(cal.exit_code == 0);
  const auto s = nlohmann::json::parse(slurp(dir / "s.json"));
  CHECK(s["format"] == "dkm-stats/1");
  CHECK(s["images"] == 4);
  CHECK(s["layers"]["conv1"]["input_channels"] == 1);
  CHECK(s["layers"]["conv1"]["values_per_channel"] == 4 * 36);
  CHECK(s["layers"]["fc"]["input_channels"] == 32);

  auto ev = run_dkm("evaluate '" + kTiny + "' --weights '" + kWeights + "' --compressed '" + kCompressed + "' --data '" + x +
                    "' --json '" + (dir / "e.json") + "'");
  REQUIRE(ev.exit_code == 0);
  CHECK(ev.out.find("output SNR of the compressed model against the float model") != std::string::npos);
  const auto e = nlohmann::json::parse(slurp(dir / "e.json"));
  REQUIRE(e["layers"].size() == 2);
  CHECK(e["layers"][0]["layer"] == "conv1");
  // Only conv1 is compressed: fc's output SNR is conv1's error carried forward, finite like it.
  CHECK(e["layers"][0]["output_snr_db"].is_number());
  CHECK(e["output_snr_db"].is_number());
  // Without labels or a compressed model there is nothing to measure, and it says so.
  auto same = run_dkm("evaluate '" + kTiny + "' --weights '" + kWeights + "' --data '" + x + "'");
  CHECK(same.exit_code == 0);
  CHECK(same.out.find("nothing to compare") != std::string::npos);
}

TEST_CASE("dkm evaluate: a container of another model is refused, naming its layer") {
  TempDir dir;
  const std::string x = write_input(dir, 1);
  std::string spec = slurp(kTiny);
  spec.replace(spec.find("\"conv1\""), 7, "\"c1\"");
  std::ofstream(dir / "other.json") << spec;
  auto r = run_dkm("evaluate '" + (dir / "other.json") + "' --weights '" + kWeights + "' --compressed '" + kCompressed +
                   "' --data '" + x + "'");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("layer 'conv1': a conv or linear layer of model 'tiny'") != std::string::npos);
}

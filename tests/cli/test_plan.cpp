// `dkm plan` end to end on the catalogue's tiny model: the plan it writes is one `dkm compress` takes, the
// summary has the sensitivity and the curve, and the files are byte-identical for 1 and 2 threads.
#include <doctest/doctest.h>

#include <random>

#include <nlohmann/json.hpp>

#include "models/tensor_io.hpp"
#include "tests/support.hpp"

using dkm::test::run_dkm;
using dkm::test::slurp;
using dkm::test::TempDir;

TEST_CASE("dkm plan --target-cr: a plan dkm compress takes, the same bytes for 1 and 2 threads") {
  TempDir dir;
  const std::string tiny = dkm::test::source_path("tests/bad-inputs/tiny-model.json");
  const std::string weights = dkm::test::source_path("tests/bad-inputs/run-weights.npz");
  std::mt19937 rng(11);
  std::normal_distribution<float> n(0, 1);
  dkm::Tensor x{{4, 1, 6, 6}, {}};
  for (int64_t i = 0; i < x.numel(); ++i) x.values.push_back(n(rng));
  dkm::write_npy(dir / "x.npy", dkm::Array::from_tensor(x));
  const std::string common = "plan '" + tiny + "' --weights '" + weights + "' --data '" + (dir / "x.npy") + "' --target-cr 1.2";
  auto a = run_dkm(common + " --threads 1 -o '" + (dir / "a.json") + "' --json '" + (dir / "sa.json") + "'");
  REQUIRE(a.exit_code == 0);
  CHECK(a.err.empty());  // no progress bar in a pipe
  CHECK(a.out.find("chosen plan, compressed afresh") != std::string::npos);
  auto b = run_dkm(common + " --threads 2 -o '" + (dir / "b.json") + "' --json '" + (dir / "sb.json") + "'");
  REQUIRE(b.exit_code == 0);
  CHECK(slurp(dir / "a.json") == slurp(dir / "b.json"));
  CHECK(slurp(dir / "sa.json") == slurp(dir / "sb.json"));

  const auto s = nlohmann::json::parse(slurp(dir / "sa.json"));
  CHECK(s["verified"]["compression_ratio_huffman"].get<double>() >= 1.2);
  CHECK(s["sensitivity"][0]["layer"] == "conv1");
  CHECK(s["curve"].size() >= 2);
  CHECK(s["curve"][0].contains("hierarchy_energy_mac_normalised"));
  auto c = run_dkm("compress '" + tiny + "' --weights '" + weights + "' --plan '" + (dir / "a.json") + "' -o '" +
                   (dir / "c.safetensors") + "'");
  CHECK(c.exit_code == 0);
}

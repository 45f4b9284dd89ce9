// `dkm compress MODEL.onnx --onnx-out`: the ONNX file's own weights are compressed and written back as
// codebook[label]; and `--device` says where k-means runs.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "kmeans/container.hpp"
#include "models/onnx.hpp"
#include "tests/support.hpp"
#include "tests/models/test_onnx_graph.hpp"

#ifdef DKM_HAVE_ONNX
namespace {

// input 1x2x6x6 -> Conv 4x2x3x3 (bias) -> Relu -> output
void tiny_conv_model(const std::string& path) {
  dkm::test::OnnxGraph g;
  g.input("x", {1, 2, 6, 6});
  g.init("w", {4, 2, 3, 3}, dkm::test::ramp(72));
  g.init("b", {4}, {0.1f, 0.2f, 0.3f, 0.4f});
  g.node("Conv", {"x", "w", "b"}, {"c"}, "conv");
  g.node("Relu", {"c"}, {"y"}, "relu");
  g.output("y", {1, 4, 4, 4});
  g.save(path);
}

}  // namespace

TEST_CASE("compress an ONNX model with its own weights and write the shared weights back as ONNX") {
  dkm::test::TempDir dir;
  tiny_conv_model(dir / "tiny.onnx");
  std::ofstream(dir / "plan.json") << R"({"format": "dkm-plan/1", "defaults": {"k": 3}})";
  auto r = dkm::test::run_dkm("compress '" + (dir / "tiny.onnx") + "' --plan '" + (dir / "plan.json") + "' -o '" +
                              (dir / "c.safetensors") + "' --onnx-out '" + (dir / "shared.onnx") + "'");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto compressed = dkm::kmeans::read_compressed(dir / "c.safetensors");
  REQUIRE(compressed.layers.size() == 1);
  CHECK(compressed.layers[0].k == 3);
  const dkm::Weights expected = dkm::kmeans::decompress(compressed);
  const auto shared = dkm::models::load_onnx(dir / "shared.onnx", {});
  const auto name = compressed.layers[0].name;
  CHECK(shared.weights.at(name + ".weight").values == expected.at(name + ".weight").values);
  CHECK(shared.weights.at(name + ".bias").values == std::vector<float>{0.1f, 0.2f, 0.3f, 0.4f});
  // 24 kernel rows share 3 centres: at most 3 distinct rows remain.
  std::set<std::vector<float>> rows;
  const auto& v = shared.weights.at(name + ".weight").values;
  for (size_t i = 0; i < v.size(); i += 3) rows.insert({v[i], v[i + 1], v[i + 2]});
  CHECK(rows.size() <= 3);
}

TEST_CASE("--onnx-out needs an ONNX model and a spec without weights needs --weights or --random-weights") {
  dkm::test::TempDir dir;
  auto r = dkm::test::run_dkm("compress lenet5 --plan wrn-16-4-cr47 --random-weights 1 -o '" + (dir / "c") +
                              "' --onnx-out '" + (dir / "o.onnx") + "'");
  CHECK(r.exit_code == 2);
  CHECK(r.err == "dkm: error: --onnx-out needs an .onnx MODEL\n");
  std::ofstream(dir / "plan.json") << R"({"format": "dkm-plan/1", "defaults": {"k": 4}})";
  r = dkm::test::run_dkm("compress lenet5 --plan '" + (dir / "plan.json") + "' -o '" + (dir / "c") + "'");
  CHECK(r.exit_code == 2);
  CHECK(r.err == "dkm: error: give --weights FILE or --random-weights SEED (lenet5 carries no weights)\n");
  CHECK_FALSE(std::filesystem::exists(dir / "c"));
}
#endif

TEST_CASE("--device auto says in one line where k-means runs, and gives the CPU's result without a GPU") {
  dkm::test::TempDir dir;
  std::ofstream(dir / "plan.json") << R"({"format": "dkm-plan/1", "defaults": {"k": 4}})";
  const std::string common = "compress lenet5 --plan '" + (dir / "plan.json") + "' --random-weights 3 -o ";
  auto cpu = dkm::test::run_dkm(common + "'" + (dir / "cpu") + "' --device cpu");
  auto automatic = dkm::test::run_dkm(common + "'" + (dir / "auto") + "' --device auto");
  REQUIRE(cpu.exit_code == 0);
  REQUIRE(automatic.exit_code == 0);
  CHECK(cpu.err.empty());
  CHECK(std::count(automatic.err.begin(), automatic.err.end(), '\n') == 1);
  const bool gpu = automatic.err.find("on the GPU") != std::string::npos;
  if (!gpu) CHECK(automatic.err.find("k-means runs on the CPU") != std::string::npos);
  // The GPU backend is built to give the CPU's labels; without one, auto is the CPU path itself.
  CHECK(dkm::test::slurp(dir / "cpu") == dkm::test::slurp(dir / "auto"));
  auto bad = dkm::test::run_dkm(common + "'" + (dir / "x") + "' --device tpu");
  CHECK(bad.exit_code == 2);
}

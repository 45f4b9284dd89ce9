// A TF.js model.json through every command: `dkm import` to a spec and weights, `info`, `estimate`, and
// `compress` with the model's own weights; bad files end with one error line and exit code 2.
#include <doctest/doctest.h>

#include <fstream>

#include "kmeans/container.hpp"
#include "models/model.hpp"
#include "models/tensor_io.hpp"
#include "tests/models/tfjs_fixture.hpp"

namespace {

// Conv2D 3x3 (8 filters, uint8) -> ReLU -> SeparableConv2D (4 filters, float16) -> GlobalAveragePooling -> Dense 2
dkm::test::TfjsModel small_net() {
  dkm::test::TfjsModel t({8, 8, 3});
  t.layer("Conv2D", "conv", {"x"}, {{"filters", 8}, {"kernel_size", 3}, {"padding", "same"}, {"activation", "relu"}});
  t.layer("SeparableConv2D", "sep", {"conv"}, {{"filters", 4}, {"kernel_size", 3}});
  t.layer("GlobalAveragePooling2D", "gap", {"sep"});
  t.layer("Dense", "fc", {"gap"}, {{"units", 2}});
  std::string bytes;
  for (int i = 0; i < 216; ++i) bytes += static_cast<char>(i);
  t.quantised("conv/kernel", {3, 3, 3, 8}, "uint8", bytes, 0.01, -1.0);
  t.counting("conv/bias", {8});
  std::string halves;
  for (int i = 0; i < 72 + 32; ++i) halves += std::string{'\0', static_cast<char>(0x3c + (i % 3))};  // 1.0, 1.x, 2.x
  t.quantised("sep/depthwise_kernel", {3, 3, 8, 1}, "float16", halves.substr(0, 144));
  t.quantised("sep/pointwise_kernel", {1, 1, 8, 4}, "float16", halves.substr(144));
  t.counting("sep/bias", {4}).counting("fc/kernel", {4, 2}).counting("fc/bias", {2});
  return t;
}

}  // namespace

TEST_CASE("dkm import model.json writes a spec and weights that load as the same model") {
  dkm::test::TempDir dir;
  std::string model = small_net().write(dir);
  auto r = dkm::test::run_dkm("import '" + model + "' -o '" + (dir / "spec.json") + "' --weights-out '" +
                              (dir / "w.safetensors") + "'");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("4 conv/linear") != std::string::npos);
  const auto spec = dkm::models::load_model(dir / "spec.json");
  const auto direct = dkm::models::load_model(model);
  CHECK(spec.total_params() == direct.total_params());
  CHECK(spec.total_macs() == direct.total_macs());
  const dkm::Weights w = dkm::load_weights(dir / "w.safetensors");
  CHECK(w.at("conv.weight").values == direct.weights.at("conv.weight").values);
  CHECK(w.size() == 7);  // conv, sep/depthwise (no bias), sep, fc
}

TEST_CASE("dkm info, estimate and compress read a TF.js model (its folder or model.json)") {
  dkm::test::TempDir dir;
  std::string model = small_net().write(dir);
  auto info = dkm::test::run_dkm("info '" + dir.path.string() + "' --json");
  INFO(info.err);
  REQUIRE(info.exit_code == 0);
  CHECK(info.out.find("\"sep/depthwise\"") != std::string::npos);
  auto estimate = dkm::test::run_dkm("estimate '" + model + "'");
  INFO(estimate.err);
  CHECK(estimate.exit_code == 0);
  std::ofstream(dir / "plan.json") << R"({"format": "dkm-plan/1", "defaults": {"k": 4}})";
  auto compress = dkm::test::run_dkm("compress '" + model + "' --plan '" + (dir / "plan.json") + "' -o '" +
                                     (dir / "c.safetensors") + "'");
  INFO(compress.err);
  REQUIRE(compress.exit_code == 0);
  const auto c = dkm::kmeans::read_compressed(dir / "c.safetensors");
  CHECK(c.layers.size() == 3);  // the three conv layers; plans leave linear layers at float (docs/plan.md)
}

TEST_CASE("a broken TF.js model is one error line naming the file, exit code 2") {
  dkm::test::TempDir dir;
  dkm::test::TfjsModel t = small_net();
  t.shard.pop_back();  // one byte short
  std::string model = t.write(dir);
  auto r = dkm::test::run_dkm("info '" + model + "'");
  CHECK(r.exit_code == 2);
  CHECK(dkm::test::count(r.err, "\n") == 1);
  CHECK(r.err.starts_with("dkm: error: " + model + ": weightsManifest[0]: expected shards of 512 bytes in all (what the group's weights need), got 511"));
  CHECK(r.out.empty());
}

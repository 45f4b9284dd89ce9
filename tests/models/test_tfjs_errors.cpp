// Bad TF.js files that the catalogue (tests/bad-inputs/tfjs-*) cannot hold: files too large to commit,
// devices, and layer settings dkm would otherwise model wrongly. Each is one InputError naming the file.
#include <doctest/doctest.h>

#include <filesystem>

#include "models/error.hpp"
#include "models/tfjs.hpp"
#include "tests/models/tfjs_fixture.hpp"

using namespace dkm::models;
using dkm::test::TempDir;
using dkm::test::TfjsModel;

namespace {

std::string error_of(const std::string& path) {
  try {
    load_tfjs(path);
  } catch (const dkm::InputError& e) {
    return e.what();
  }
  return "no error";
}

std::string error_of(const TfjsModel& t) {
  TempDir dir;
  return error_of(t.write(dir));
}

TfjsModel conv_model() {
  TfjsModel t({4, 4, 1});
  t.layer("Conv2D", "c", {"x"}, {{"filters", 1}, {"kernel_size", 1}}).counting("c/kernel", {1, 1, 1, 1}).counting("c/bias", {1});
  return t;
}

}  // namespace

TEST_CASE("tfjs: a model.json over 64 MiB, a device and a shard grown past its size are refused before reading") {
  TempDir dir;
  std::string path = conv_model().write(dir);
  std::filesystem::resize_file(path, (uint64_t{64} << 20) + 1);  // sparse: nothing is written
  CHECK(error_of(path) == path + ": expected a file of at most 64 MiB (67108864 bytes), got 67108865 bytes");

  TempDir dev;
  std::filesystem::create_symlink("/dev/zero", dev / "model.json");
  CHECK(error_of(dev / "model.json") == dev / "model.json" + ": expected a regular file, got a character device");

  TempDir big;
  std::string model = conv_model().write(big);
  std::filesystem::resize_file(big / "group1-shard1of1.bin", uint64_t{3} << 30);  // sparse 3 GiB shard
  CHECK(error_of(model) ==
        model + ": weightsManifest[0].paths[0]: expected shards of at most 2 GiB (2147483647 bytes) in all");
}

TEST_CASE("tfjs: layer settings dkm cannot model are errors naming the layer and the key") {
  TfjsModel causal = conv_model();
  causal.layers[1]["config"]["padding"] = "causal";
  CHECK(error_of(causal).ends_with(
      "modelTopology.model_config.config.layers[1].config.padding ('c', Conv2D): expected \"valid\" or \"same\", got \"causal\""));

  TfjsModel bilinear({2, 2, 1});
  bilinear.layer("UpSampling2D", "up", {"x"}, {{"size", 2}, {"interpolation", "bilinear"}});
  CHECK(error_of(bilinear).ends_with("config.interpolation ('up', UpSampling2D): expected \"nearest\", got \"bilinear\""));

  TfjsModel padded_add({4, 4, 1});
  padded_add.layer("ZeroPadding2D", "p", {"x"}).layer("Add", "a", {"p", "p"});
  CHECK(error_of(padded_add).ends_with(
      "layers[2] ('a', Add): expected a ZeroPadding2D output to feed a convolution or pooling layer, which takes the padding"));

  TfjsModel reshape({2, 2, 3});
  reshape.layer("Reshape", "r", {"x"}, {{"target_shape", {4, 3}}});
  CHECK(error_of(reshape).ends_with("expected [12] or [1, 1, 12] (a flatten, or features as a 1x1 image), got [4,3]"));

  TfjsModel missing = conv_model();
  missing.weights.erase(1);  // c/bias
  missing.shard.resize(4);
  CHECK(error_of(missing).ends_with("('c', Conv2D): expected the weight 'c/bias' in the weights manifest"));

  TfjsModel relu_cap({1, 1, 1});
  relu_cap.layer("ReLU", "r", {"x"}, {{"max_value", 4.0}});
  CHECK(error_of(relu_cap).ends_with("config.max_value ('r', ReLU): expected no cap or a cap of 6 without a negative slope (relu6)"));
}

// The real models: four uint8-quantised networks of @vladmandic/face-api 1.7.15 (tools/fetch-face-api.sh)
// import with the parameter count an independent numpy reading of the manifest gives, MACs worked out by
// hand from face-api's source, and weights equal to a numpy dequantisation of the published shard.
#include <doctest/doctest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "models/tfjs.hpp"
#include "tests/support.hpp"

using namespace dkm::models;

namespace {

const std::string kFaceApi = dkm::test::source_path("tools/data/face-api");
const char* kPython = "/usr/bin/python3";

bool have(const std::string& net) {
  if (std::filesystem::exists(kFaceApi + "/" + net + "/model.json")) return true;
  std::string why = kFaceApi + "/" + net + " is absent; run tools/fetch-face-api.sh (needs npm and network)";
  dkm::test::skip_under_ctest(why);
  MESSAGE("skipped: " << why);
  return false;
}

// tests/models/tfjs/decode_shard.py on the published manifest: the total element count and the named
// weights' values in Keras order. Empty when numpy is not there.
nlohmann::json numpy_decode(const std::string& net, const std::string& names) {
  if (std::system((std::string(kPython) + " -c 'import numpy' >/dev/null 2>&1").c_str()) != 0) return {};
  dkm::test::TempDir dir;
  std::string folder = kFaceApi + "/" + net;
  std::string cmd = std::string(kPython) + " '" + dkm::test::source_path("tests/models/tfjs/decode_shard.py") + "' '" +
                    folder + "/" + net + "_model-weights_manifest.json' '" + folder + "' " + names + " >'" +
                    (dir / "out") + "'";
  REQUIRE(std::system(cmd.c_str()) == 0);
  return nlohmann::json::parse(dkm::test::slurp(dir / "out"));
}

std::vector<float> values(const nlohmann::json& decoded, const std::string& name) {
  return decoded.at("weights").at(name).at("values").get<std::vector<float>>();
}

// Keras HWIO [kh][kw][in][out] at dkm's OIHW position.
std::vector<float> hwio_as_oihw(const std::vector<float>& k, int64_t kh, int64_t kw, int64_t in, int64_t out) {
  std::vector<float> r(k.size());
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i = 0; i < in; ++i)
      for (int64_t y = 0; y < kh; ++y)
        for (int64_t x = 0; x < kw; ++x) r[((o * in + i) * kh + y) * kw + x] = k[((y * kw + x) * in + i) * out + o];
  return r;
}

}  // namespace

TEST_CASE("tfjs: face-api tiny_face_detector imports with 193,321 parameters and 198,760,528 MACs") {
  if (!have("tiny_face_detector")) return;
  Model m = load_model(kFaceApi + "/tiny_face_detector");
  CHECK(m.input == Shape{3, 416, 416});
  CHECK(m.layers.back().output_shape == Shape{25, 13, 13});  // 13 x 13 cells, 5 anchors x 5 numbers
  int64_t convs = 0;
  for (const auto& l : m.layers) convs += l.kind == LayerKind::conv2d;
  CHECK(convs == 12);  // conv0, five separable convs as two layers each, conv8
  // face-api's runMobilenet: conv0 3x3 'valid' on 416, 2x2 pools, 3x3 separable convs with a 1-pixel pad,
  // a stride-1 pool and a 1x1 conv: output pixels x (depthwise 9 x C + pointwise C x C') per layer.
  const int64_t macs = 414 * 414 * 16 * 27 + 207 * 207 * (16 * 9 + 16 * 32) + 104 * 104 * (32 * 9 + 32 * 64) +
                       52 * 52 * (64 * 9 + 64 * 128) + 26 * 26 * (128 * 9 + 128 * 256) +
                       13 * 13 * (256 * 9 + 256 * 512) + 13 * 13 * 512 * 25;
  CHECK(m.total_macs() == macs);
  CHECK(m.total_params() == 193321);
  CHECK(m.description.find("19 uint8-quantised") != std::string::npos);
}

TEST_CASE("tfjs: face-api tiny_face_detector weights equal numpy's decoding of the shards") {
  if (!have("tiny_face_detector")) return;
  if (std::system((std::string(kPython) + " -c 'import numpy' >/dev/null 2>&1").c_str()) != 0)
    return dkm::test::skip("/usr/bin/python3 with numpy not found");
  Model m = load_model(kFaceApi + "/tiny_face_detector");
  nlohmann::json decoded =
      numpy_decode("tiny_face_detector", "conv0/filters conv1/depthwise_filter conv1/pointwise_filter conv8/bias");
  CHECK(decoded.at("params") == m.total_params());
  CHECK(m.weights.at("conv0.weight").values == hwio_as_oihw(values(decoded, "conv0/filters"), 3, 3, 3, 16));
  // depthwise [3,3,16,1] is HWIO with one input and 16 outputs
  CHECK(m.weights.at("conv1/depthwise.weight").values ==
        hwio_as_oihw(values(decoded, "conv1/depthwise_filter"), 3, 3, 1, 16));
  CHECK(m.weights.at("conv1.weight").values == hwio_as_oihw(values(decoded, "conv1/pointwise_filter"), 1, 1, 16, 32));
  CHECK(m.weights.at("conv8.bias").values == values(decoded, "conv8/bias"));
}

TEST_CASE("tfjs: face-api landmark and expression nets import with their manifests' parameter counts") {
  struct Net {
    const char* name;
    int64_t params, outputs;
    int blocks, convs;
  };
  // src/faceFeatureExtractor/denseBlock.ts on 112: each block halves the size with its conv0 (a plain 3x3
  // conv on the image in block 0, separable after), then convs - 1 separable 3x3 convs; fc on the average.
  auto macs = [](const Net& n) {
    int64_t total = 0, size = 112, in = 3;
    for (int b = 0; b < n.blocks; ++b) {
      const int64_t filters = int64_t{32} << b;
      size /= 2;
      const int64_t pixels = size * size;
      total += b == 0 ? pixels * 27 * filters : pixels * (in * 9 + in * filters);
      total += (n.convs - 1) * pixels * (filters * 9 + filters * filters);
      in = filters;
    }
    return total + in * n.outputs;
  };
  for (Net net : {Net{"face_landmark_68_tiny", 77224, 136, 3, 3}, Net{"face_landmark_68", 356840, 136, 4, 4},
                  Net{"face_expression", 323687, 7, 4, 4}}) {
    CAPTURE(net.name);
    if (!have(net.name)) return;
    Model m = load_model(kFaceApi + "/" + net.name + "/model.json");
    CHECK(m.input == Shape{3, 112, 112});
    CHECK(m.layers.back().output_shape == Shape{net.outputs, 1, 1});
    CHECK(m.total_params() == net.params);
    CHECK(m.total_macs() == macs(net));
    nlohmann::json decoded = numpy_decode(net.name, "fc/weights dense0/conv1/bias");
    if (decoded.empty()) continue;
    CHECK(decoded.at("params") == m.total_params());
    // fc/weights [in, out] -> dkm [out, in]; its input is a 1x1 average, so no NHWC reordering
    std::vector<float> fc = values(decoded, "fc/weights");
    const auto& w = m.weights.at("fc.weight");
    int64_t in = w.shape[1];
    CHECK(hwio_as_oihw(fc, 1, 1, in, net.outputs) == w.values);
    CHECK(m.weights.at("dense0/conv1.bias").values == values(decoded, "dense0/conv1/bias"));
  }
}

TEST_CASE("tfjs: face-api age_gender (TinyXception, two heads) imports with 421,731 parameters and 97,230,080 MACs") {
  if (!have("age_gender")) return;
  Model m = load_model(kFaceApi + "/age_gender");
  CHECK(m.total_params() == 421731);
  // src/xception/TinyXception.ts on 112: conv_in 3x3/2 to 56; reduction blocks (two 3x3 separable convs, a
  // 3x3/2 max pool, a 1x1/2 expansion conv added) to 28, 14; two main blocks of three separable convs at 14;
  // the exit reduction block to 7; a 256 -> 512 separable conv; heads of 1 and 2 on 512 features.
  auto sep = [](int64_t pixels, int64_t in, int64_t out) { return pixels * (in * 9 + in * out); };
  const int64_t macs = 56 * 56 * 32 * 27 + sep(56 * 56, 32, 64) + sep(56 * 56, 64, 64) + 28 * 28 * 32 * 64 +
                       sep(28 * 28, 64, 128) + sep(28 * 28, 128, 128) + 14 * 14 * 64 * 128 +
                       6 * sep(14 * 14, 128, 128) + sep(14 * 14, 128, 256) + sep(14 * 14, 256, 256) +
                       7 * 7 * 128 * 256 + sep(7 * 7, 256, 512) + 512 * 3;
  CHECK(m.total_macs() == macs);
  CHECK(m.find("fc/age")->output_shape == Shape{1, 1, 1});
  CHECK(m.find("fc/gender/softmax") != nullptr);
  nlohmann::json decoded = numpy_decode("age_gender", "fc/gender/weights");
  if (decoded.empty()) return;
  CHECK(decoded.at("params") == m.total_params());
  CHECK(hwio_as_oihw(values(decoded, "fc/gender/weights"), 1, 1, 512, 2) == m.weights.at("fc/gender.weight").values);
}

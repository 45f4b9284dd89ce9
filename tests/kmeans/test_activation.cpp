// Activation-aware compression (docs/kmeans.md "Activation weighting"): the weight each vector gets from
// the calibration statistics, bias correction by hand, the plan keys, the container fields (and old
// containers without them), and the errors for missing or mismatched statistics.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "kmeans/activation.hpp"
#include "kmeans/compress.hpp"
#include "kmeans/container.hpp"
#include "kmeans/plan.hpp"
#include "models/atomic_file.hpp"
#include "models/error.hpp"
#include "models/tensor_io.hpp"
#include "tests/support.hpp"

using namespace dkm;
using namespace dkm::kmeans;

namespace {

// conv "c": 4 -> 4 channels 1x1 (pointwise) and "dw": 4 channels 3x3, groups 4 (depthwise).
models::Model two_convs() {
  return models::parse_model(R"({"format": "dkm-model/1", "name": "two", "input": [4, 6, 6], "layers": [
      {"name": "c", "type": "conv2d", "out_channels": 4, "kernel": 1},
      {"name": "dw", "type": "conv2d", "out_channels": 4, "kernel": 3, "groups": 4, "padding": 1}]})",
                             "two.json");
}

Weights weights_of(const models::Model& m, uint64_t seed) { return random_weights(m, seed); }

ActivationStats stats_of(const std::vector<double>& c_m2, const std::vector<double>& dw_m2) {
  ActivationStats s;
  s.model = "two";
  s.source = "s.json";
  s.layers["c"] = {{0.5, -1.0, 2.0, 0.25}, c_m2};
  s.layers["dw"] = {{1.0, 2.0, 3.0, 4.0}, dw_m2};
  return s;
}

LayerSetting setting_for(const models::Model& m, const std::string& layer, int64_t k, Weighting w, bool bias = false) {
  Plan p;
  p.source = "p";
  p.defaults.k = k;
  p.defaults.weighting = w;
  p.defaults.bias_correction = bias;
  for (auto& s : resolve_plan(p, m))
    if (s.layer == layer) return s;
  FAIL("no such layer");
  return {};
}

}  // namespace

TEST_CASE("activation weights: the second moment of the input channel each vector reads, scaled to [0, 1]") {
  InputMoments m{{0, 0, 0, 0}, {1, 4, 2, 8}};
  // Pointwise [4, 4, 1, 1]: vector (o, i) reads channel i.
  const std::vector<int64_t> pw = {4, 4, 1, 1};
  auto w = activation_weights(pw, Granularity::row, m);
  REQUIRE(w.size() == 16);
  for (int o = 0; o < 4; ++o)
    for (int i = 0; i < 4; ++i) CHECK(w[o * 4 + i] == static_cast<float>(m.second_moment[i] / 8));
  // Depthwise [4, 1, 3, 3], 4 groups: rows of output o read channel o; scalars too.
  const std::vector<int64_t> dw = {4, 1, 3, 3};
  w = activation_weights(dw, Granularity::row, m);
  REQUIRE(w.size() == 12);
  for (int v = 0; v < 12; ++v) CHECK(w[v] == static_cast<float>(m.second_moment[v / 3] / 8));
  w = activation_weights(dw, Granularity::scalar, m);
  REQUIRE(w.size() == 36);
  CHECK(w[35] == 1.0f);
  CHECK(w[9] == 0.5f);
  // Filter vectors span the input channels: one weight per value.
  const std::vector<int64_t> g2 = {2, 2, 1, 2};  // 2 groups of 2 input channels
  w = activation_weights(g2, Granularity::filter, m);
  CHECK(w == std::vector<float>{1.0f / 8, 1.0f / 8, 4.0f / 8, 4.0f / 8, 2.0f / 8, 2.0f / 8, 1.0f, 1.0f});
}

TEST_CASE("bias correction: b' = b - (W_shared - W) mu, per output channel, grouped inputs mapped") {
  InputMoments m{{1.0, -2.0, 0.5, 3.0}, {1, 1, 1, 1}};
  const std::vector<int64_t> shape = {2, 2, 1, 1};  // 2 groups: output 0 reads channels 0-1, output 1 reads 2-3
  std::vector<float> w = {1, 2, 3, 4}, shared = {1.5f, 2, 3, 3};
  std::vector<float> b = {0.25f, -1};
  correct_bias(shape, w, shared, m, b);
  CHECK(b[0] == doctest::Approx(0.25 - (0.5 * 1.0)));
  CHECK(b[1] == doctest::Approx(-1 - (-1.0 * 3.0)));
}

TEST_CASE("activation weighting spends the centres on the inputs that matter") {
  const models::Model m = two_convs();
  const Weights w = weights_of(m, 3);
  // Channel 3 of c's input is 10^4 times as strong as the others.
  const ActivationStats s = stats_of({1, 1, 1, 1e4}, {1, 1, 1, 1});
  auto weighted_error = [&](const CompressedLayer& l) {
    double e = 0;
    const auto& x = w.at("c.weight").values;
    for (int64_t v = 0; v < l.vectors(); ++v) {
      const double d = double(l.codebook[l.labels[v]]) - x[v];
      e += s.layers.at("c").second_moment[v % 4] * d * d;
    }
    return e;
  };
  const LayerSetting plain = setting_for(m, "c", 3, Weighting::plain);
  const LayerSetting act = setting_for(m, "c", 3, Weighting::activation);
  const CompressedLayer lp = compress_layer(w.at("c.weight"), plain, 1);
  const CompressedLayer la = compress_layer(w.at("c.weight"), act, 1, Device::cpu, &s.layers.at("c"));
  CHECK(la.weighting == Weighting::activation);
  CHECK(lp.weighting == Weighting::plain);
  CHECK(weighted_error(la) < weighted_error(lp));
  // The same call twice: the same bits (threads do not matter).
  const CompressedLayer again = compress_layer(w.at("c.weight"), act, 2, Device::cpu, &s.layers.at("c"));
  CHECK(again.labels == la.labels);
  CHECK(again.codebook == la.codebook);
}

TEST_CASE("compress_model: bias correction, the container's fields, and old containers read as plain") {
  const models::Model m = two_convs();
  const Weights w = weights_of(m, 4);
  const ActivationStats s = stats_of({1, 2, 3, 4}, {5, 6, 7, 8});
  Plan p = parse_plan(R"({"format": "dkm-plan/1", "defaults": {"k": 3, "weighting": "activation", "bias_correction": true},
                          "layers": [{"match": "dw", "weighting": "plain", "bias_correction": false}]})",
                      "p.json");
  CompressOptions o;
  o.stats = &s;
  const CompressedModel c = compress_model(m, w, resolve_plan(p, m), o);
  REQUIRE(c.layers.size() == 2);
  CHECK(c.layers[0].weighting == Weighting::activation);
  CHECK(c.layers[0].bias_corrected);
  CHECK(c.layers[1].weighting == Weighting::plain);
  CHECK(!c.layers[1].bias_corrected);
  CHECK(c.layers[1].bias == w.at("dw.bias").values);
  const Weights shared = decompress(c);
  for (int o2 = 0; o2 < 4; ++o2) {
    double delta = 0;
    for (int i = 0; i < 4; ++i)
      delta += (double(shared.at("c.weight").values[o2 * 4 + i]) - w.at("c.weight").values[o2 * 4 + i]) * s.layers.at("c").mean[i];
    CHECK(c.layers[0].bias[o2] == doctest::Approx(w.at("c.bias").values[o2] - delta));
  }
  test::TempDir dir;
  write_compressed(dir / "c.safetensors", c);
  const CompressedModel back = read_compressed(dir / "c.safetensors");
  CHECK(back.layers[0].weighting == Weighting::activation);
  CHECK(back.layers[0].bias_corrected);
  CHECK(back.layers[0].bias == c.layers[0].bias);
  CHECK(back.layers[1].weighting == Weighting::plain);
  // A container written before the fields existed.
  Safetensors raw = read_safetensors(dir / "c.safetensors");
  nlohmann::json layers = nlohmann::json::parse(raw.metadata.at("layers"));
  for (auto& l : layers) l.erase("weighting"), l.erase("bias_corrected");
  raw.metadata["layers"] = layers.dump();
  write_file_atomic(dir / "old.safetensors", encode_safetensors(raw));
  const CompressedModel old = read_compressed(dir / "old.safetensors");
  CHECK(old.layers[0].weighting == Weighting::plain);
  CHECK(!old.layers[0].bias_corrected);
  layers[0]["weighting"] = "loud";
  raw.metadata["layers"] = layers.dump();
  write_file_atomic(dir / "bad.safetensors", encode_safetensors(raw));
  CHECK(test::input_error([&] { read_compressed(dir / "bad.safetensors"); }).find(
            "__metadata__.layers[0].weighting: expected one of plain, activation, got \"loud\"") != std::string::npos);
}

TEST_CASE("plans: weighting and bias_correction keys, and their errors") {
  const Plan p = parse_plan(R"({"format": "dkm-plan/1", "defaults": {"k": 4, "weighting": "activation"}})", "p.json");
  CHECK(p.defaults.weighting == Weighting::activation);
  std::string msg;
  try {
    parse_plan(R"({"format": "dkm-plan/1", "defaults": {"k": 4, "weighting": "awq"}})", "p.json");
  } catch (const InputError& e) {
    msg = e.what();
  }
  CHECK(msg == "p.json: defaults.weighting: expected one of plain, activation, got \"awq\"");
}

TEST_CASE("statistics: missing, of another model, without the layer, or with the wrong channel count") {
  const models::Model m = two_convs();
  const Weights w = weights_of(m, 5);
  const auto settings = resolve_plan(parse_plan(R"({"format": "dkm-plan/1", "defaults": {"k": 3, "weighting": "activation"}})", "p.json"), m);
  CompressOptions o;
  std::string msg;
  try {
    compress_model(m, w, settings, o);
  } catch (const UsageError& e) {
    msg = e.what();
  }
  CHECK(msg.find("layer 'c'") != std::string::npos);
  CHECK(msg.find("--stats STATS") != std::string::npos);
  ActivationStats s = stats_of({1, 2, 3, 4}, {1, 2, 3, 4});
  o.stats = &s;
  s.model = "resnet18";
  CHECK(test::input_error([&] { compress_model(m, w, settings, o); }) ==
        "s.json: model: expected statistics of model \"two\" (dkm calibrate of this model), got \"resnet18\"");
  s.model = "two";
  s.layers.erase("dw");
  CHECK(test::input_error([&] { compress_model(m, w, settings, o); }) ==
        "s.json: layers.dw: expected statistics of conv layer 'dw' of model \"two\", got none");
  s = stats_of({1, 2, 3}, {1, 2, 3, 4});
  CHECK(test::input_error([&] { compress_model(m, w, settings, o); }) ==
        "s.json: layers.c.second_moment: expected 4 values, one per input channel of layer 'c', got 3");
}

// Calibration statistics and evaluation (accuracy, SNR) of the inference engine, checked against direct
// computations on small models.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "models/error.hpp"
#include "models/model.hpp"
#include "models/runtime/calibration.hpp"
#include "models/runtime/evaluation.hpp"
#include "models/tensor_io.hpp"
#include "tests/support.hpp"

namespace {

using dkm::Tensor;
using dkm::Weights;
using dkm::models::Model;
using dkm::runtime::Activations;

Model small_model() {
  return dkm::models::parse_model(R"({"format": "dkm-model/1", "name": "small", "input": [3, 6, 5], "layers": [
      {"name": "c1", "type": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1},
      {"name": "r1", "type": "relu"},
      {"name": "flat", "type": "flatten"},
      {"name": "fc", "type": "linear", "out_features": 5, "bias": false}]})",
                                  "small.json");
}

Weights small_weights(std::mt19937& rng) {
  std::normal_distribution<float> n(0, 1);
  auto t = [&](std::vector<int64_t> shape) {
    Tensor x{std::move(shape), {}};
    x.values.resize(static_cast<size_t>(x.numel()));
    for (float& v : x.values) v = n(rng);
    return x;
  };
  return {{"c1.weight", t({4, 3, 3, 3})}, {"c1.bias", t({4})}, {"fc.weight", t({5, 120})}};
}

Activations data(const Model& m, int64_t images, std::mt19937& rng) {
  std::normal_distribution<float> n(0.5f, 2.0f);
  Tensor x{{images, m.input.c, m.input.h, m.input.w}, {}};
  x.values.resize(static_cast<size_t>(x.numel()));
  for (float& v : x.values) v = n(rng);
  return dkm::runtime::to_activations(m, x, "x.npy");
}

}  // namespace

TEST_CASE("calibrate: per-channel mean, second moment and max |x| of each layer's input") {
  std::mt19937 rng(7);
  Model m = small_model();
  Weights w = small_weights(rng);
  Activations x = data(m, 7, rng);
  auto stats = dkm::runtime::calibrate(m, w, x, {3, 2, "w"});
  REQUIRE(stats.layers.size() == 2);
  CHECK(stats.images == 7);
  // c1 reads the input: its statistics are the data's own, per channel.
  const auto& c1 = stats.layers.at("c1");
  CHECK(c1.values_per_channel == 7 * 30);
  for (int64_t c = 0; c < 3; ++c) {
    double sum = 0, sq = 0, top = 0;
    for (int64_t n = 0; n < 7; ++n)
      for (int64_t i = 0; i < 30; ++i) {
        const double v = x.plane(n, c)[i];
        sum += v, sq += v * v, top = std::max(top, std::abs(v));
      }
    CHECK(c1.mean[c] == doctest::Approx(sum / 210).epsilon(1e-12));
    CHECK(c1.second_moment[c] == doctest::Approx(sq / 210).epsilon(1e-12));
    CHECK(c1.max_abs[c] == top);
  }
  // fc reads the flattened relu output: one channel per feature, all >= 0.
  const auto& fc = stats.layers.at("fc");
  CHECK(fc.mean.size() == 120);
  CHECK(fc.values_per_channel == 7);
  for (size_t i = 0; i < 120; ++i) CHECK(fc.second_moment[i] >= fc.mean[i] * fc.mean[i] * (1 - 1e-12));
  // Neither the batch size nor the thread count changes a bit.
  auto other = dkm::runtime::calibrate(m, w, x, {16, 1, "w"});
  CHECK(other.layers.at("fc").second_moment == fc.second_moment);
  CHECK(other.layers.at("c1").mean == c1.mean);
  // The JSON format reads back to the same numbers.
  auto back = dkm::runtime::parse_calibration(dkm::runtime::to_json(stats), "s.json");
  CHECK(back.layers.at("fc").second_moment == fc.second_moment);
  CHECK(back.layers.at("c1").max_abs == c1.max_abs);
  CHECK(back.model == "small");
}

TEST_CASE("calibrate: malformed statistics files name the JSON path") {
  std::string good = dkm::runtime::to_json({"m", 2, {{"a", {4, {0.5}, {1.0}, {2.0}}}}});
  CHECK_NOTHROW(dkm::runtime::parse_calibration(good, "s.json"));
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  CHECK_THROWS_WITH_AS(dkm::runtime::parse_calibration(replaced("dkm-stats/1", "dkm-stats/2"), "s.json"),
                       "s.json: format: expected \"dkm-stats/1\" (written by `dkm calibrate`)", dkm::InputError);
  CHECK_THROWS_WITH_AS(dkm::runtime::parse_calibration(replaced("1.0", "-1.0"), "s.json"),
                       "s.json: layers.a.second_moment[0]: expected a finite number >= 0", dkm::InputError);
  CHECK_THROWS_WITH_AS(dkm::runtime::parse_calibration(replaced("\"input_channels\": 1", "\"input_channels\": 2"), "s.json"),
                       "s.json: layers.a.mean: expected an array of 2 numbers (input_channels)", dkm::InputError);
}

TEST_CASE("evaluate: equal weights are identical, scaled last-layer weights give the SNR of the scale") {
  std::mt19937 rng(8);
  Model m = small_model();
  Weights w = small_weights(rng);
  Activations x = data(m, 9, rng);
  dkm::runtime::EvaluationSetup setup;
  setup.score = dkm::runtime::score_rule(m, "", {});
  CHECK(setup.score.output == "fc");
  setup.batch = 4;
  auto same = dkm::runtime::evaluate(m, w, &w, x, setup);
  CHECK(std::isinf(same.output_snr_db));
  REQUIRE(same.layer_snr_db.size() == 2);
  CHECK(std::isinf(same.layer_snr_db[1].second));
  // fc has no bias: weights times (1 + e) scale the output by (1 + e), noise / signal = e^2.
  Weights scaled = w;
  for (float& v : scaled["fc.weight"].values) v *= 1.01f;
  auto e = dkm::runtime::evaluate(m, w, &scaled, x, setup);
  CHECK(std::isinf(e.layer_snr_db[0].second));  // c1 unchanged
  CHECK(e.layer_snr_db[1].second == doctest::Approx(40.0).epsilon(1e-4));
  CHECK(e.output_snr_db == doctest::Approx(40.0).epsilon(1e-4));
}

TEST_CASE("evaluate: top-1 and binary accuracy against labels") {
  std::mt19937 rng(9);
  Model m = small_model();
  Weights w = small_weights(rng);
  Activations x = data(m, 6, rng);
  auto out = dkm::runtime::run(m, w, x).at("fc");
  dkm::test::TempDir dir;
  // Labels: the float model's own arg-max for the first 4 images, another class for the last 2.
  Tensor labels{{6}, {}};
  for (int64_t n = 0; n < 6; ++n) {
    const float* v = out.values.data() + n * 5;
    const int64_t top = std::max_element(v, v + 5) - v;
    labels.values.push_back(static_cast<float>(n < 4 ? top : (top + 1) % 5));
  }
  dkm::write_npy(dir / "y.npy", dkm::Array::from_tensor(labels));
  dkm::runtime::EvaluationSetup setup;
  setup.score = dkm::runtime::score_rule(m, "fc", {});
  setup.labels = dkm::runtime::load_labels(dir / "y.npy", 6, m, setup.score);
  auto e = dkm::runtime::evaluate(m, w, nullptr, x, setup);
  CHECK(*e.float_accuracy == doctest::Approx(100.0 * 4 / 6));
  CHECK_FALSE(e.compressed_accuracy);
  // Binary: positive when the largest fc value is > 0.
  setup.score = dkm::runtime::score_rule(m, "", {"fc"});
  std::vector<int64_t> truth;
  for (int64_t n = 0; n < 6; ++n) truth.push_back(*std::max_element(out.values.data() + n * 5, out.values.data() + n * 5 + 5) > 0);
  setup.labels = truth;
  CHECK(*dkm::runtime::evaluate(m, w, nullptr, x, setup).float_accuracy == 100.0);
  // Labels out of range, or not one per image.
  labels.values[2] = 5;
  dkm::write_npy(dir / "bad.npy", dkm::Array::from_tensor(labels));
  CHECK_THROWS_WITH_AS(dkm::runtime::load_labels(dir / "bad.npy", 6, m, dkm::runtime::score_rule(m, "", {})),
                       doctest::Contains("bad.npy: element [2]: expected a class id in [0, 5) (top-1 of 'fc'), got 5"),
                       dkm::InputError);
  CHECK_THROWS_WITH_AS(dkm::runtime::load_labels(dir / "bad.npy", 7, m, dkm::runtime::score_rule(m, "", {})),
                       doctest::Contains("bad.npy: shape: expected (7,): one label per image of --data, got (6)"),
                       dkm::InputError);
  CHECK_THROWS_AS(dkm::runtime::score_rule(m, "nope", {}), dkm::UsageError);
}

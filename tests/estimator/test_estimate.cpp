// estimate() over a whole model, compression settings from plans and compressed models, the sweep and R^2.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "estimator/compression_settings.hpp"
#include "estimator/estimate.hpp"
#include "models/error.hpp"
#include "models/model.hpp"
#include "tests/estimator/fixtures.hpp"

using namespace dkm;
using namespace dkm::estimator;

namespace {

// conv 1->2 (3x3 on 4x4, no pad) then a linear 8->3: small enough to check by hand.
models::Model tiny_model() {
  return models::parse_model(R"({
    "format": "dkm-model/1", "name": "tiny", "input": [1, 4, 4],
    "layers": [
      {"name": "c", "type": "conv2d", "out_channels": 2, "kernel": 3},
      {"name": "f", "type": "flatten"},
      {"name": "fc", "type": "linear", "out_features": 3}
    ]})",
                             "tiny.json");
}

}  // namespace

TEST_CASE("r_squared is the squared correlation of the least-squares line") {
  const std::vector<double> x{1, 2, 3, 4}, y{2, 4, 6, 8}, z{1, 3, 2, 4};
  CHECK(*r_squared(x, y) == doctest::Approx(1.0));
  // z on x: slope 0.8, r = 0.8 -> R^2 = 0.64
  CHECK(*r_squared(x, z) == doctest::Approx(0.64));
  // x = 1,2,3, y = 1,3,2: sxy = 1, sxx = 2, syy = 2 -> r^2 = 1/4.
  CHECK(*r_squared(std::vector<double>{1, 2, 3}, std::vector<double>{1, 3, 2}) == doctest::Approx(0.25));
}

TEST_CASE("r_squared is undefined for one point or a constant series, never 1") {
  const std::vector<double> one{1}, x{1, 2}, flat{5, 5};
  CHECK_FALSE(r_squared(one, one).has_value());
  CHECK_FALSE(r_squared(x, flat).has_value());
  CHECK_FALSE(r_squared(flat, x).has_value());
}

TEST_CASE("sweep: one rate, repeated rates or no conv layer leave R^2 undefined with the reason") {
  const auto m = dkm::models::load_model("lenet5");
  const auto hw = load_profile("eyeriss-65nm");
  const std::vector<double> one{0.5}, same{0.25, 0.25, 0.25}, two{0.5, 0.25};
  const Sweep s1 = sweep(m, hw, one);
  CHECK_FALSE(s1.r2.has_value());
  CHECK(s1.r2_undefined == "R^2 needs at least two different cluster rates");
  const Sweep s2 = sweep(m, hw, same);
  CHECK_FALSE(s2.r2.has_value());
  CHECK_FALSE(s2.r2_without_reuse.has_value());
  CHECK(s2.r2_undefined == "R^2 needs at least two different cluster rates");
  const auto fc = dkm::models::parse_model(R"({"format": "dkm-model/1", "name": "fc", "input": [1, 4, 4],
    "layers": [{"name": "f", "type": "flatten"}, {"name": "fc", "type": "linear", "out_features": 3}]})", "fc.json");
  const Sweep s3 = sweep(fc, hw, two);
  CHECK_FALSE(s3.r2.has_value());
  CHECK(s3.r2_undefined == "the model has no conv layer");
  const Sweep s4 = sweep(m, hw, two);
  CHECK(s4.r2.has_value());
  CHECK(s4.r2_undefined.empty());
}

TEST_CASE("estimate sums the layers, keeps units, and reports the uncompressed baseline when compressed") {
  models::Model m;
  REQUIRE_NOTHROW(m = tiny_model());
  const HwProfile hw = test::tiny_profile();
  const Estimate e = estimate(m, hw);
  REQUIRE(e.layers.size() == 2);
  CHECK(e.profile == "tiny");
  CHECK(e.unit == EnergyUnit::mac_normalised);
  CHECK(e.totals.macs == m.total_macs());
  double h = 0, p = 0;
  for (const auto& l : e.layers) {
    h += l.hierarchy.total_energy();
    p += l.paper.total_energy();
  }
  CHECK(e.totals.hierarchy_energy == doctest::Approx(h));
  CHECK(e.totals.paper_energy == doctest::Approx(p));
  CHECK_FALSE(e.uncompressed.has_value());

  EstimateOptions opt;
  opt.batch = 2;
  LayerCompression c;
  c.k = 2;
  c.index_bits = 1;
  opt.compression["c"] = c;
  const Estimate ec = estimate(m, hw, opt);
  CHECK(ec.batch == 2);
  CHECK(ec.totals.macs == 2 * m.total_macs());
  REQUIRE(ec.uncompressed.has_value());
  CHECK(ec.uncompressed->paper_energy > ec.totals.paper_energy);
  CHECK(ec.layers[0].compression.k == 2);
  CHECK(ec.layers[0].compression.vectors == 6);

  opt.compression.clear();
  opt.compression["nope"] = c;
  CHECK_THROWS_AS(estimate(m, hw, opt), InputError);
  opt.compression.clear();
  c.k = 7;  // more centres than the 6 row vectors
  opt.compression["c"] = c;
  CHECK_THROWS_AS(estimate(m, hw, opt), InputError);
}

TEST_CASE("compression settings from a plan and from a compressed model") {
  kmeans::LayerSetting s;
  s.layer = "c";
  s.vectors = 6;
  s.dim = 3;
  s.k = 3;
  s.sparsity = 0.5;
  s.sparsity_variant = kmeans::SparsityVariant::zero_norm;
  kmeans::LayerSetting unchanged = s;
  unchanged.layer = "d";
  unchanged.k = 6;  // K == N leaves the layer unchanged
  const std::vector<kmeans::LayerSetting> settings{s, unchanged};
  auto from_plan = compression_from_plan(settings);
  REQUIRE(from_plan.size() == 1);
  CHECK(from_plan["c"].k == 3);
  CHECK(from_plan["c"].index_bits == 2);
  CHECK(from_plan["c"].density == 0.5);

  const models::Model m = tiny_model();
  kmeans::CompressedModel cm;
  kmeans::CompressedLayer l;
  l.name = "c";
  l.k = 2;
  l.dim = 3;
  l.codebook = {0, 0, 0, 1, 2, 3};  // centre 0 is all zeros
  l.labels = {0, 1, 1, 1, 1, 1};
  cm.layers.push_back(l);
  auto from_model = compression_from_model(cm, m);
  CHECK(from_model["c"].labels.size() == 6);
  CHECK(from_model["c"].density == doctest::Approx(1.0 - 3.0 / 18.0));
  CHECK(from_model["c"].index_bits == 1);
  cm.layers[0].labels = {0, 1, 2, 1, 1, 1};
  CHECK_THROWS_AS(compression_from_model(cm, m), InputError);
  cm.layers[0].name = "fc";
  CHECK_THROWS_AS(compression_from_model(cm, m), InputError);
}

TEST_CASE("sweep: fewer centres lower both metrics; R^2 over the rates") {
  const models::Model m = models::load_model("lenet5");
  const HwProfile hw = load_profile("eyeriss-65nm");
  const std::vector<double> rates{0.5, 0.1, 0.01};
  const Sweep s = sweep(m, hw, rates);
  REQUIRE(s.points.size() == 3);
  for (size_t i = 1; i < s.points.size(); ++i) {
    CHECK(s.points[i].totals.paper_energy < s.points[i - 1].totals.paper_energy);
    CHECK(s.points[i].totals.hierarchy_energy < s.points[i - 1].totals.hierarchy_energy);
    CHECK(s.points[i].paper_energy_without_reuse <= s.points[i - 1].paper_energy_without_reuse);
  }
  // Linear layers are not shared: the same in every point.
  const double fc0 = s.points[0].all_layers.hierarchy_energy - s.points[0].totals.hierarchy_energy;
  const double fc2 = s.points[2].all_layers.hierarchy_energy - s.points[2].totals.hierarchy_energy;
  CHECK(fc0 == doctest::Approx(fc2));
  std::vector<double> p, h;
  for (const auto& pt : s.points) {
    p.push_back(pt.totals.paper_energy);
    h.push_back(pt.totals.hierarchy_energy);
  }
  CHECK(*s.r2 == doctest::Approx(*r_squared(p, h)));
  CHECK(*s.r2 >= 0.0);
  CHECK(*s.r2 <= 1.0);
  const std::vector<double> bad{0.0};
  CHECK_THROWS_AS(sweep(m, hw, bad), UsageError);
}

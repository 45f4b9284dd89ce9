// The numbers docs/validation.md states, pinned with the tolerance of their printed digits, so a change
// that moves them fails here and the document is updated with it. One TEST_CASE per table of the doc;
// the hierarchy-model numbers (R^2, per-rate hierarchy, VGG-16 conv3_1) move when the mapper does, and
// are re-pinned together with docs/validation.md. The WRN-16-4 plans' compression ratios (docs/plan.md)
// are pinned in test_compression_ratio.cpp.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <fmt/core.h>

#include "estimator/estimate.hpp"
#include "estimator/profile.hpp"
#include "models/model.hpp"

using namespace dkm;
using namespace dkm::estimator;

namespace {

// The value as the document prints it: the tolerance is the rounding of the last printed digit.
std::string printed(double value, int digits) { return fmt::format("{:.{}f}", value, digits); }

Sweep conv8_sweep(const std::string& model, const std::string& profile, const std::vector<double>& rates) {
  EstimateOptions base;
  base.conv_bits = 8;
  return sweep(models::load_model(model), load_profile(profile), rates, base);
}

const std::vector<double> kAlexNetRates{0.5, 0.3, 0.25, 0.2, 0.15, 0.1, 0.05, 0.01};
const std::vector<double> kGoogLeNetRates{0.33, 0.18, 0.05, 0.012};

}  // namespace

TEST_CASE("validation.md: R^2 of the paper metric against the hierarchy over cluster rates") {
  struct Row {
    const char* model;
    const char* profile;
    const std::vector<double>* rates;
    double full, without_reuse;
  };
  const Row rows[] = {{"alexnet", "eyeriss-65nm", &kAlexNetRates, 0.7614, 0.9911},
                      {"googlenet", "eyeriss-65nm", &kGoogLeNetRates, 0.9078, 0.9956},
                      {"alexnet", "eyeriss-like", &kAlexNetRates, 0.7843, 0.9792},
                      {"googlenet", "eyeriss-like", &kGoogLeNetRates, 0.9157, 0.9911}};
  for (const Row& r : rows) {
    INFO(r.model, " on ", r.profile);
    const Sweep s = conv8_sweep(r.model, r.profile, *r.rates);
    REQUIRE(s.r2.has_value());
    CHECK(printed(*s.r2, 4) == printed(r.full, 4));
    CHECK(printed(*s.r2_without_reuse, 4) == printed(r.without_reuse, 4));
  }
}

TEST_CASE("validation.md: AlexNet per rate, conv layers, per dense MAC") {
  const double paper[] = {0.3194, 0.3143, 0.3124, 0.3099, 0.3067, 0.3010, 0.2886, 0.2441};
  const double no_reuse[] = {0.3231, 0.3204, 0.3195, 0.3187, 0.3181, 0.3170, 0.3159, 0.3145};
  const double hierarchy[] = {4.559, 4.457, 4.420, 4.382, 4.360, 4.307, 4.252, 4.168};
  const Sweep s = conv8_sweep("alexnet", "eyeriss-65nm", kAlexNetRates);
  REQUIRE(s.points.size() == 8);
  for (size_t i = 0; i < 8; ++i) {
    INFO("K/N = ", kAlexNetRates[i]);
    const double macs = static_cast<double>(s.points[i].totals.macs);
    CHECK(printed(s.points[i].totals.paper_per_mac(), 4) == printed(paper[i], 4));
    CHECK(printed(s.points[i].paper_energy_without_reuse / macs, 4) == printed(no_reuse[i], 4));
    CHECK(printed(s.points[i].totals.hierarchy_per_mac(), 3) == printed(hierarchy[i], 3));
  }
}

TEST_CASE("validation.md: VGG-16 conv3_1 on eyeriss-like, pJ per MAC by component") {
  const Estimate e = estimate(models::load_model("vgg16"), load_profile("eyeriss-like"));
  const LayerEstimate* l = nullptr;
  for (const auto& le : e.layers)
    if (le.name == "conv3_1") l = &le;
  REQUIRE(l != nullptr);
  CHECK(l->paper.macs == 924844032);
  const double macs = static_cast<double>(l->paper.macs);
  const Hierarchy& h = l->hierarchy;
  auto per_mac = [&](DataType t, Level v) { return h.energy_at(t, v) / macs; };
  CHECK(printed(h.mac_energy / macs, 3) == "2.200");
  CHECK(printed(per_mac(DataType::weights, Level::rf), 3) == "1.025");
  CHECK(printed(per_mac(DataType::inputs, Level::rf), 3) == "1.025");
  CHECK(printed(per_mac(DataType::psums, Level::rf), 3) == "1.879");
  CHECK(printed(h.level_energy(Level::buffer) / macs, 3) == "0.517");
  CHECK(printed(h.level_energy(Level::dram) / macs, 3) == "0.520");
  CHECK(printed(h.level_energy(Level::array) / macs, 3) == "0.414");
  CHECK(printed(h.total_energy() / macs, 3) == "7.579");
}

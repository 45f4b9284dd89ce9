// The mapper inside `estimate`: a given Timeloop mapping reproduces Timeloop's cycles and energy for the
// model's layer, the objectives order the layers' cycles and energies as they should, identical shapes
// are searched once, and a weight-shared layer is mapped legally at its index width beside its codebook.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "estimator/estimate.hpp"
#include "estimator/layer_mapping.hpp"
#include "models/error.hpp"
#include "tests/estimator/timeloop_reference.hpp"
#include "tests/support.hpp"

using namespace dkm;
using namespace dkm::estimator;

TEST_CASE("estimate evaluates a given Timeloop mapping: Timeloop's cycles, its energy within 2 %") {
  const test::Reference ref = test::load_reference();
  const models::Model vgg = models::load_model("vgg16");
  const auto row = std::find_if(ref.layers.begin(), ref.layers.end(), [](const auto& r) {
    return r.at("network") == "vgg16" && r.at("layer") == "features.0";
  });
  REQUIRE(row != ref.layers.end());
  const std::string file = ref.dir + "/maps/vgg16-features.0.txt";
  EstimateOptions o;
  o.mapper = MapperOptions{Objective::energy};
  o.given_mappings["conv1_1"] = {parse_timeloop_map(test::slurp(file), ref.levels, file), file};
  const Estimate e = estimate(vgg, ref.profile, o);
  const LayerEstimate& l = e.layers.front();
  REQUIRE(l.name == "conv1_1");
  REQUIRE(l.mapped);
  CHECK(l.mapped->given);
  CHECK(l.mapped->cycles() == std::stoll(row->at("cycles")));
  const double tl_pj = std::stod(row->at("energy_uJ")) * 1e6;
  CHECK(std::abs(l.mapped->energy() - tl_pj) <= 0.02 * tl_pj);
  // The other layers were searched, each at most the energy of any mapping of it the search saw priced.
  CHECK_FALSE(e.layers[1].mapped->given);

  EstimateOptions wrong = o;
  wrong.given_mappings.clear();
  wrong.given_mappings["conv1_2"] = o.given_mappings["conv1_1"];  // C = 3 where conv1_2 has 64
  CHECK_THROWS_AS(estimate(vgg, ref.profile, wrong), InputError);
  wrong.given_mappings.clear();
  wrong.given_mappings["pool1"] = o.given_mappings["conv1_1"];
  CHECK_THROWS_AS(estimate(vgg, ref.profile, wrong), InputError);
}

TEST_CASE("the energy objective never spends more energy, the delay objective never takes more cycles") {
  const HwProfile p = load_profile("eyeriss-like-timeloop");
  const models::Model m = models::load_model("resnet18");
  EstimateOptions en, de;
  en.mapper = MapperOptions{Objective::energy};
  de.mapper = MapperOptions{Objective::delay};
  const Estimate a = estimate(m, p, en), b = estimate(m, p, de);
  REQUIRE(a.layers.size() == b.layers.size());
  for (size_t i = 0; i < a.layers.size(); ++i) {
    CAPTURE(a.layers[i].name);
    CHECK(a.layers[i].mapped->energy() <= b.layers[i].mapped->energy() * (1 + 1e-12));
    CHECK(b.layers[i].mapped->cycles() <= a.layers[i].mapped->cycles());
    CHECK(a.layers[i].mapped->utilization > 0);
    CHECK(a.layers[i].mapped->utilization <= 1);
  }
  CHECK(a.totals.mapped_energy <= b.totals.mapped_energy);
  CHECK(b.totals.mapped_cycles <= a.totals.mapped_cycles);
}

TEST_CASE("identical layer shapes are searched once") {
  const HwProfile p = load_profile("eyeriss-like-timeloop");
  const models::Model m = models::load_model("resnet50");
  MappingCache cache(p, {Objective::energy});
  std::set<std::pair<std::array<int64_t, kDims>, int64_t>> shapes;
  for (const models::Layer& layer : m.layers) {
    if (!layer.has_macs()) continue;
    const ConvProblem prob = conv_problem(m, layer, 1);
    const LayerMapping first = map_layer(cache, prob, {});
    const int64_t searched = cache.searches();
    CHECK(map_layer(cache, prob, {}).mapping == first.mapping);
    CHECK(cache.searches() == searched);
    shapes.insert({workload_of(prob).bound, workload_of(prob).stride_h});
  }
  CHECK(cache.searches() == static_cast<int64_t>(shapes.size()));  // ResNet-50 strides are square, dilation 1
}

TEST_CASE("a weight-shared layer maps at its index width beside its codebook, legally") {
  const HwProfile p = load_profile("eyeriss-like-timeloop");
  const models::Model m = models::load_model("wrn-16-4");
  MappingCache cache(p, {Objective::energy});
  for (const models::Layer& layer : m.layers) {
    if (layer.kind != models::LayerKind::conv2d) continue;
    const ConvProblem prob = conv_problem(m, layer, 1);
    LayerCompression c;
    c.k = 16;
    c.index_bits = 4;
    const LayerMapping shared = map_layer(cache, prob, c);
    const std::vector<LevelCosts>& levels = cache.levels(space_bits(prob, c, p));
    CHECK(check_mapping(workload_of(prob), levels, shared.mapping) == "");
    CHECK(check_constraints(p, shared.mapping) == "");
    // The codebook (16 vectors of the layer's row length at 16 bits) takes weights_spad capacity where it fits.
    const double codebook_words = std::ceil(16.0 * static_cast<double>(vector_dim(prob, c.granularity)) * 16 / 16);
    CHECK(levels[4].capacity_words == (codebook_words + 1 <= 192 ? 192 - static_cast<int64_t>(codebook_words) : 192));
    // The search at the shared widths does at least as well as the dense layer's mapping priced there.
    const LayerMapping dense = map_layer(cache, prob, {});
    if (const auto on_dense = price_on(cache, prob, c, dense.mapping)) CHECK(shared.group.energy <= on_dense->energy);
    CHECK(shared.group.energy < dense.group.energy);  // 4-bit indexes cost less to move than 16-bit weights
  }
}

TEST_CASE("a layer no mapping of the profile can hold is counted and left out of the mapped figures, not an error") {
  // ViT's patch embedding: a 16 x 16 kernel, where eyeriss-65nm's row-stationary constraint unrolls the
  // kernel rows over its 12 PE rows. The 1 x 1 conv after it maps.
  const models::Model m = models::parse_model(R"({"format": "dkm-model/1", "name": "patches", "input": [3, 64, 64],
    "layers": [{"name": "patch", "type": "conv2d", "out_channels": 8, "kernel": 16, "stride": 16},
               {"name": "mix", "type": "conv2d", "out_channels": 8, "kernel": 1}]})", "patches.json");
  const HwProfile p = load_profile("eyeriss-65nm");
  EstimateOptions o;
  o.mapper = MapperOptions{Objective::energy};
  const Estimate e = estimate(m, p, o);
  REQUIRE(e.layers.size() == 2);
  CHECK_FALSE(e.layers[0].mapped);
  REQUIRE(e.layers[1].mapped);
  CHECK(e.totals.unmapped_layers == 1);
  CHECK(e.totals.mapped_macs == e.layers[1].paper.macs);
  CHECK(e.totals.mapped_energy == doctest::Approx(e.layers[1].mapped->energy()));
  CHECK(e.layers[0].paper.total_energy() > 0);  // still priced by both metrics
  CHECK(e.layers[0].hierarchy.total_energy() > 0);
  // map_layer itself still refuses the layer; estimate is where it is counted.
  MappingCache cache(p, {Objective::energy});
  CHECK_THROWS_AS(map_layer(cache, conv_problem(m, m.layers[0], 1), {}), InputError);
}

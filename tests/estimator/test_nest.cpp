// The Timeloop-style cost model against Timeloop v3.0.3 itself: evaluating Timeloop's own mapping of
// every reference layer (its map.txt) on eyeriss-like-timeloop reproduces its access counts per level
// and data space within 1 % and its energy per component within 2 %.
#include <doctest/doctest.h>

#include <cmath>
#include <map>

#include "estimator/mapper.hpp"
#include "estimator/nest.hpp"
#include "estimator/profile.hpp"
#include "models/error.hpp"
#include "tests/estimator/timeloop_reference.hpp"
#include "tests/support.hpp"

using namespace dkm;
using namespace dkm::estimator;

namespace {

bool near(double got, double want, double rel) {
  return std::abs(got - want) <= rel * std::abs(want) + 1e-9;
}

struct Evaluated {
  Workload w;
  LoopNest m;
  NestResult r;
};

}  // namespace

TEST_CASE("Timeloop's own mappings reproduce its access counts and energies on every reference layer") {
  const test::Reference ref = test::load_reference();
  const std::string& dir = ref.dir;
  const HwProfile& p = ref.profile;
  const std::vector<LevelCosts>& levels = ref.levels;
  const auto& layers = ref.layers;

  std::map<std::string, Evaluated> by_layer;
  for (const auto& row : layers) {
    const std::string key = row.at("network") + "-" + row.at("layer");
    Evaluated e;
    e.w = test::reference_workload(row);
    e.m = parse_timeloop_map(test::slurp(dir + "/maps/" + key + ".txt"), levels, key);
    REQUIRE_MESSAGE(check_mapping(e.w, levels, e.m) == "", key);
    REQUIRE_MESSAGE(check_constraints(p, e.m) == "", key);
    e.r = evaluate(e.w, levels, e.m, p.mac_energy);
    CHECK_MESSAGE(e.r.cycles == std::stoll(row.at("cycles")), key);
    const double macs = std::stod(row.at("macs"));
    CHECK(e.r.macs == static_cast<int64_t>(macs));
    for (size_t l = 0; l < levels.size(); ++l) {
      if (levels[l].name == "DummyBuffer") continue;
      const double fj = e.r.levels[l].energy / macs * 1000.0;
      CHECK_MESSAGE(near(fj, std::stod(row.at("fJ_per_MAC_" + levels[l].name)), 0.02), key, " ", levels[l].name);
    }
    CHECK_MESSAGE(near(e.r.energy / 1e6, std::stod(row.at("energy_uJ")), 0.02), key);
    by_layer[key] = std::move(e);
  }

  const auto accesses = test::read_csv(dir + "/timeloop-v3-eyeriss-like-accesses.csv");
  REQUIRE(accesses.size() > 113 * 5);
  for (const auto& row : accesses) {
    const std::string key = row.at("network") + "-" + row.at("layer");
    REQUIRE(by_layer.count(key) == 1);
    const Evaluated& e = by_layer.at(key);
    size_t l = 0;
    while (l < levels.size() && levels[l].name != row.at("level")) ++l;
    REQUIRE_MESSAGE(l < levels.size(), row.at("level"));
    const std::string space = row.at("dataspace");
    const size_t s = space == "Weights" ? 0 : space == "Inputs" ? 1 : 2;
    const SpaceCounts& c = e.r.levels[l].space[s];
    const std::string where = key + " " + row.at("level") + " " + space;
    CHECK_MESSAGE(e.r.levels[l].instances == std::stoll(row.at("utilized_instances")), where);
    CHECK_MESSAGE(c.tile == std::stoll(row.at("utilized_capacity")), where);
    CHECK_MESSAGE(near(static_cast<double>(c.reads), std::stod(row.at("reads_per_instance")), 0.01), where);
    CHECK_MESSAGE(near(static_cast<double>(c.fills), std::stod(row.at("fills_per_instance")), 0.01), where);
    CHECK_MESSAGE(near(static_cast<double>(c.updates), std::stod(row.at("updates_per_instance")), 0.01), where);
    if (s == 2) CHECK_MESSAGE(c.partition == std::stoll(row.at("partition_size")), where);
  }
}

TEST_CASE("a Timeloop map.txt with an unknown level or a malformed loop is an error naming the line") {
  const HwProfile p = load_profile("eyeriss-like-timeloop");
  const std::vector<LevelCosts> levels = level_costs(p, {16, 16, 16});
  CHECK_THROWS_WITH_AS(parse_timeloop_map("DRAM [ ]\n| for M in [0:4)\nL2 [ ]\n", levels, "m.txt"),
                       doctest::Contains("line 3"), InputError);
  CHECK_THROWS_WITH_AS(parse_timeloop_map("DRAM [ ]\n| for X in [0:4)\n", levels, "m.txt"),
                       doctest::Contains("line 2"), InputError);
  CHECK_THROWS_WITH_AS(parse_timeloop_map("DRAM [ ]\n| for M in [0:0)\n", levels, "m.txt"),
                       doctest::Contains("positive integer"), InputError);
  CHECK_THROWS_WITH_AS(parse_timeloop_map("| for M in [0:4)\n", levels, "m.txt"),
                       doctest::Contains("level header"), InputError);
  const LoopNest m = parse_timeloop_map("DRAM [ ]\n| for M in [0:4)\n", levels, "m.txt");
  Workload w;
  w[Dim::M] = 8;
  CHECK(check_mapping(w, levels, m).find("multiply to 4") != std::string::npos);
}

TEST_CASE("a fan-out that forwards inputs between neighbours: the parent sends what the PEs together lack") {
  // A 1-D convolution, 4 outputs x 3 taps: 4 PEs each hold one output (Q unrolled); the taps (S) are a
  // temporal loop above them, so each PE receives 3 inputs, one per step.
  Workload w;
  w[Dim::Q] = 4;
  w[Dim::S] = 3;
  LevelCosts dram{.name = "DRAM", .keeps = {true, true, true}};
  LevelCosts buf{.name = "buf", .keeps = {false, true, false}, .capacity_words = 64, .fanout_x = 4};
  LevelCosts pe{.name = "pe", .keeps = {true, true, true}, .capacity_words = 3};
  for (LevelCosts* l : {&dram, &buf, &pe}) l->read = l->fill = l->update = {1, 1, 1};
  LoopNest m{{{}, {{Dim::S, 3, LoopKind::temporal}, {Dim::Q, 4, LoopKind::spatial_x}}, {}}};
  const int in = static_cast<int>(Space::inputs);
  REQUIRE(check_mapping(w, {dram, buf, pe}, m) == "");
  const NestResult own = evaluate(w, {dram, buf, pe}, m, 0);
  CHECK(own.levels[2].space[in].fills == 3);   // per PE
  CHECK(own.levels[1].space[in].reads == 12);  // every PE's 3 inputs
  buf.forwards[in] = true;
  const NestResult fwd = evaluate(w, {dram, buf, pe}, m, 0);
  CHECK(fwd.levels[2].space[in].fills == 3);  // a PE still receives 3, now mostly from its neighbour
  CHECK(fwd.levels[1].space[in].reads == 6);  // the 4-input window, then one new input per step
  CHECK(fwd.levels[1].space[in].fills == own.levels[1].space[in].fills);
  CHECK(fwd.energy == doctest::Approx(own.energy - 6));
}

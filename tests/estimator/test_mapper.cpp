// The mapping search against Timeloop v3.0.3's mapper on the same architecture and constraints: with
// Timeloop's objective (delay first, energy breaks ties) dkm never takes more cycles, and at equal cycles
// at most 1.05 x the energy; with the energy objective it never spends more energy. Energies are compared
// in one cost model: Timeloop's mapping (its map.txt) priced by nest.hpp, which test_nest shows within
// 0.5 % of Timeloop's own figures. Every mapping the mapper returns is legal under the same constraints.
#include <doctest/doctest.h>

#include <array>
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

TEST_CASE("the mapper matches or beats Timeloop's mapper on every reference layer, with legal mappings") {
  const test::Reference ref = test::load_reference();
  const std::string& dir = ref.dir;
  const HwProfile& p = ref.profile;
  const std::vector<LevelCosts>& levels = ref.levels;
  const auto& layers = ref.layers;
  // Count-weighted pJ/MAC per network: MACs, delay-energy energy, energy-objective energy.
  std::map<std::string, std::array<double, 3>> nets;
  for (const auto& row : layers) {
    const std::string key = row.at("network") + "-" + row.at("layer");
    const Workload w = test::reference_workload(row);
    const int64_t tl_cycles = std::stoll(row.at("cycles"));
    const LoopNest tl_map = parse_timeloop_map(test::slurp(dir + "/maps/" + key + ".txt"), levels, key);
    const double tl_pj = evaluate(w, levels, tl_map, p.mac_energy).energy;

    const MapResult de = search_mapping(w, p, levels, p.mac_energy, {Objective::delay_energy});
    CHECK_MESSAGE(check_mapping(w, levels, de.mapping) == "", key);
    CHECK_MESSAGE(check_constraints(p, de.mapping) == "", key);
    CHECK_MESSAGE(de.cost.cycles <= tl_cycles, key);
    if (de.cost.cycles == tl_cycles) CHECK_MESSAGE(de.cost.energy <= 1.05 * tl_pj, key);

    const MapResult en = search_mapping(w, p, levels, p.mac_energy, {Objective::energy});
    CHECK_MESSAGE(check_mapping(w, levels, en.mapping) == "", key);
    CHECK_MESSAGE(check_constraints(p, en.mapping) == "", key);
    CHECK_MESSAGE(en.cost.energy <= tl_pj * (1 + 1e-9), key);
    // The re-evaluation of the returned mapping is the result the search reported.
    CHECK(evaluate(w, levels, en.mapping, p.mac_energy).energy == en.cost.energy);
    const double count = std::stod(row.at("count_in_network"));
    auto& n = nets[row.at("network")];
    n[0] += static_cast<double>(w.macs()) * count;
    n[1] += de.cost.energy * count;
    n[2] += en.cost.energy * count;
  }
  // docs/validation.md's table: columns 5 (dkm delay-energy) and 7 (dkm energy), 3 decimals.
  const std::string doc = test::slurp(test::source_path("docs/validation.md"));
  for (const auto& [net, n] : nets) {
    const size_t at = doc.find("| " + net + " | ");
    REQUIRE_MESSAGE(at != std::string::npos, net);
    std::vector<std::string> cells;
    std::string cell;
    for (size_t i = at + 1; i < doc.size() && doc[i] != '\n'; ++i) {
      if (doc[i] == '|') cells.push_back(cell), cell.clear();
      else cell += doc[i];
    }
    REQUIRE(cells.size() >= 7);
    CHECK_MESSAGE(std::abs(std::stod(cells[4]) - n[1] / n[0]) < 0.0006, net);
    CHECK_MESSAGE(std::abs(std::stod(cells[6]) - n[2] / n[0]) < 0.0006, net);
  }
}

TEST_CASE("objectives parse by name and nothing else") {
  CHECK(parse_objective("delay-energy", "--objective") == Objective::delay_energy);
  CHECK(parse_objective("edp", "--objective") == Objective::edp);
  CHECK_THROWS_AS(parse_objective("speed", "--objective"), InputError);
}

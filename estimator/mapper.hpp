#pragma once
// The mapping search: for one layer, a deterministic pruned exhaustive search over the tilings of
// N, M, C, P, Q, R, S across a profile's storage levels (divisor factors only), the loop orders its
// constraints leave open and the spatial unrolling its fan-outs allow, under the capacity constraints;
// every candidate is priced by the Timeloop-style cost model (estimator/nest.hpp). docs/hwprofile.md,
// "The mapper", says what is searched and what is pruned.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "estimator/nest.hpp"
#include "estimator/profile.hpp"

namespace dkm::estimator {

enum class Objective { energy, delay, edp, delay_energy };
std::string_view to_string(Objective o);  // "energy", "delay", "edp", "delay-energy"
// Throws dkm::InputError naming `where` for anything but the four names.
Objective parse_objective(std::string_view text, const std::string& where);

// Bits of a datum per data space, and what a weight occupies where it is kept: a shared weight is an
// index of index_bits (the codebook is priced by the caller).
struct SpaceBits {
  double weights = 16, inputs = 16, outputs = 16;
  // A shared layer's codebook: held whole beside the indexes at every bounded level that keeps weights
  // and can hold it with room for one index; it takes that capacity there.
  double codebook = 0;
};

// The cost-model view of a profile's levels at these widths: a datum of b bits costs b / word_bits of a
// word access and occupies b / word_bits words.
std::vector<LevelCosts> level_costs(const HwProfile& profile, const SpaceBits& bits);

struct MapperOptions {
  Objective objective = Objective::energy;
};

struct MapResult {
  LoopNest mapping;
  NestResult cost;
  int64_t candidates = 0;  // legal mappings priced
};

// The best mapping of `w` on `levels` under `profile`'s constraints (ties broken by the first found in
// the search's fixed order). Throws dkm::InputError when no legal mapping exists.
MapResult search_mapping(const Workload& w, const HwProfile& profile, const std::vector<LevelCosts>& levels,
                         double mac_energy, const MapperOptions& options);

// Whether `m` keeps `profile`'s mapping constraints (factors, spatial axes); "" or the first violation.
std::string check_constraints(const HwProfile& profile, const LoopNest& m);

}  // namespace dkm::estimator

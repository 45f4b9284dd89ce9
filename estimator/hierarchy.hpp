#pragma once
// A row-stationary hierarchy model in the style of Eyeriss (Chen et al. ISCA 2016) and Yang et al.
// (CVPR 2017): a layer is mapped onto the profile's PE array, scratchpads and global buffer with a
// documented deterministic rule (docs/hwprofile.md, "Row-stationary mapping"); per data type and level
// the model counts exact integer accesses, and energy = counts x profile costs + MACs x MAC energy.
#include <array>
#include <cstdint>

#include "estimator/problem.hpp"
#include "estimator/profile.hpp"

namespace dkm::estimator {

// The mapping of one group of a layer (all groups map alike).
struct Mapping {
  int64_t pe_set_rows = 0;     // filter rows per PE set (<= PE rows); the kernel is folded beyond
  int64_t kernel_row_folds = 0;
  int64_t strip_rows = 0;      // output rows per pass (<= PE columns)
  int64_t strips = 0;
  int64_t sets = 0;            // PE sets that fit the array side by side
  int64_t filters_per_pe = 0;  // p: filters interleaved in one PE
  int64_t channels_per_pe = 0; // q: input channels interleaved in one PE
  int64_t sets_on_filters = 0, sets_on_channels = 0;
  int64_t filter_folds = 0, channel_folds = 0;
  int64_t batch_block = 0;     // images processed while weights stay in the PEs
  bool inputs_stay_in_buffer = false;  // a strip's inputs are reused from the buffer across filter folds
  bool psums_stay_in_buffer = false;   // false: partial sums spill to DRAM between channel folds
  int64_t active_pes = 0;
};

Mapping map_row_stationary(const ConvProblem& problem, const HwProfile& profile);

using AccessTable = std::array<std::array<int64_t, 4>, 4>;  // [DataType][Level], data accesses
using EnergyTable = std::array<std::array<double, 4>, 4>;   // [DataType][Level], profile unit

struct Hierarchy {
  Mapping mapping;
  int64_t macs = 0;          // executed MACs (zero-weight MACs gated off under pruning)
  AccessTable accesses{};    // weights: index accesses count as weight accesses when shared
  EnergyTable energy{};
  double mac_energy = 0;
  int64_t weight_feed_reads = 0;  // weight reads at the level that feeds the array (dense layer)
  int64_t input_feed_reads = 0;   // input reads at the level that feeds the array (dense layer)

  int64_t at(DataType t, Level l) const { return accesses[static_cast<size_t>(t)][static_cast<size_t>(l)]; }
  double energy_at(DataType t, Level l) const { return energy[static_cast<size_t>(t)][static_cast<size_t>(l)]; }
  double level_energy(Level l) const;
  double type_energy(DataType t) const;
  double total_energy() const;
};

// Throws dkm::InputError when a count does not fit in 64 bits.
Hierarchy hierarchy_energy(const ConvProblem& problem, const LayerCompression& c, const HwProfile& profile);

}  // namespace dkm::estimator

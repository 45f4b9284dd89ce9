#pragma once
// The mapper applied to a model's layers: a conv, linear or matmul layer as the mapper's workload (one
// group; the groups map alike), the data widths its weights take where they are kept (an index of
// index_bits when the layer is weight-shared), and a cache that searches each distinct workload once,
// so that identical layer shapes are mapped once per profile, objective and widths.
#include <map>
#include <optional>
#include <string>
#include <tuple>

#include "estimator/mapper.hpp"
#include "estimator/problem.hpp"

namespace dkm::estimator {

// One group of `p`: N = batch, M = output channels, C = input channels (per group), P x Q = output
// rows x columns, R x S = kernel rows x columns, with the layer's strides and dilations.
Workload workload_of(const ConvProblem& p);

// Widths of a datum per data space where it is kept: weights at the layer's weight width (an index of
// index_bits when shared, plus the codebook: k vectors of the layer's weight width), inputs at its
// activation width, partial sums at the profile's psum width.
SpaceBits space_bits(const ConvProblem& p, const LayerCompression& c, const HwProfile& profile);

class MappingCache;

// One layer's mapping (one group; the groups run one after another on the same array).
struct LayerMapping {
  LoopNest mapping;
  NestResult group;            // counts and energy of one group, profile unit
  int64_t groups = 1;
  bool given = false;          // evaluated from a map.txt, not searched
  double utilization = 0;      // MACs / (cycles x the profile's PEs)
  double energy() const { return group.energy * static_cast<double>(groups); }
  int64_t cycles() const { return group.cycles * groups; }
  // Loads per weight and per input at the level that feeds the PE array (the innermost level keeping
  // the data above the innermost fan-out): the paper metric's N_w and N_x.
  double weight_loads = 0, input_loads = 0;
};

// The best mapping of `p` compressed as `c`, or `given` (read from `given_source`) evaluated instead;
// a given mapping that breaks the profile's capacities or constraints is a dkm::InputError naming
// `given_source`.
LayerMapping map_layer(MappingCache& cache, const ConvProblem& p, const LayerCompression& c, const LoopNest* given = nullptr,
                       const std::string& given_source = "");

// The same layer priced on another layer's mapping (the dense layer's, for a compressed one); nullopt
// where that mapping does not fit the compressed layer's capacities.
std::optional<NestResult> price_on(MappingCache& cache, const ConvProblem& p, const LayerCompression& c, const LoopNest& m);

// One line per level with loops, outermost first: "DRAM: C10 M4 | shared_glb: Q14x ..." (x / y: spatial).
std::string format_mapping_line(const std::vector<LevelCosts>& levels, const LoopNest& m);

class MappingCache {
 public:
  MappingCache(const HwProfile& profile, MapperOptions options) : profile_(profile), options_(options) {}
  // The best mapping of `w` with data at `bits` and MACs at `mac_energy` (profile unit).
  const MapResult& map(const Workload& w, const SpaceBits& bits, double mac_energy);
  // The cost-model levels at `bits` (built once per widths).
  const std::vector<LevelCosts>& levels(const SpaceBits& bits);
  int64_t searches() const { return searches_; }  // distinct workloads searched so far
  const HwProfile& profile() const { return profile_; }
  const MapperOptions& options() const { return options_; }

 private:
  using BitsKey = std::tuple<double, double, double, double>;
  using Key = std::tuple<std::array<int64_t, kDims>, std::array<int64_t, 4>, BitsKey, double>;
  const HwProfile& profile_;
  MapperOptions options_;
  std::map<BitsKey, std::vector<LevelCosts>> levels_;
  std::map<Key, MapResult> results_;
  int64_t searches_ = 0;
};

}  // namespace dkm::estimator

#include "estimator/layer_mapping.hpp"

#include <fmt/core.h>

#include "models/error.hpp"

namespace dkm::estimator {

namespace {

// The innermost level keeping space s at or above the innermost fan-out (the level feeding the array).
int feed_level(const std::vector<LevelCosts>& levels, Space s) {
  int last_fanout = -1;
  for (size_t l = 0; l < levels.size(); ++l)
    if (levels[l].fanout_x * levels[l].fanout_y > 1) last_fanout = static_cast<int>(l);
  int feed = -1;
  for (int l = 0; l < static_cast<int>(levels.size()); ++l)
    if (levels[static_cast<size_t>(l)].keeps[static_cast<size_t>(s)] && (l <= last_fanout || feed < 0)) feed = l;
  return feed;
}

double loads_per_datum(const std::vector<LevelCosts>& levels, const NestResult& r, Space s, int64_t data) {
  const int l = feed_level(levels, s);
  if (l < 0 || data <= 0) return 0;
  const LevelResult& lr = r.levels[static_cast<size_t>(l)];
  return static_cast<double>(lr.space[static_cast<size_t>(s)].reads) * static_cast<double>(lr.instances) /
         static_cast<double>(data);
}

double mac_energy_of(const ConvProblem& p, const HwProfile& profile) { return profile.mac_energy_at(p.weight_bits, p.act_bits); }

}  // namespace

Workload workload_of(const ConvProblem& p) {
  Workload w;
  w[Dim::N] = p.batch;
  w[Dim::M] = p.out_channels;
  w[Dim::C] = p.in_channels;
  w[Dim::P] = p.out_h;
  w[Dim::Q] = p.out_w;
  w[Dim::R] = p.kernel_h;
  w[Dim::S] = p.kernel_w;
  w.stride_h = p.stride_h;
  w.stride_w = p.stride_w;
  w.dilation_h = p.dilation_h;
  w.dilation_w = p.dilation_w;
  return w;
}

SpaceBits space_bits(const ConvProblem& p, const LayerCompression& c, const HwProfile& profile) {
  SpaceBits b;
  b.weights = c.shared() ? static_cast<double>(c.index_bits) : static_cast<double>(p.weight_bits);
  b.inputs = static_cast<double>(p.act_bits);
  b.outputs = static_cast<double>(profile.psum_bits);
  if (c.shared()) b.codebook = static_cast<double>(c.k) * static_cast<double>(vector_dim(p, c.granularity)) * p.weight_bits;
  return b;
}

LayerMapping map_layer(MappingCache& cache, const ConvProblem& p, const LayerCompression& c, const LoopNest* given,
                       const std::string& given_source) {
  const Workload w = workload_of(p);
  const SpaceBits bits = space_bits(p, c, cache.profile());
  const std::vector<LevelCosts>& levels = cache.levels(bits);
  LayerMapping out;
  out.groups = p.groups;
  if (given) {
    std::string why = check_mapping(w, levels, *given);
    if (why.empty()) why = check_constraints(cache.profile(), *given);
    if (!why.empty())
      throw InputError(given_source, "", fmt::format("a mapping legal on profile {} ({})", cache.profile().name, why));
    out.mapping = *given;
    out.group = evaluate(w, levels, *given, mac_energy_of(p, cache.profile()));
    out.given = true;
  } else {
    const MapResult& r = cache.map(w, bits, mac_energy_of(p, cache.profile()));
    out.mapping = r.mapping;
    out.group = r.cost;
  }
  out.utilization = out.group.utilization(cache.profile().pes());
  out.weight_loads = loads_per_datum(levels, out.group, Space::weights, w[Dim::M] * w[Dim::C] * w[Dim::R] * w[Dim::S]);
  const int64_t in_rows = (w[Dim::P] - 1) * w.stride_h + (w[Dim::R] - 1) * w.dilation_h + 1;
  const int64_t in_cols = (w[Dim::Q] - 1) * w.stride_w + (w[Dim::S] - 1) * w.dilation_w + 1;
  out.input_loads = loads_per_datum(levels, out.group, Space::inputs, w[Dim::N] * w[Dim::C] * in_rows * in_cols);
  return out;
}

std::optional<NestResult> price_on(MappingCache& cache, const ConvProblem& p, const LayerCompression& c, const LoopNest& m) {
  const Workload w = workload_of(p);
  const std::vector<LevelCosts>& levels = cache.levels(space_bits(p, c, cache.profile()));
  if (!check_mapping(w, levels, m).empty()) return std::nullopt;
  return evaluate(w, levels, m, mac_energy_of(p, cache.profile()));
}

std::string format_mapping_line(const std::vector<LevelCosts>& levels, const LoopNest& m) {
  std::string out;
  for (size_t l = 0; l < levels.size() && l < m.levels.size(); ++l) {
    std::string loops;
    for (const Loop& lp : m.levels[l])
      if (lp.bound > 1)
        loops += fmt::format(" {}{}{}", kDimNames[static_cast<size_t>(lp.dim)], lp.bound,
                             lp.kind == LoopKind::spatial_x ? "x" : lp.kind == LoopKind::spatial_y ? "y" : "");
    if (loops.empty()) continue;
    if (!out.empty()) out += " |";
    out += (out.empty() ? "" : " ") + levels[l].name + ":" + loops;
  }
  return out;
}

const std::vector<LevelCosts>& MappingCache::levels(const SpaceBits& bits) {
  const BitsKey key{bits.weights, bits.inputs, bits.outputs, bits.codebook};
  auto it = levels_.find(key);
  if (it == levels_.end()) it = levels_.emplace(key, level_costs(profile_, bits)).first;
  return it->second;
}

const MapResult& MappingCache::map(const Workload& w, const SpaceBits& bits, double mac_energy) {
  const Key key{w.bound, {w.stride_h, w.stride_w, w.dilation_h, w.dilation_w},
                {bits.weights, bits.inputs, bits.outputs, bits.codebook}, mac_energy};
  auto it = results_.find(key);
  if (it != results_.end()) return it->second;
  ++searches_;
  return results_.emplace(key, search_mapping(w, profile_, levels(bits), mac_energy, options_)).first->second;
}

}  // namespace dkm::estimator

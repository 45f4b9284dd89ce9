#include "estimator/layer_mapping.hpp"

namespace dkm::estimator {

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
  return b;
}

const std::vector<LevelCosts>& MappingCache::levels(const SpaceBits& bits) {
  const BitsKey key{bits.weights, bits.inputs, bits.outputs};
  auto it = levels_.find(key);
  if (it == levels_.end()) it = levels_.emplace(key, level_costs(profile_, bits)).first;
  return it->second;
}

const MapResult& MappingCache::map(const Workload& w, const SpaceBits& bits, double mac_energy) {
  const Key key{w.bound, {w.stride_h, w.stride_w, w.dilation_h, w.dilation_w}, {bits.weights, bits.inputs, bits.outputs},
                mac_energy};
  auto it = results_.find(key);
  if (it != results_.end()) return it->second;
  ++searches_;
  return results_.emplace(key, search_mapping(w, profile_, levels(bits), mac_energy, options_)).first->second;
}

}  // namespace dkm::estimator

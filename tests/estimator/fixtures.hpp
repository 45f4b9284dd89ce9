#pragma once
// Small hand-checkable profiles and layers shared by the estimator tests.
#include <string>

#include "estimator/problem.hpp"
#include "estimator/profile.hpp"

namespace dkm::test {

// Eyeriss normalised energies (MAC 1, RF 1, array 2, buffer 6, DRAM 200 per 16-bit word) on a 3 x 2 PE
// array with 9 / 3 / 1-word scratchpads and a large buffer: small enough to map by hand.
inline std::string tiny_profile_json() {
  return R"({
  "format": "dkm-hwprofile/1", "name": "tiny", "description": "test", "energy_unit": "mac_normalised",
  "technology": {"node_nm": 65, "source": "test"},
  "bits": {"weights": 16, "activations": 16, "psums": 16, "source": "test"},
  "pe_array": {"rows": 3, "cols": 2, "source": "test"},
  "mac": {"value": 1, "unit": "mac_normalised", "per": "mac", "weight_bits": 16, "activation_bits": 16,
          "scaling": "bit_product", "source": "test"},
  "rf": {
    "weights": {"words": 9, "source": "test", "energy": {"value": 1, "unit": "mac_normalised", "per": "word", "word_bits": 16, "source": "test"}},
    "inputs": {"words": 3, "source": "test", "energy": {"value": 1, "unit": "mac_normalised", "per": "word", "word_bits": 16, "source": "test"}},
    "psums": {"words": 1, "source": "test", "energy": {"value": 1, "unit": "mac_normalised", "per": "word", "word_bits": 16, "source": "test"}}
  },
  "array": {"energy": {"value": 2, "unit": "mac_normalised", "per": "word", "word_bits": 16, "source": "test"}},
  "buffer": {"bytes": 65536, "bypass": [], "source": "test",
             "energy": {"value": 6, "unit": "mac_normalised", "per": "word", "word_bits": 16, "source": "test"}},
  "dram": {"energy": {"value": 200, "unit": "mac_normalised", "per": "word", "word_bits": 16, "source": "test"}},
  "scaling_rules": []
})";
}

inline estimator::HwProfile tiny_profile() { return estimator::parse_profile(tiny_profile_json(), "tiny.json"); }

// A single-channel 4x4 input, one 3x3 filter, stride 1, no padding: a 2x2 output.
inline estimator::ConvProblem tiny_layer() {
  estimator::ConvProblem p;
  p.in_channels = 1;
  p.out_channels = 1;
  p.in_h = p.in_w = 4;
  p.kernel_h = p.kernel_w = 3;
  p.out_h = p.out_w = 2;
  return p;
}

// General conv problem from its sizes (padding `pad` on every side).
inline estimator::ConvProblem conv(int64_t n, int64_t c, int64_t m, int64_t h, int64_t k, int64_t stride, int64_t pad,
                                   int64_t groups = 1) {
  estimator::ConvProblem p;
  p.batch = n;
  p.groups = groups;
  p.in_channels = c / groups;
  p.out_channels = m / groups;
  p.in_h = p.in_w = h;
  p.kernel_h = p.kernel_w = k;
  p.stride_h = p.stride_w = stride;
  p.pad_top = p.pad_left = pad;
  p.out_h = p.out_w = (h + 2 * pad - k) / stride + 1;
  return p;
}

}  // namespace dkm::test

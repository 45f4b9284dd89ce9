#pragma once
// Test data shared by the k-means suites.
#include <cmath>
#include <cstdint>
#include <vector>

#include "kmeans/rng.hpp"

namespace dkm::kmeans::testing {

// Student-t(4) x 0.05, the benchmark distribution.
inline std::vector<float> heavy_tailed(int64_t count, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(static_cast<size_t>(count));
  for (auto& x : v) {
    double chi2 = 0;
    for (int i = 0; i < 4; ++i) {
      const double z = rng.normal();
      chi2 += z * z;
    }
    x = static_cast<float>(0.05 * rng.normal() / std::sqrt(chi2 / 4));
  }
  return v;
}

}  // namespace dkm::kmeans::testing

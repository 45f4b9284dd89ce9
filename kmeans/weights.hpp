#pragma once
// Non-negative weights of a k-means problem (KMeansParams::weights): one per point (N values), each
// point's squared error times its weight, or one per coordinate (N x d values), each coordinate's
// squared error times its own weight (activation-weighted clustering: the weight of a coordinate is the
// second moment of the input it multiplies). Weighted distances are taken in double.
#include <cstdint>
#include <span>

namespace dkm::kmeans {

struct PointWeights {
  std::span<const float> values;  // empty: unweighted
  int64_t dim = 1;
  bool per_coordinate = false;    // N x d values (dim > 1); else one per point

  PointWeights() = default;
  PointWeights(std::span<const float> w, int64_t n, int64_t d)
      : values(w), dim(d), per_coordinate(d > 1 && static_cast<int64_t>(w.size()) == n * d) {}
  bool empty() const { return values.empty(); }
  double at(int64_t i, int64_t j) const { return per_coordinate ? values[i * dim + j] : values[i]; }

  // sum_j w_ij (x_j - c_j)^2, in point order over j, in double.
  double distance(const float* x, const float* c, int64_t i) const {
    double s = 0;
    for (int64_t j = 0; j < dim; ++j) {
      const double diff = static_cast<double>(x[j]) - static_cast<double>(c[j]);
      s += at(i, j) * (diff * diff);
    }
    return s;
  }
  // The point's total weight (its chance to be the first k-means++ centre).
  double total(int64_t i) const {
    if (!per_coordinate) return values[i];
    double s = 0;
    for (int64_t j = 0; j < dim; ++j) s += values[i * dim + j];
    return s;
  }
};

}  // namespace dkm::kmeans

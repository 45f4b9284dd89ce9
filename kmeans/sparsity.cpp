#include "kmeans/sparsity.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace dkm::kmeans {

SparseGroup select_sparse(std::span<const float> vectors, int64_t dim, double p, SparsityVariant variant) {
  const int64_t n = static_cast<int64_t>(vectors.size()) / dim;
  SparseGroup g;
  g.member.assign(static_cast<size_t>(n), 0);
  g.centre.assign(static_cast<size_t>(dim), 0.0f);
  if (variant == SparsityVariant::none || p <= 0) return g;
  g.count = std::min<int64_t>(n, static_cast<int64_t>(std::floor(p * double(n))));
  if (g.count == 0) return g;

  std::vector<double> reference(static_cast<size_t>(dim), 0.0);  // the point distances are measured from
  if (variant == SparsityVariant::near_mean) {
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < dim; ++j) reference[j] += vectors[i * dim + j];
    for (auto& r : reference) r /= double(n);
  }
  std::vector<double> dist(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    double s = 0;
    for (int64_t j = 0; j < dim; ++j) {
      const double diff = double(vectors[i * dim + j]) - reference[j];
      s += diff * diff;
    }
    dist[i] = s;
  }
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  auto closer = [&](int64_t a, int64_t b) { return dist[a] != dist[b] ? dist[a] < dist[b] : a < b; };
  std::nth_element(order.begin(), order.begin() + (g.count - 1), order.end(), closer);
  for (int64_t t = 0; t < g.count; ++t) g.member[order[t]] = 1;

  if (variant == SparsityVariant::near_mean) {
    std::vector<double> mean(static_cast<size_t>(dim), 0.0);
    for (int64_t i = 0; i < n; ++i)
      if (g.member[i])
        for (int64_t j = 0; j < dim; ++j) mean[j] += vectors[i * dim + j];
    for (int64_t j = 0; j < dim; ++j) g.centre[j] = static_cast<float>(mean[j] / double(g.count));
  }
  return g;
}

}  // namespace dkm::kmeans

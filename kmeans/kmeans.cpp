#include "kmeans/kmeans.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_set>

#include <fmt/core.h>

#include "kmeans/assign.hpp"
#include "kmeans/cuda_backend.hpp"
#include "kmeans/init.hpp"
#include "kmeans/parallel.hpp"
#include "kmeans/scalar_1d.hpp"
#include "models/error.hpp"

namespace dkm::kmeans {
namespace {

void check_input(std::span<const float> points, int64_t dim, const KMeansParams& p) {
  if (dim < 1) throw UsageError(fmt::format("k-means: dimension must be >= 1, got {}", dim));
  if (points.empty()) throw UsageError("k-means: no points (empty input)");
  if (static_cast<int64_t>(points.size()) % dim != 0)
    throw UsageError(fmt::format("k-means: {} values do not form rows of dimension {}", points.size(), dim));
  if (p.k < 1) throw UsageError(fmt::format("k-means: K must be >= 1, got {}", p.k));
  if (p.max_iter < 0) throw UsageError(fmt::format("k-means: max_iter must be >= 0, got {}", p.max_iter));
  if (!(p.tol >= 0) || !std::isfinite(p.tol)) throw UsageError(fmt::format("k-means: tol must be >= 0, got {}", p.tol));
  for (size_t i = 0; i < points.size(); ++i)
    if (!std::isfinite(points[i]))
      throw UsageError(fmt::format("k-means: point {} has a non-finite value ({}) in dimension {}",
                                   static_cast<int64_t>(i) / dim, points[i], static_cast<int64_t>(i) % dim));
  if (p.init == Init::given) {
    if (static_cast<int64_t>(p.initial_centers.size()) != p.k * dim)
      throw UsageError(fmt::format("k-means: initial centres hold {} values, expected K x d = {} x {}",
                                   p.initial_centers.size(), p.k, dim));
    for (float v : p.initial_centers)
      if (!std::isfinite(v)) throw UsageError("k-means: initial centres contain NaN or Inf");
  }
  if (p.init == Init::optimal_1d && dim != 1)
    throw UsageError(fmt::format("k-means: optimal-1d needs dimension 1, got {}", dim));
  const int64_t n = static_cast<int64_t>(points.size()) / dim;
  const int64_t distinct = count_distinct(points, dim, p.k);
  if (distinct < p.k)
    throw UsageError(fmt::format("k-means: K = {} exceeds the {} distinct points (N = {})", p.k, distinct, n));
}

double mean_variance(std::span<const float> points, int64_t dim) {
  const int64_t n = static_cast<int64_t>(points.size()) / dim;
  double total = 0;
  for (int64_t j = 0; j < dim; ++j) {
    double mean = 0;
    for (int64_t i = 0; i < n; ++i) mean += points[i * dim + j];
    mean /= double(n);
    double var = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double diff = points[i * dim + j] - mean;
      var += diff * diff;
    }
    total += var / double(n);
  }
  return total / double(dim);
}

}  // namespace

int64_t count_distinct(std::span<const float> points, int64_t dim, int64_t limit) {
  const int64_t n = static_cast<int64_t>(points.size()) / dim;
  auto row = [&](int64_t i) { return &points[i * dim]; };
  auto hash = [&](int64_t i) {
    uint64_t h = 1469598103934665603ULL;
    for (int64_t j = 0; j < dim; ++j) {
      const float v = row(i)[j] + 0.0f;  // -0 and +0 are the same point
      uint32_t bits;
      std::memcpy(&bits, &v, 4);
      h = (h ^ bits) * 1099511628211ULL;
    }
    return static_cast<size_t>(h);
  };
  auto equal = [&](int64_t a, int64_t b) { return std::equal(row(a), row(a) + dim, row(b)); };
  std::unordered_set<int64_t, decltype(hash), decltype(equal)> seen(16, hash, equal);
  for (int64_t i = 0; i < n && static_cast<int64_t>(seen.size()) < limit; ++i) seen.insert(i);
  return static_cast<int64_t>(seen.size());
}

double inertia(std::span<const float> points, int64_t dim, std::span<const float> centers,
               std::span<const int32_t> labels, int threads) {
  const int64_t n = static_cast<int64_t>(labels.size());
  const int64_t chunks = chunk_count(n);
  std::vector<double> partial(static_cast<size_t>(chunks), 0.0);
  parallel_chunks(chunks, threads, [&](int64_t ch) {
    const int64_t b = ch * kChunkPoints, e = std::min(n, b + kChunkPoints);
    double s = 0;
    for (int64_t i = b; i < e; ++i) s += double(squared_distance(&points[i * dim], &centers[labels[i] * dim], dim));
    partial[ch] = s;
  });
  double total = 0;
  for (double s : partial) total += s;
  return total;
}

KMeansResult kmeans(std::span<const float> points, int64_t dim, const KMeansParams& params) {
  check_input(points, dim, params);
  const int64_t n = static_cast<int64_t>(points.size()) / dim, k = params.k;
  const int threads = resolve_threads(params.threads);

  // The seam: the sorted path for scalars, else the GPU when asked for (or allowed and usable), else the CPU.
  const bool sorted = dim == 1 && params.sorted_1d;
  bool on_gpu = false;
  if (!sorted && params.device == Device::cuda) {
    std::string why;
    if (!cuda_usable(&why) || !cuda_supports(dim, k, &why)) throw UsageError("k-means: --device cuda: " + why);
    on_gpu = true;
  } else if (!sorted && params.device == Device::automatic) {
    on_gpu = cuda_usable() && cuda_supports(dim, k);
  }

  KMeansResult result;
  result.k = k;
  result.dim = dim;
  std::vector<float>& centers = result.centers;
  switch (params.init) {
    case Init::kmeans_plus_plus:
      centers = on_gpu ? cuda_init_kmeans_plus_plus(points, dim, k, params.seed)
                       : init_kmeans_plus_plus(points, dim, k, params.seed, threads);
      break;
    case Init::linear: centers = init_linear(points, dim, k); break;
    case Init::random: centers = init_random(points, dim, k, params.seed); break;
    case Init::given: centers = params.initial_centers; break;
    case Init::optimal_1d: centers = optimal_1d_centers(sort_scalars(points), k); break;
  }

  std::unique_ptr<Assigner> assigner = sorted   ? make_sorted_1d_assigner(points, k)
                                       : on_gpu ? make_cuda_assigner(points, dim, k)
                                                : make_cpu_assigner(points, dim, k, threads, params.prune);
  // The optimum needs no Lloyd step; every other start runs scikit-learn's loop.
  const int max_iter = params.init == Init::optimal_1d ? 0 : params.max_iter;
  const double tol = params.tol * mean_variance(points, dim);
  for (int it = 0; it < max_iter; ++it) {
    AssignTotals t = assigner->assign(centers);
    // Empty clusters take the points farthest from their centres (scikit-learn's relocation).
    std::vector<int64_t> empty;
    for (int64_t c = 0; c < k; ++c)
      if (t.counts[c] == 0) empty.push_back(c);
    if (!empty.empty()) {
      const auto far = assigner->farthest(static_cast<int64_t>(empty.size()), t.counts);
      for (size_t e = 0; e < far.size(); ++e) {
        const float* x = &points[far[e].point * dim];
        const int64_t to = empty[e], from = far[e].label;
        for (int64_t j = 0; j < dim; ++j) {
          t.sums[from * dim + j] -= x[j];
          t.sums[to * dim + j] = x[j];
        }
        --t.counts[from];
        t.counts[to] = 1;
      }
    }
    double shift = 0;
    for (int64_t c = 0; c < k; ++c) {
      if (t.counts[c] == 0) continue;  // no point to take: the centre stays where it was
      for (int64_t j = 0; j < dim; ++j) {
        const float moved = static_cast<float>(t.sums[c * dim + j] / double(t.counts[c]));
        const double diff = double(moved) - double(centers[c * dim + j]);
        shift += diff * diff;
        centers[c * dim + j] = moved;
      }
    }
    result.stats.push_back({t.inertia, t.changed, shift});
    result.iterations = it + 1;
    if (params.tol > 0 && ((it > 0 && t.changed == 0) || shift <= tol)) {
      result.converged = true;
      break;
    }
  }
  if (params.init == Init::optimal_1d) result.converged = true;
  // Final assignment so that labels and inertia belong to the returned centres.
  assigner->assign(centers);
  result.labels.resize(static_cast<size_t>(n));
  assigner->labels(result.labels);
  result.inertia = inertia(points, dim, centers, result.labels, threads);
  return result;
}

}  // namespace dkm::kmeans

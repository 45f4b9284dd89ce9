#include "kmeans/kmeans.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <unordered_set>

#include <fmt/core.h>

#include "kmeans/assign.hpp"
#include "kmeans/cuda_backend.hpp"
#include "kmeans/init.hpp"
#include "kmeans/parallel.hpp"
#include "kmeans/scalar_1d.hpp"
#include "kmeans/weights.hpp"
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
  if (p.weights.empty()) {
    const int64_t distinct = count_distinct(points, dim, p.k);
    if (distinct < p.k)
      throw UsageError(fmt::format("k-means: K = {} exceeds the {} distinct points (N = {})", p.k, distinct, n));
    return;
  }
  const int64_t nw = static_cast<int64_t>(p.weights.size());
  if (nw != n && nw != n * dim)
    throw UsageError(fmt::format("k-means: {} weights for {} points of dimension {}; expected N = {} (per point) "
                                 "or N x d = {} (per coordinate)", nw, n, dim, n, n * dim));
  for (int64_t i = 0; i < nw; ++i)
    if (!(p.weights[i] >= 0) || !std::isfinite(p.weights[i]))
      throw UsageError(fmt::format("k-means: weight {} is {}; weights must be finite and >= 0", i, p.weights[i]));
  // The points that can take a centre: those with some positive weight.
  const PointWeights w(p.weights, n, dim);
  std::vector<float> positive;
  for (int64_t i = 0; i < n; ++i)
    if (w.total(i) > 0) positive.insert(positive.end(), &points[i * dim], &points[i * dim] + dim);
  if (positive.empty()) throw UsageError("k-means: every weight is zero");
  const int64_t distinct = count_distinct(positive, dim, p.k);
  if (distinct < p.k)
    throw UsageError(fmt::format("k-means: K = {} exceeds the {} distinct points of positive weight (N = {})", p.k,
                                 distinct, n));
}

// The power of two that brings the largest magnitude into [1, 2) when it lies outside [2^-32, 2^32]
// (where float squared distances would overflow or lose everything to underflow), else 0.
int scale_exponent(std::span<const float> points) {
  float top = 0;
  for (float v : points) top = std::max(top, std::fabs(v));
  if (top == 0 || (top >= 0x1p-32f && top <= 0x1p32f)) return 0;
  return -std::ilogb(top);
}

// Weighted inertia: sum of weighted D^2 (double), chunks of kChunkPoints in runs, chunks in order.
double weighted_inertia(std::span<const float> points, int64_t dim, std::span<const float> centers,
                        std::span<const int32_t> labels, const PointWeights& w, int threads) {
  const int64_t n = static_cast<int64_t>(labels.size());
  std::vector<double> partial(static_cast<size_t>(chunk_count(n)), 0.0);
  parallel_chunks(chunk_count(n), threads, [&](int64_t ch) {
    partial[ch] = sum_in_runs(ch * kChunkPoints, std::min(n, (ch + 1) * kChunkPoints), [&](int64_t i) {
      return w.distance(&points[i * dim], &centers[labels[i] * dim], i);
    });
  });
  double total = 0;
  for (double v : partial) total += v;
  return total;
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
    partial[ch] = sum_in_runs(b, e, [&](int64_t i) {
      return double(squared_distance(&points[i * dim], &centers[labels[i] * dim], dim));
    });
  });
  double total = 0;
  for (double s : partial) total += s;
  return total;
}

namespace {

// One problem in the lockstep loop: its points and parameters, its result so far, where its Lloyd loop stands.
struct Run {
  std::span<const float> points;  // the input, or `scaled`
  std::vector<float> scaled;      // the input times 2^scale when its range needs it
  int scale = 0;
  const KMeansParams* params = nullptr;
  KMeansResult result;
  double tol = 0;            // absolute: params.tol times the mean per-feature variance
  bool lloyd_done = false;   // the next assign is the final one (labels of the returned centres)
  bool finished = false;
};

// `sorted`: the points sorted once for the sorted 1-D path, or null.
// Scalars on the sorted path seed on the sorted values, wherever they were sorted (the same centres on
// every device).
std::vector<float> initial_centers(std::span<const float> points, int64_t dim, const KMeansParams& p, bool on_gpu,
                                   int threads, const SortedScalars* sorted, int scale) {
  switch (p.init) {
    case Init::kmeans_plus_plus:
      if (sorted) return init_kmeans_plus_plus_sorted(*sorted, p.k, p.seed);
      return on_gpu && cuda_supports(dim, p.k) ? cuda_init_kmeans_plus_plus(points, dim, p.k, p.seed)
                                               : init_kmeans_plus_plus(points, dim, p.k, p.seed, threads, p.weights);
    case Init::afk_mc2: return init_afk_mc2(points, dim, p.k, p.seed, threads, p.weights);  // on the host everywhere
    case Init::linear: return init_linear(points, dim, p.k);
    case Init::random: return init_random(points, dim, p.k, p.seed);
    case Init::given: {
      std::vector<float> c = p.initial_centers;
      for (float& v : c) v = std::ldexp(v, scale);
      return c;
    }
    case Init::optimal_1d: {
      if (sorted) return optimal_1d_centers(*sorted, p.k);
      SortedScalars own = sort_scalars(points);
      if (!p.weights.empty()) weigh_sorted(own, p.weights);
      return optimal_1d_centers(own, p.k);
    }
  }
  return {};
}

// Where one problem runs: the GPU when asked for (an error if it cannot) or allowed and usable. The
// sorted 1-D path needs the GPU only for its sort, the fused kernels need a supported K.
bool runs_on_gpu(const KMeansParams& p, int64_t n, int64_t dim, bool sorted) {
  std::string why;
  const bool shape_ok = sorted ? n <= std::numeric_limits<int32_t>::max() : cuda_supports(dim, p.k, &why);
  if (sorted && !shape_ok) why = fmt::format("{} scalars are more than the GPU sort takes (2^31 - 1)", n);
  if (p.device == Device::cuda) {
    if (!cuda_usable(&why) || !shape_ok) throw UsageError("k-means: --device cuda: " + why);
    return true;
  }
  return p.device == Device::automatic && shape_ok && cuda_usable();
}

// One Lloyd update from the assignment totals (scikit-learn's loop body); true when the run stops.
bool lloyd_update(Run& run, AssignTotals& t, BatchAssigner& batch, size_t slot, int64_t dim) {
  const int64_t k = run.params->k;
  std::vector<float>& centers = run.result.centers;
  // Empty clusters take the points farthest from their centres (scikit-learn's relocation).
  std::vector<int64_t> empty;
  for (int64_t c = 0; c < k; ++c)
    if (t.counts[c] == 0) empty.push_back(c);
  if (!empty.empty()) {
    const auto far = batch.farthest(slot, static_cast<int64_t>(empty.size()), t.counts);
    const PointWeights w(run.params->weights, static_cast<int64_t>(run.points.size()) / dim, dim);
    for (size_t e = 0; e < far.size(); ++e) {
      const float* x = &run.points[far[e].point * dim];
      const int64_t to = empty[e], from = far[e].label;
      for (int64_t j = 0; j < dim; ++j) {
        const double wj = w.empty() ? 1.0 : w.at(far[e].point, j);
        t.sums[from * dim + j] -= wj * x[j];
        t.sums[to * dim + j] = wj * x[j];
        if (!w.empty()) {
          t.weights[from * dim + j] -= wj;
          t.weights[to * dim + j] = wj;
        }
      }
      --t.counts[from];
      t.counts[to] = 1;
    }
  }
  double shift = 0;
  for (int64_t c = 0; c < k; ++c) {
    if (t.counts[c] == 0) continue;  // no point to take: the centre stays where it was
    for (int64_t j = 0; j < dim; ++j) {
      const double mass = t.weights.empty() ? double(t.counts[c]) : t.weights[c * dim + j];
      if (!(mass > 0)) continue;  // only weightless points here: the coordinate stays
      const float moved = static_cast<float>(t.sums[c * dim + j] / mass);
      const double diff = double(moved) - double(centers[c * dim + j]);
      shift += diff * diff;
      centers[c * dim + j] = moved;
    }
  }
  KMeansResult& r = run.result;
  r.stats.push_back({t.inertia, t.changed, shift});
  ++r.iterations;
  if (run.params->tol > 0 && ((r.iterations > 1 && t.changed == 0) || shift <= run.tol)) {
    r.converged = true;
    return true;
  }
  return r.iterations >= run.params->max_iter;
}

// Back to the input's scale: exact powers of two (centres, squared quantities).
void unscale(Run& run) {
  if (run.scale == 0) return;
  KMeansResult& r = run.result;
  for (float& v : r.centers) v = std::ldexp(v, -run.scale);
  r.inertia = std::ldexp(r.inertia, -2 * run.scale);
  for (IterationStats& st : r.stats) {
    st.inertia = std::ldexp(st.inertia, -2 * run.scale);
    st.center_shift = std::ldexp(st.center_shift, -2 * run.scale);
  }
}

// The runs of one backend in lockstep (runs[members[l]] is layer l of the batch): every round is one
// assign call for all unfinished runs.
void run_lockstep(std::vector<Run>& runs, const std::vector<size_t>& members, BatchAssigner& batch, int64_t dim,
                  const std::function<void(size_t)>& finished) {
  for (size_t left = members.size(); left > 0;) {
    std::vector<std::span<const float>> centers(members.size());
    for (size_t l = 0; l < members.size(); ++l)
      if (!runs[members[l]].finished) centers[l] = runs[members[l]].result.centers;
    std::vector<AssignTotals> totals = batch.assign(centers);
    for (size_t l = 0; l < members.size(); ++l) {
      Run& run = runs[members[l]];
      if (run.finished) continue;
      if (run.lloyd_done) {  // that was the final assignment: the labels belong to the centres
        run.finished = true;
        --left;
        run.result.labels.resize(run.points.size() / static_cast<size_t>(dim));
        batch.labels(l, run.result.labels);
        const int threads = resolve_threads(run.params->threads);
        const PointWeights w(run.params->weights, static_cast<int64_t>(run.result.labels.size()), dim);
        run.result.inertia = w.empty() ? inertia(run.points, dim, run.result.centers, run.result.labels, threads)
                                       : weighted_inertia(run.points, dim, run.result.centers, run.result.labels, w,
                                                          threads);
        unscale(run);
        if (finished) finished(members[l]);
        continue;
      }
      run.lloyd_done = lloyd_update(run, totals[l], batch, l, dim);
    }
  }
}

}  // namespace

std::vector<KMeansResult> kmeans_batch(std::span<const KMeansItem> items, int64_t dim,
                                       const std::function<void(size_t item)>& finished) {
  for (size_t i = 0; i < items.size(); ++i) {
    try {
      check_input(items[i].points, dim, items[i].params);
    } catch (const UsageError& e) {
      if (items.size() == 1) throw;
      throw UsageError(fmt::format("problem {} of {}: {}", i, items.size(), e.what()));
    }
  }
  std::vector<Run> runs(items.size());
  // The seam: the sorted path for scalars (sorted on the GPU when it runs there), else the GPU's fused
  // kernels when asked for (or allowed and usable), else the CPU's.
  std::vector<size_t> cpu_items, gpu_items;
  std::vector<std::unique_ptr<Assigner>> cpu_assigners;
  std::vector<CudaLayer> gpu_layers;
  for (size_t i = 0; i < items.size(); ++i) {
    const KMeansParams& p = items[i].params;
    Run& run = runs[i];
    run.points = items[i].points;
    run.params = &p;
    run.scale = scale_exponent(run.points);
    if (run.scale != 0) {
      run.scaled.resize(run.points.size());
      for (size_t v = 0; v < run.points.size(); ++v) run.scaled[v] = std::ldexp(run.points[v], run.scale);
      run.points = run.scaled;
    }
    const bool weighted = !p.weights.empty();
    const bool sorted = dim == 1 && p.sorted_1d;
    const int64_t n = static_cast<int64_t>(run.points.size()) / dim;
    const bool gpu = !weighted && runs_on_gpu(p, n, dim, sorted);
    std::optional<SortedScalars> sorted_points;
    if (sorted) sorted_points = gpu ? cuda_sort_scalars(run.points) : sort_scalars(run.points);
    if (sorted && weighted) weigh_sorted(*sorted_points, p.weights);
    const int threads = resolve_threads(p.threads);
    run.result.k = p.k;
    run.result.dim = dim;
    run.result.centers =
        initial_centers(run.points, dim, p, gpu, threads, sorted_points ? &*sorted_points : nullptr, run.scale);
    run.tol = p.tol * mean_variance(run.points, dim);
    // The optimum needs no Lloyd step; every other start runs scikit-learn's loop.
    run.lloyd_done = p.init == Init::optimal_1d || p.max_iter == 0;
    if (p.init == Init::optimal_1d) run.result.converged = true;
    if (gpu && !sorted) {
      gpu_items.push_back(i);
      gpu_layers.push_back({run.points, p.k});
    } else {
      cpu_items.push_back(i);
      // Lloyd on sorted scalars runs on the host, wherever they were sorted.
      cpu_assigners.push_back(sorted     ? make_sorted_1d_assigner(std::move(*sorted_points), p.k)
                              : weighted ? make_weighted_assigner(run.points, dim, p.k, p.weights, threads)
                                         : make_cpu_assigner(run.points, dim, p.k, threads, p.prune));
    }
  }
  if (!cpu_items.empty()) {
    auto batch = make_batch_of(std::move(cpu_assigners));
    run_lockstep(runs, cpu_items, *batch, dim, finished);
  }
  if (!gpu_items.empty()) {
    auto batch = make_cuda_batch_assigner(gpu_layers, dim);
    run_lockstep(runs, gpu_items, *batch, dim, finished);
  }
  std::vector<KMeansResult> out;
  out.reserve(runs.size());
  for (Run& run : runs) out.push_back(std::move(run.result));
  return out;
}

KMeansResult kmeans(std::span<const float> points, int64_t dim, const KMeansParams& params) {
  const KMeansItem item{points, params};
  return std::move(kmeans_batch(std::span<const KMeansItem>(&item, 1), dim)[0]);
}

}  // namespace dkm::kmeans

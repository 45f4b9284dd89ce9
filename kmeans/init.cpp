#include "kmeans/init.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "kmeans/parallel.hpp"
#include "kmeans/point_math.hpp"
#include "kmeans/rng.hpp"
#include "kmeans/weights.hpp"
#include "models/error.hpp"

namespace dkm::kmeans {

namespace {

// A candidate's improvement: the points it would bring closer, in index order, with their new D^2.
using Improved = std::vector<std::pair<int64_t, double>>;

// Triangle inequality: a point x nearest to centre a (D^2 = closest) cannot come closer to a candidate y
// when |a - y| >= 2 |x - a|, i.e. |a - y|^2 >= 4 closest. The margin keeps the rule exact under the
// rounding of the double distances (relative error about d * 2^-53, far below 1e-6).
constexpr double kPruneMargin = 4.0 * (1.0 + 1e-6);

}  // namespace

std::vector<float> init_kmeans_plus_plus(std::span<const float> points, int64_t dim, int64_t k, uint64_t seed,
                                         int threads, std::span<const float> weights) {
  const int64_t n = static_cast<int64_t>(points.size()) / dim;
  const PointWeights w(weights, n, dim);
  const bool prune = w.empty();  // the triangle inequality holds for the plain Euclidean distance
  const int64_t trials = 2 + static_cast<int64_t>(std::log(static_cast<double>(k)));
  const int64_t chunks = chunk_count(n), runs = chunk_count(n, kRunPoints);
  constexpr int64_t kRunsPerChunk = kChunkPoints / kRunPoints;
  Rng rng(seed);
  std::vector<float> centers(static_cast<size_t>(k * dim));
  auto take = [&](int64_t c, int64_t index) {
    std::copy_n(&points[index * dim], dim, &centers[c * dim]);
  };
  auto chunk_end = [&](int64_t ch) { return std::min(n, (ch + 1) * kChunkPoints); };
  auto d2 = [&](int64_t i, const float* c) {
    return w.empty() ? point_squared_distance_f64(&points[i * dim], c, dim) : w.distance(&points[i * dim], c, i);
  };

  // closest[i]: D^2 of point i to its nearest chosen centre; its sums per run and chunk (in the order of
  // sum_in_runs, parallel.hpp). owner[i] is that centre, members[c] its points in index order and
  // far[c] their largest D^2: what the triangle inequality needs to skip points.
  std::vector<double> closest(static_cast<size_t>(n)), run_pot(static_cast<size_t>(runs)),
      chunk_pot(static_cast<size_t>(chunks));
  std::vector<int32_t> owner(prune ? static_cast<size_t>(n) : 0, 0);
  std::vector<std::vector<int64_t>> members(prune ? static_cast<size_t>(k) : 0);
  std::vector<double> far(static_cast<size_t>(k), 0.0);

  int64_t first = 0;
  if (w.empty()) {
    first = static_cast<int64_t>(rng.below(static_cast<uint64_t>(n)));
  } else {  // weighted: the first centre drawn in proportion to the point's weight
    double total = 0;
    for (int64_t i = 0; i < n; ++i) total += w.total(i);
    if (!(total > 0)) throw UsageError("k-means: every weight is zero");
    const double r = rng.uniform() * total;
    double acc = 0;
    first = -1;
    int64_t last_positive = 0;
    for (int64_t i = 0; i < n && first < 0; ++i) {
      const double t = w.total(i);
      if (!(t > 0)) continue;
      acc += t;
      last_positive = i;
      if (acc >= r) first = i;
    }
    if (first < 0) first = last_positive;
  }
  take(0, first);
  parallel_chunks(chunks, threads, [&](int64_t ch) {
    chunk_pot[ch] = sum_in_runs(
        ch * kChunkPoints, chunk_end(ch), [&](int64_t i) { return closest[i] = d2(i, &centers[0]); },
        [&](int64_t run_begin, double s) { run_pot[run_begin / kRunPoints] = s; });
  });
  double potential = 0;
  for (double s : chunk_pot) potential += s;
  if (prune) {
    members[0].resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) members[0][i] = i;
    far[0] = *std::max_element(closest.begin(), closest.end());
  }

  // The points candidate y would improve (D^2 strictly smaller), in index order.
  auto improvements = [&](int64_t c, const float* y, Improved& out) {
    out.clear();
    if (!prune) {
      for (int64_t i = 0; i < n; ++i) {
        const double d = d2(i, y);
        if (d < closest[i]) out.emplace_back(i, d);
      }
      return;
    }
    for (int64_t a = 0; a < c; ++a) {
      const double cc = point_squared_distance_f64(&centers[a * dim], y, dim);
      if (kPruneMargin * far[a] < cc) continue;
      for (int64_t i : members[a]) {
        if (kPruneMargin * closest[i] < cc) continue;
        const double d = d2(i, y);
        if (d < closest[i]) out.emplace_back(i, d);
      }
    }
    std::sort(out.begin(), out.end());
  };
  // The potential with those improvements, summed exactly as a full pass would (sum_in_runs per chunk,
  // chunks in order): runs and chunks without an improved point reuse their stored sums, which are the
  // same sums of the same values. `store`: write the new run and chunk sums back (the chosen candidate).
  auto potential_with = [&](const Improved& imp, bool store) {
    double total = 0;
    size_t p = 0;
    for (int64_t ch = 0; ch < chunks; ++ch) {
      if (p == imp.size() || imp[p].first >= chunk_end(ch)) {
        total += chunk_pot[ch];
        continue;
      }
      double chunk_sum = 0;
      for (int64_t run = ch * kRunsPerChunk; run < std::min(runs, (ch + 1) * kRunsPerChunk); ++run) {
        const int64_t rb = run * kRunPoints, re = std::min(n, rb + kRunPoints);
        if (p == imp.size() || imp[p].first >= re) {
          chunk_sum += run_pot[run];
          continue;
        }
        double s = 0;
        for (int64_t i = rb; i < re; ++i) s += p < imp.size() && imp[p].first == i ? imp[p++].second : closest[i];
        chunk_sum += s;
        if (store) run_pot[run] = s;
      }
      total += chunk_sum;
      if (store) chunk_pot[ch] = chunk_sum;
    }
    return total;
  };

  std::vector<int64_t> candidates(static_cast<size_t>(trials));
  std::vector<Improved> improved(static_cast<size_t>(trials));
  std::vector<double> candidate_pot(static_cast<size_t>(trials));
  for (int64_t c = 1; c < k; ++c) {
    // Candidates: the first index whose cumulative D^2 reaches u * potential (numpy searchsorted), the
    // cumulative sum taken over chunks, then the chunk's runs, then the run's points.
    for (int64_t t = 0; t < trials; ++t) {
      const double r = rng.uniform() * potential;
      double acc = 0;
      int64_t ch = 0;
      while (ch < chunks - 1 && acc + chunk_pot[ch] < r) acc += chunk_pot[ch++];
      int64_t run = ch * kRunsPerChunk;
      const int64_t last_run = std::min(runs, run + kRunsPerChunk) - 1;
      while (run < last_run && acc + run_pot[run] < r) acc += run_pot[run++];
      int64_t i = run * kRunPoints;
      const int64_t e = std::min(n, i + kRunPoints);
      for (; i < e; ++i) {
        acc += closest[i];
        if (acc >= r) break;
      }
      candidates[t] = std::min(i, n - 1);
    }
    // Each candidate's potential; the trials are independent, so they share the threads.
    parallel_chunks(trials, threads, [&](int64_t t) {
      improvements(c, &points[candidates[t] * dim], improved[t]);
      candidate_pot[t] = potential_with(improved[t], false);
    });
    int64_t best = 0;
    double best_pot = std::numeric_limits<double>::infinity();
    for (int64_t t = 0; t < trials; ++t)
      if (candidate_pot[t] < best_pot) best_pot = candidate_pot[t], best = t;
    take(c, candidates[best]);
    const Improved& imp = improved[best];
    potential_with(imp, true);
    if (prune) {
      std::vector<int32_t> losers;
      for (const auto& [i, d] : imp) {
        losers.push_back(owner[i]);
        owner[i] = static_cast<int32_t>(c);
        members[c].push_back(i);
        far[c] = std::max(far[c], d);
      }
      std::sort(losers.begin(), losers.end());
      losers.erase(std::unique(losers.begin(), losers.end()), losers.end());
      for (int32_t a : losers) {
        auto& m = members[a];
        m.erase(std::remove_if(m.begin(), m.end(), [&](int64_t i) { return owner[i] != a; }), m.end());
        far[a] = 0;
        for (int64_t i : m) far[a] = std::max(far[a], closest[i]);
      }
    }
    for (const auto& [i, d] : imp) closest[i] = d;
    potential = best_pot;
  }
  return centers;
}

std::vector<float> init_linear(std::span<const float> points, int64_t dim, int64_t k) {
  const int64_t n = static_cast<int64_t>(points.size()) / dim;
  std::vector<float> lo(static_cast<size_t>(dim), std::numeric_limits<float>::infinity());
  std::vector<float> hi(static_cast<size_t>(dim), -std::numeric_limits<float>::infinity());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < dim; ++j) {
      lo[j] = std::min(lo[j], points[i * dim + j]);
      hi[j] = std::max(hi[j], points[i * dim + j]);
    }
  std::vector<float> centers(static_cast<size_t>(k * dim));
  for (int64_t c = 0; c < k; ++c)
    for (int64_t j = 0; j < dim; ++j) {
      const double t = k == 1 ? 0.5 : double(c) / double(k - 1);
      centers[c * dim + j] = static_cast<float>(double(lo[j]) + (double(hi[j]) - double(lo[j])) * t);
    }
  return centers;
}

std::vector<float> init_random(std::span<const float> points, int64_t dim, int64_t k, uint64_t seed) {
  const int64_t n = static_cast<int64_t>(points.size()) / dim;
  Rng rng(seed);
  // Partial Fisher-Yates over the indices, without an N-sized array when K is small.
  std::vector<int64_t> chosen;
  std::vector<std::pair<int64_t, int64_t>> swapped;  // sparse permutation: position -> value
  auto value_at = [&](int64_t pos) {
    for (auto it = swapped.rbegin(); it != swapped.rend(); ++it)
      if (it->first == pos) return it->second;
    return pos;
  };
  for (int64_t c = 0; c < k; ++c) {
    const int64_t j = c + static_cast<int64_t>(rng.below(static_cast<uint64_t>(n - c)));
    const int64_t vj = value_at(j), vc = value_at(c);
    swapped.emplace_back(j, vc);
    swapped.emplace_back(c, vj);
    chosen.push_back(vj);
  }
  std::vector<float> centers(static_cast<size_t>(k * dim));
  for (int64_t c = 0; c < k; ++c) std::copy_n(&points[chosen[c] * dim], dim, &centers[c * dim]);
  return centers;
}

}  // namespace dkm::kmeans


#include "kmeans/init.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "kmeans/parallel.hpp"
#include "kmeans/point_math.hpp"
#include "kmeans/rng.hpp"

namespace dkm::kmeans {

std::vector<float> init_kmeans_plus_plus(std::span<const float> points, int64_t dim, int64_t k, uint64_t seed,
                                         int threads) {
  const int64_t n = static_cast<int64_t>(points.size()) / dim;
  const int64_t trials = 2 + static_cast<int64_t>(std::log(static_cast<double>(k)));
  const int64_t chunks = chunk_count(n), runs = chunk_count(n, kRunPoints);
  constexpr int64_t kRunsPerChunk = kChunkPoints / kRunPoints;
  Rng rng(seed);
  std::vector<float> centers(static_cast<size_t>(k * dim));
  auto take = [&](int64_t c, int64_t index) {
    std::copy_n(&points[index * dim], dim, &centers[c * dim]);
  };
  auto chunk_end = [&](int64_t ch) { return std::min(n, (ch + 1) * kChunkPoints); };

  // closest[i]: squared distance of point i to its nearest chosen centre; its sums per run and chunk.
  std::vector<double> closest(static_cast<size_t>(n)), run_pot(static_cast<size_t>(runs)),
      chunk_pot(static_cast<size_t>(chunks));
  auto refresh = [&](const float* chosen, bool first) {
    parallel_chunks(chunks, threads, [&](int64_t ch) {
      chunk_pot[ch] = sum_in_runs(
          ch * kChunkPoints, chunk_end(ch),
          [&](int64_t i) {
            const double d = point_squared_distance_f64(&points[i * dim], chosen, dim);
            return closest[i] = first ? d : std::min(closest[i], d);
          },
          [&](int64_t run_begin, double s) { run_pot[run_begin / kRunPoints] = s; });
    });
  };
  const int64_t first = static_cast<int64_t>(rng.below(static_cast<uint64_t>(n)));
  take(0, first);
  refresh(&centers[0], true);
  double potential = 0;
  for (double s : chunk_pot) potential += s;

  std::vector<int64_t> candidates(static_cast<size_t>(trials));
  std::vector<double> candidate_pot(static_cast<size_t>(chunks * trials));
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
    // Potential with each candidate added, per chunk.
    parallel_chunks(chunks, threads, [&](int64_t ch) {
      for (int64_t t = 0; t < trials; ++t) {
        const float* cand = &points[candidates[t] * dim];
        candidate_pot[ch * trials + t] = sum_in_runs(ch * kChunkPoints, chunk_end(ch), [&](int64_t i) {
          return std::min(closest[i], point_squared_distance_f64(&points[i * dim], cand, dim));
        });
      }
    });
    int64_t best = 0;
    double best_pot = std::numeric_limits<double>::infinity();
    for (int64_t t = 0; t < trials; ++t) {
      double s = 0;
      for (int64_t ch = 0; ch < chunks; ++ch) s += candidate_pot[ch * trials + t];
      if (s < best_pot) best_pot = s, best = t;
    }
    take(c, candidates[best]);
    refresh(&centers[c * dim], false);
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


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

// A candidate's improvement: the points it would bring closer, with their new D^2.
using Improved = std::vector<std::pair<int64_t, double>>;

// Triangle inequality: a point x nearest to centre a (D^2 = closest) cannot come closer to a candidate y
// when |a - y| >= 2 |x - a|, i.e. |a - y|^2 >= 4 closest. The margin keeps the rule exact under the
// rounding of the double distances (relative error about d * 2^-53, far below 1e-6).
constexpr double kPruneMargin = 4.0 * (1.0 + 1e-6);

// The first centre: uniform, or in proportion to the point's weight when weighted.
int64_t draw_first(Rng& rng, int64_t n, const PointWeights& w) {
  if (w.empty()) return static_cast<int64_t>(rng.below(static_cast<uint64_t>(n)));
  double total = 0;
  for (int64_t i = 0; i < n; ++i) total += w.total(i);
  if (!(total > 0)) throw UsageError("k-means: every weight is zero");
  const double r = rng.uniform() * total;
  double acc = 0;
  int64_t last_positive = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double t = w.total(i);
    if (!(t > 0)) continue;
    acc += t;
    last_positive = i;
    if (acc >= r) return i;
  }
  return last_positive;
}

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
  // sum_in_runs, parallel.hpp). owner[i] is that centre and members[c] its points by decreasing D^2,
  // with copies of their coordinates (the scan reads them in order, not scattered over the input): a
  // candidate's scan of a cluster stops at the first point the triangle inequality rules out, as every
  // later one is ruled out too.
  std::vector<double> closest(static_cast<size_t>(n)), run_pot(static_cast<size_t>(runs)),
      chunk_pot(static_cast<size_t>(chunks));
  std::vector<int32_t> owner(prune ? static_cast<size_t>(n) : 0, 0);
  struct Members {
    std::vector<double> d2;
    std::vector<int64_t> index;
    std::vector<float> coords;  // size() x dim
  };
  std::vector<Members> members(prune ? static_cast<size_t>(k) : 0);
  std::vector<uint64_t> moved(prune ? static_cast<size_t>((n + 63) / 64) : 0, 0);  // see the update after each step
  // Sets m to the points `list` (index, D^2), ordered by decreasing D^2 (lower index on ties).
  auto fill = [&](Members& m, std::vector<std::pair<int64_t, double>> list) {
    std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    m.d2.resize(list.size());
    m.index.resize(list.size());
    m.coords.resize(list.size() * static_cast<size_t>(dim));
    for (size_t e = 0; e < list.size(); ++e) {
      m.index[e] = list[e].first;
      m.d2[e] = list[e].second;
      std::copy_n(&points[list[e].first * dim], dim, &m.coords[e * dim]);
    }
  };

  take(0, draw_first(rng, n, w));
  parallel_chunks(chunks, threads, [&](int64_t ch) {
    chunk_pot[ch] = sum_in_runs(
        ch * kChunkPoints, chunk_end(ch), [&](int64_t i) { return closest[i] = d2(i, &centers[0]); },
        [&](int64_t run_begin, double s) { run_pot[run_begin / kRunPoints] = s; });
  });
  double potential = 0;
  for (double s : chunk_pot) potential += s;
  if (prune) {
    std::vector<std::pair<int64_t, double>> all(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) all[i] = {i, closest[i]};
    fill(members[0], std::move(all));
  }

  // The points candidate y would improve (D^2 strictly smaller).
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
      const Members& m = members[a];
      for (size_t e = 0; e < m.d2.size() && !(kPruneMargin * m.d2[e] < cc); ++e) {
        const double d = point_squared_distance_f64(&m.coords[e * dim], y, dim);
        if (d < m.d2[e]) out.emplace_back(m.index[e], d);
      }
    }
  };
  // The potential with those improvements, summed exactly as a full pass would (sum_in_runs per chunk,
  // chunks in order): runs and chunks without an improved point reuse their stored sums, which are the
  // same sums of the same values. Each worker keeps its own copy of `closest` in which a candidate's
  // improvements are written and then undone, so a re-summed run reads one array; the runs and chunks
  // to re-sum are marked with a stamp, so the improvements need no sorting. `store`: write the new run
  // and chunk sums back.
  struct Scratch {
    std::vector<uint32_t> run_stamp, chunk_stamp;
    std::vector<double> value;  // closest, with one candidate's improvements while it is scored
    uint32_t stamp = 0;
  };
  auto potential_with = [&](const Improved& imp, Scratch& sc, bool store) {
    if (sc.value.empty()) {
      sc.value = closest;
      sc.run_stamp.assign(static_cast<size_t>(runs), 0);
      sc.chunk_stamp.assign(static_cast<size_t>(chunks), 0);
    }
    const uint32_t id = ++sc.stamp;
    for (const auto& [i, d] : imp) {
      sc.value[i] = d;
      sc.run_stamp[i / kRunPoints] = id;
      sc.chunk_stamp[i / kChunkPoints] = id;
    }
    double total = 0;
    for (int64_t ch = 0; ch < chunks; ++ch) {
      if (sc.chunk_stamp[ch] != id) {
        total += chunk_pot[ch];
        continue;
      }
      double chunk_sum = 0;
      for (int64_t run = ch * kRunsPerChunk; run < std::min(runs, (ch + 1) * kRunsPerChunk); ++run) {
        if (sc.run_stamp[run] != id) {
          chunk_sum += run_pot[run];
          continue;
        }
        double s = 0;
        for (int64_t i = run * kRunPoints; i < std::min(n, (run + 1) * kRunPoints); ++i)
          s += sc.value[i];
        chunk_sum += s;
        if (store) run_pot[run] = s;
      }
      total += chunk_sum;
      if (store) chunk_pot[ch] = chunk_sum;
    }
    for (const auto& [i, d] : imp) sc.value[i] = closest[i];
    return total;
  };

  std::vector<int64_t> candidates(static_cast<size_t>(trials));
  std::vector<Improved> improved(static_cast<size_t>(trials));
  const int64_t workers = std::min<int64_t>(trials, resolve_threads(threads));
  std::vector<Scratch> scratch(static_cast<size_t>(workers));
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
    // Each candidate's potential; the trials are independent, so they share the threads (each worker
    // with its own scratch, the results not depending on which worker took which trial).
    parallel_chunks(workers, threads, [&](int64_t wk) {
      for (int64_t t = wk; t < trials; t += workers) {
        improvements(c, &points[candidates[t] * dim], improved[t]);
        candidate_pot[t] = potential_with(improved[t], scratch[wk], false);
      }
    });
    int64_t best = 0;
    double best_pot = std::numeric_limits<double>::infinity();
    for (int64_t t = 0; t < trials; ++t)
      if (candidate_pot[t] < best_pot) best_pot = candidate_pot[t], best = t;
    take(c, candidates[best]);
    const Improved& imp = improved[best];
    potential_with(imp, scratch[0], true);
    if (prune) {
      // The clusters that lose points drop them: a member is gone when its bit in `moved` is set (a bitmap
      // of N bits stays in cache where the owner array would not).
      std::vector<char> loser(static_cast<size_t>(c), 0);
      for (const auto& [i, d] : imp) {
        loser[owner[i]] = 1;
        owner[i] = static_cast<int32_t>(c);
        moved[static_cast<size_t>(i) >> 6] |= uint64_t{1} << (i & 63);
      }
      fill(members[c], imp);
      for (int64_t a = 0; a < c; ++a) {
        if (!loser[a]) continue;
        Members& m = members[a];
        size_t kept = 0;
        for (size_t e = 0; e < m.d2.size(); ++e) {
          const int64_t i = m.index[e];
          if ((moved[static_cast<size_t>(i) >> 6] >> (i & 63)) & 1u) continue;
          if (kept != e) {
            m.d2[kept] = m.d2[e];
            m.index[kept] = i;
            std::copy_n(&m.coords[e * dim], dim, &m.coords[kept * dim]);
          }
          ++kept;
        }
        m.d2.resize(kept);
        m.index.resize(kept);
        m.coords.resize(kept * static_cast<size_t>(dim));
      }
      for (const auto& [i, d] : imp) moved[static_cast<size_t>(i) >> 6] = 0;
    }
    for (const auto& [i, d] : imp) closest[i] = d;
    for (Scratch& sc : scratch)
      if (!sc.value.empty())
        for (const auto& [i, d] : imp) sc.value[i] = d;
    potential = best_pot;
  }
  return centers;
}

std::vector<float> init_afk_mc2(std::span<const float> points, int64_t dim, int64_t k, uint64_t seed, int threads,
                                std::span<const float> weights) {
  const int64_t n = static_cast<int64_t>(points.size()) / dim;
  const PointWeights w(weights, n, dim);
  Rng rng(seed);
  std::vector<float> centers(static_cast<size_t>(k * dim));
  const int64_t first = draw_first(rng, n, w);
  std::copy_n(&points[first * dim], dim, &centers[0]);
  auto d2 = [&](int64_t i, const float* c) {
    return w.empty() ? point_squared_distance_f64(&points[i * dim], c, dim) : w.distance(&points[i * dim], c, i);
  };
  auto mass = [&](int64_t i) { return w.empty() ? 1.0 : w.total(i); };

  // The proposal q(x) = 1/2 D^2(x, c1) / S + 1/2 mass(x) / M: D^2 to the first centre, with the uniform (or
  // weight) term that keeps every point reachable. Its two parts are drawn by binary search on cumulative
  // sums, taken in index order (each point's term is computed alone, so the thread count changes nothing).
  std::vector<double> cum_d2(static_cast<size_t>(n)), cum_mass(w.empty() ? 0 : static_cast<size_t>(n));
  parallel_chunks(chunk_count(n), threads, [&](int64_t ch) {
    for (int64_t i = ch * kChunkPoints; i < std::min(n, (ch + 1) * kChunkPoints); ++i) {
      cum_d2[i] = d2(i, &centers[0]);
      if (!w.empty()) cum_mass[i] = mass(i);
    }
  });
  for (int64_t i = 1; i < n; ++i) {
    cum_d2[i] += cum_d2[i - 1];
    if (!w.empty()) cum_mass[i] += cum_mass[i - 1];
  }
  const double total_d2 = cum_d2[n - 1], total_mass = w.empty() ? double(n) : cum_mass[n - 1];
  auto search = [&](const std::vector<double>& cum, double total) {
    const double r = rng.uniform() * total;
    const auto at = std::upper_bound(cum.begin(), cum.end(), r) - cum.begin();
    return std::min<int64_t>(at, n - 1);
  };
  // Weights of zero on the only coordinates where points differ can leave every D^2 at 0: then the
  // proposal is its uniform (weight) part alone.
  const bool any_d2 = total_d2 > 0;
  auto propose = [&] {
    if (any_d2 && rng.uniform() < 0.5) return search(cum_d2, total_d2);
    return w.empty() ? static_cast<int64_t>(rng.below(static_cast<uint64_t>(n))) : search(cum_mass, total_mass);
  };
  auto q = [&](int64_t i) { return (any_d2 ? 0.5 * d2(i, &centers[0]) / total_d2 : 0.0) + 0.5 * mass(i) / total_mass; };
  auto nearest = [&](int64_t i, int64_t chosen) {
    double best = std::numeric_limits<double>::infinity();
    for (int64_t a = 0; a < chosen; ++a) best = std::min(best, d2(i, &centers[a * dim]));
    return best;
  };

  for (int64_t c = 1; c < k; ++c) {
    // A Metropolis-Hastings chain whose stationary law is D^2 sampling (k-means++'s): y replaces x with
    // probability min(1, D^2(y) q(x) / (D^2(x) q(y))). A chain still on an existing centre (D^2 = 0) after
    // its length goes on until it leaves, for at most 64 lengths (weighted distances can all be 0; Lloyd
    // then relocates the duplicate centre as it does an empty cluster).
    int64_t x = propose();
    double dx = nearest(x, c), qx = q(x);
    for (int64_t step = 1; step < kChainLength || (!(dx > 0) && step < 64 * kChainLength); ++step) {
      const int64_t y = propose();
      const double dy = nearest(y, c), qy = q(y);
      if (dy * qx > rng.uniform() * dx * qy) x = y, dx = dy, qx = qy;
    }
    std::copy_n(&points[x * dim], dim, &centers[c * dim]);
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


#include "kmeans/scalar_1d.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>

#include <fmt/core.h>

#include "kmeans/assign.hpp"
#include "kmeans/parallel.hpp"
#include "kmeans/point_math.hpp"
#include "models/error.hpp"

namespace dkm::kmeans {
namespace {

// The chunked prefix sums of sorted values (scalar_1d.hpp), the GPU's order exactly.
void add_prefix_sums(SortedScalars& s) {
  const int64_t n = static_cast<int64_t>(s.value.size());
  s.prefix.assign(static_cast<size_t>(n + 1), 0.0);
  s.prefix_sq.assign(static_cast<size_t>(n + 1), 0.0);
  double base = 0, base_sq = 0;
  for (int64_t b = 0; b < n; b += kChunkPoints) {
    const int64_t count = std::min(kChunkPoints, n - b);
    double* local = &s.prefix[static_cast<size_t>(b + 1)];
    double* local_sq = &s.prefix_sq[static_cast<size_t>(b + 1)];
    chunk_prefix(&s.value[static_cast<size_t>(b)], count, local, local_sq);
    const double total = local[count - 1], total_sq = local_sq[count - 1];
    for (int64_t j = 0; j < count; ++j) {
      local[j] = base + local[j];
      local_sq[j] = base_sq + local_sq[j];
    }
    base += total;
    base_sq += total_sq;
  }
}

}  // namespace

SortedScalars sort_scalars(std::span<const float> values) {
  if (values.size() > std::numeric_limits<uint32_t>::max())
    throw UsageError(fmt::format("k-means: {} scalars; the sorted 1-D path takes at most 2^32 - 1", values.size()));
  // LSD radix sort on order-preserving keys, 4 passes of 8 bits: stable, O(N).
  const size_t n = values.size();
  std::vector<uint32_t> key(n), key_tmp(n), idx(n), idx_tmp(n);
  for (size_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &values[i], 4);
    key[i] = scalar_sort_key(bits);
    idx[i] = static_cast<uint32_t>(i);
  }
  for (int shift = 0; shift < 32; shift += 8) {
    size_t count[257] = {};
    for (size_t i = 0; i < n; ++i) ++count[((key[i] >> shift) & 0xff) + 1];
    for (int b = 0; b < 256; ++b) count[b + 1] += count[b];
    for (size_t i = 0; i < n; ++i) {
      const size_t pos = count[(key[i] >> shift) & 0xff]++;
      key_tmp[pos] = key[i];
      idx_tmp[pos] = idx[i];
    }
    key.swap(key_tmp);
    idx.swap(idx_tmp);
  }
  SortedScalars s;
  s.value.resize(n);
  for (size_t i = 0; i < n; ++i) s.value[i] = values[idx[i]];
  s.index = std::move(idx);
  add_prefix_sums(s);
  return s;
}

std::vector<float> optimal_1d_centers(const SortedScalars& sorted, int64_t k) {
  // Distinct values with multiplicities and their prefix sums.
  std::vector<double> w_prefix{0}, x_prefix{0}, xx_prefix{0};
  std::vector<float> distinct;
  const size_t n = sorted.value.size();
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && sorted.value[j] == sorted.value[i]) ++j;
    distinct.push_back(sorted.value[i]);
    w_prefix.push_back(w_prefix.back() + double(j - i));
    x_prefix.push_back(sorted.prefix[j] - sorted.prefix[i] + x_prefix.back());
    xx_prefix.push_back(sorted.prefix_sq[j] - sorted.prefix_sq[i] + xx_prefix.back());
    i = j;
  }
  const int64_t m = static_cast<int64_t>(distinct.size());
  if (k > m) throw UsageError(fmt::format("optimal-1d: K = {} exceeds the {} distinct values", k, m));
  if (k * m > kOptimal1dMaxCells)
    throw UsageError(fmt::format("optimal-1d: K x distinct values = {} x {} exceeds {} table cells; use k-means++",
                                 k, m, kOptimal1dMaxCells));
  // Within-cluster sum of squares of distinct values [a, b] (inclusive), from prefix sums.
  auto cost = [&](int64_t a, int64_t b) {
    const double w = w_prefix[b + 1] - w_prefix[a];
    const double s = x_prefix[b + 1] - x_prefix[a];
    const double ss = xx_prefix[b + 1] - xx_prefix[a];
    return std::max(0.0, ss - s * s / w);
  };
  const double inf = std::numeric_limits<double>::infinity();
  // prev[i]: best cost of the first i+1 values in q-1 clusters; cur for q clusters; split[q][i]: start
  // of the last cluster.
  std::vector<double> prev(static_cast<size_t>(m)), cur(static_cast<size_t>(m));
  std::vector<std::vector<uint32_t>> split(static_cast<size_t>(k), std::vector<uint32_t>(static_cast<size_t>(m), 0));
  for (int64_t i = 0; i < m; ++i) prev[i] = cost(0, i);
  for (int64_t q = 1; q < k; ++q) {
    auto& sp = split[q];
    // cur[i] = min over j in [q, i] of prev[j-1] + cost(j, i); the best j is monotone in i.
    auto solve = [&](auto&& self, int64_t lo, int64_t hi, int64_t jlo, int64_t jhi) -> void {
      if (lo > hi) return;
      const int64_t mid = (lo + hi) / 2;
      double best = inf;
      int64_t best_j = std::max<int64_t>(jlo, q);
      for (int64_t j = std::max<int64_t>(jlo, q); j <= std::min(mid, jhi); ++j) {
        const double c = prev[j - 1] + cost(j, mid);
        if (c < best) best = c, best_j = j;
      }
      cur[mid] = best;
      sp[mid] = static_cast<uint32_t>(best_j);
      self(self, lo, mid - 1, jlo, best_j);
      self(self, mid + 1, hi, best_j, jhi);
    };
    std::fill(cur.begin(), cur.end(), inf);
    solve(solve, q, m - 1, q, m - 1);
    std::swap(prev, cur);
  }
  // Walk the splits back from the last value.
  std::vector<float> centers(static_cast<size_t>(k));
  int64_t end = m - 1;
  for (int64_t q = k - 1; q >= 0; --q) {
    const int64_t start = q == 0 ? 0 : split[q][end];
    const double w = w_prefix[end + 1] - w_prefix[start];
    centers[q] = static_cast<float>((x_prefix[end + 1] - x_prefix[start]) / w);
    end = start - 1;
  }
  return centers;
}

namespace {

// Squared distance as the generic kernel computes it for d == 1.
inline float d2(float x, float c) { return point_squared_distance(&x, &c, 1); }

class Sorted1dAssigner final : public Assigner {
 public:
  Sorted1dAssigner(SortedScalars sorted, int64_t k)
      : sorted_(std::move(sorted)), k_(k), n_(static_cast<int64_t>(sorted_.value.size())) {}

  AssignTotals assign(std::span<const float> centers) override {
    // Centres by value, lowest index first among equal values; only that one receives points.
    std::vector<int32_t> order(static_cast<size_t>(k_));
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
      return centers[a] != centers[b] ? centers[a] < centers[b] : a < b;
    });
    std::vector<int64_t> begin(static_cast<size_t>(k_), 0), end(static_cast<size_t>(k_), 0);
    std::vector<int32_t> active;
    for (int32_t c : order)
      if (active.empty() || centers[active.back()] != centers[c]) active.push_back(c);
    int64_t lo = 0;
    for (size_t t = 0; t < active.size(); ++t) {
      int64_t hi = n_;
      if (t + 1 < active.size()) {
        const int32_t a = active[t], b = active[t + 1];
        const float ca = centers[a], cb = centers[b];
        // First sorted value that the nearer-centre rule (lowest index on ties) gives to b.
        auto goes_to_a = [&](float x) {
          const float da = d2(x, ca), db = d2(x, cb);
          return !(db < da || (db == da && b < a));
        };
        hi = std::partition_point(sorted_.value.begin() + lo, sorted_.value.end(), goes_to_a) - sorted_.value.begin();
      }
      begin[active[t]] = lo;
      end[active[t]] = hi;
      lo = hi;
    }
    AssignTotals totals;
    totals.sums.assign(static_cast<size_t>(k_), 0.0);
    totals.counts.assign(static_cast<size_t>(k_), 0);
    int64_t kept = 0;
    for (int64_t c = 0; c < k_; ++c) {
      const int64_t b = begin[c], e = end[c];
      totals.counts[c] = e - b;
      const double s = sorted_.prefix[e] - sorted_.prefix[b];
      totals.sums[c] = s;
      const double cc = centers[c];
      totals.inertia += std::max(0.0, sorted_.prefix_sq[e] - sorted_.prefix_sq[b] - 2 * cc * s + cc * cc * double(e - b));
      if (!begin_.empty()) kept += std::max<int64_t>(0, std::min(e, end_[c]) - std::max(b, begin_[c]));
    }
    totals.changed = n_ - kept;
    begin_ = std::move(begin);
    end_ = std::move(end);
    centers_.assign(centers.begin(), centers.end());
    return totals;
  }

  std::vector<Farthest> farthest(int64_t count, std::span<const int64_t> counts) override {
    // Within a cluster the distance to its centre is largest at the ends of its range.
    std::vector<int64_t> b = begin_, e = end_;
    std::vector<int64_t> left(counts.begin(), counts.end());
    std::vector<Farthest> out;
    while (static_cast<int64_t>(out.size()) < count) {
      int64_t best_pos = -1;
      int32_t best_c = -1;
      float best_d = -1;
      for (int32_t c = 0; c < k_; ++c) {
        if (left[c] <= 1 || b[c] >= e[c]) continue;
        for (int64_t pos : {b[c], e[c] - 1}) {
          const float d = d2(sorted_.value[pos], centers_[c]);
          if (d > best_d || (d == best_d && sorted_.index[pos] < sorted_.index[best_pos])) {
            best_d = d, best_pos = pos, best_c = c;
          }
        }
      }
      if (best_pos < 0) break;
      if (best_pos == b[best_c]) ++b[best_c]; else --e[best_c];
      --left[best_c];
      out.push_back({static_cast<int64_t>(sorted_.index[best_pos]), best_c});
    }
    return out;
  }

  void labels(std::span<int32_t> out) const override {
    for (int32_t c = 0; c < k_; ++c)
      for (int64_t pos = begin_[c]; pos < end_[c]; ++pos) out[sorted_.index[pos]] = c;
  }

 private:
  SortedScalars sorted_;
  int64_t k_, n_;
  std::vector<int64_t> begin_, end_;  // sorted range of each cluster at the last assign
  std::vector<float> centers_;
};

}  // namespace

std::unique_ptr<Assigner> make_sorted_1d_assigner(std::span<const float> values, int64_t k) {
  return std::make_unique<Sorted1dAssigner>(sort_scalars(values), k);
}

std::unique_ptr<Assigner> make_sorted_1d_assigner(SortedScalars sorted, int64_t k) {
  return std::make_unique<Sorted1dAssigner>(std::move(sorted), k);
}

}  // namespace dkm::kmeans

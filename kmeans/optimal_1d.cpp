// The exact 1-D optimum (Wang & Song's Ckmeans.1d.dp recurrence over distinct values) in memory linear
// in the number of values: a problem small enough keeps the table of split points and walks it back; a
// larger one is cut in two by Hirschberg's rule (the best first-half cost of every prefix plus the best
// second-half cost of every suffix gives the optimal place of the middle cut) and each half solved alone.
// Each layer of the recurrence is solved by divide and conquer on the monotone split point.
#include <algorithm>
#include <limits>

#include <fmt/core.h>

#include "kmeans/scalar_1d.hpp"
#include "models/error.hpp"

namespace dkm::kmeans {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

class Optimum {
 public:
  // Distinct values of positive weight with the prefix sums of their weights, weight x value and
  // weight x value^2 (a value's weight is its multiplicity when the problem is unweighted).
  Optimum(const SortedScalars& sorted, int64_t table_cells) : table_cells_(table_cells) {
    const size_t n = sorted.value.size();
    const bool weighted = !sorted.weight.empty();
    for (size_t i = 0; i < n;) {
      size_t j = i;
      while (j < n && sorted.value[j] == sorted.value[i]) ++j;
      const double w = weighted ? sorted.prefix_w[j] - sorted.prefix_w[i] : double(j - i);
      if (w > 0) {
        w_.push_back(w_.back() + w);
        x_.push_back(x_.back() + (sorted.prefix[j] - sorted.prefix[i]));
        xx_.push_back(xx_.back() + (sorted.prefix_sq[j] - sorted.prefix_sq[i]));
      }
      i = j;
    }
  }
  int64_t size() const { return static_cast<int64_t>(w_.size()) - 1; }

  // Within-cluster sum of squares of distinct values [a, b] (inclusive).
  double cost(int64_t a, int64_t b) const {
    const double w = w_[b + 1] - w_[a], s = x_[b + 1] - x_[a], ss = xx_[b + 1] - xx_[a];
    return std::max(0.0, ss - s * s / w);
  }
  float mean(int64_t a, int64_t b) const {
    return static_cast<float>((x_[b + 1] - x_[a]) / (w_[b + 1] - w_[a]));
  }

  // The k centres of values [lo, hi] (at least k of them) into out[0..k), ascending.
  void solve(int64_t lo, int64_t hi, int64_t k, float* out) const {
    if (k == 1) {
      out[0] = mean(lo, hi);
      return;
    }
    const int64_t m = hi - lo + 1;
    if (k * m <= table_cells_) return solve_with_table(lo, hi, k, out);
    const int64_t k1 = k / 2, k2 = k - k1;
    const std::vector<double> head = prefix_costs(lo, hi, k1), tail = suffix_costs(lo, hi, k2);
    // The second half starts at s: [lo, s - 1] in k1 clusters, [s, hi] in k2 (lowest s on ties).
    int64_t best_s = lo + k1;
    double best = kInf;
    for (int64_t s = lo + k1; s <= hi - k2 + 1; ++s) {
      const double c = head[s - 1 - lo] + tail[s - lo];
      if (c < best) best = c, best_s = s;
    }
    solve(lo, best_s - 1, k1, out);
    solve(best_s, hi, k2, out + k1);
  }

 private:
  int64_t table_cells_;  // the largest split table kept; above it a problem is halved

  // One layer: cur[i - base] = min over j in [jmin, i] of prev(j - 1) + cost(j, i) for i in [lo, hi], the
  // best j non-decreasing in i; best_j[i - base] receives the arg min (lowest on ties) minus base.
  template <typename Prev, typename Cost>
  static void layer(int64_t lo, int64_t hi, int64_t jmin, Prev&& prev, Cost&& cost, std::vector<double>& cur,
                    uint32_t* best_j, int64_t base) {
    auto go = [&](auto&& self, int64_t a, int64_t b, int64_t jlo, int64_t jhi) -> void {
      if (a > b) return;
      const int64_t mid = (a + b) / 2;
      double best = kInf;
      int64_t arg = std::max(jlo, jmin);
      for (int64_t j = std::max(jlo, jmin); j <= std::min(mid, jhi); ++j) {
        const double c = prev(j - 1) + cost(j, mid);
        if (c < best) best = c, arg = j;
      }
      cur[mid - base] = best;
      if (best_j) best_j[mid - base] = static_cast<uint32_t>(arg - base);
      self(self, a, mid - 1, jlo, arg);
      self(self, mid + 1, b, arg, jhi);
    };
    go(go, lo, hi, jmin, hi);
  }

  // out[i - lo]: the best cost of values [lo, i] in k clusters (infinite with fewer than k values), for
  // the cost of a range given by `cost`; split[q * m + i - lo], when not null, the start of the last
  // cluster (minus lo) in the layer of q + 1 clusters.
  template <typename Cost>
  static std::vector<double> best_costs(int64_t lo, int64_t hi, int64_t k, Cost&& cost, uint32_t* split) {
    const int64_t m = hi - lo + 1;
    std::vector<double> prev(static_cast<size_t>(m)), cur(static_cast<size_t>(m), kInf);
    for (int64_t i = lo; i <= hi; ++i) prev[i - lo] = cost(lo, i);
    for (int64_t q = 1; q < k; ++q) {
      std::fill(cur.begin(), cur.end(), kInf);
      layer(lo + q, hi, lo + q, [&](int64_t j) { return prev[j - lo]; }, cost, cur, split ? split + q * m : nullptr,
            lo);
      std::swap(prev, cur);
    }
    return prev;
  }

  std::vector<double> prefix_costs(int64_t lo, int64_t hi, int64_t k) const {
    return best_costs(lo, hi, k, [&](int64_t a, int64_t b) { return cost(a, b); }, nullptr);
  }

  // out[j - lo]: the best cost of values [j, hi] in k clusters: the prefix recurrence on the values
  // mirrored (position j of the original is position hi + lo - j of the mirror).
  std::vector<double> suffix_costs(int64_t lo, int64_t hi, int64_t k) const {
    auto mirror_cost = [&](int64_t a, int64_t b) { return cost(hi + lo - b, hi + lo - a); };
    std::vector<double> out = best_costs(lo, hi, k, mirror_cost, nullptr);
    std::reverse(out.begin(), out.end());
    return out;
  }

  void solve_with_table(int64_t lo, int64_t hi, int64_t k, float* out) const {
    const int64_t m = hi - lo + 1;
    std::vector<uint32_t> split(static_cast<size_t>(k * m), 0);
    best_costs(lo, hi, k, [&](int64_t a, int64_t b) { return cost(a, b); }, split.data());
    int64_t end = hi;
    for (int64_t q = k - 1; q >= 0; --q) {
      const int64_t start = q == 0 ? lo : lo + split[q * m + (end - lo)];
      out[q] = mean(start, end);
      end = start - 1;
    }
  }

  std::vector<double> w_{0}, x_{0}, xx_{0};
};
}  // namespace

std::vector<float> optimal_1d_centers(const SortedScalars& sorted, int64_t k, int64_t table_cells) {
  const Optimum optimum(sorted, std::max<int64_t>(table_cells, 1));
  const int64_t m = optimum.size();
  if (k > m) throw UsageError(fmt::format("optimal-1d: K = {} exceeds the {} distinct values", k, m));
  std::vector<float> centers(static_cast<size_t>(k));
  optimum.solve(0, m - 1, k, centers.data());
  return centers;
}

}  // namespace dkm::kmeans

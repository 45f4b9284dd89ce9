// Greedy k-means++ for scalars on sorted values: clusters of a nearest-centre assignment are ranges of
// the sorted values and a range's D^2 sum comes from prefix sums, so a candidate's potential costs two
// binary searches and O(K) additions instead of a pass over all N values.
#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/core.h>

#include "kmeans/rng.hpp"
#include "kmeans/scalar_1d.hpp"
#include "models/error.hpp"

namespace dkm::kmeans {
namespace {

class SortedSeeding {
 public:
  explicit SortedSeeding(const SortedScalars& s) : s_(s), n_(static_cast<int64_t>(s.value.size())) {}

  double weight(int64_t p) const { return s_.weight.empty() ? 1.0 : s_.weight[p]; }
  // The point's D^2 to centre c (weighted).
  double contribution(int64_t p, float c) const {
    const double d = double(s_.value[p]) - double(c);
    return weight(p) * (d * d);
  }
  // Sum of weight * (x - c)^2 over sorted positions [b, e): S2 - 2 c S1 + c^2 W from the prefix sums,
  // exactly 0 when every value there is c or every weight 0.
  double cost(int64_t b, int64_t e, float c) const {
    if (b >= e || (s_.value[b] == c && s_.value[e - 1] == c)) return 0;
    const double w = s_.weight.empty() ? double(e - b) : s_.prefix_w[e] - s_.prefix_w[b];
    if (!(w > 0)) return 0;
    const double s1 = s_.prefix[e] - s_.prefix[b], s2 = s_.prefix_sq[e] - s_.prefix_sq[b], cd = c;
    return std::max(0.0, s2 - 2 * cd * s1 + cd * cd * w);
  }
  // First position in [b, e) nearer to hi than to lo (lo < hi; a tie stays with lo).
  int64_t boundary(int64_t b, int64_t e, float lo, float hi) const {
    const auto first = s_.value.begin();
    return std::partition_point(first + b, first + e, [&](float x) {
             const double dl = double(x) - lo, dh = double(x) - hi;
             return !(dh * dh < dl * dl);
           }) - first;
  }
  // A sorted position with positive D^2 to c in [b, e), nearest to p; -1 when there is none.
  int64_t positive_near(int64_t p, int64_t b, int64_t e, float c) const {
    for (int64_t q = p; q < e; ++q)
      if (contribution(q, c) > 0) return q;
    for (int64_t q = p - 1; q >= b; --q)
      if (contribution(q, c) > 0) return q;
    return -1;
  }

  const SortedScalars& s_;
  int64_t n_;
};

}  // namespace

std::vector<float> init_kmeans_plus_plus_sorted(const SortedScalars& s, int64_t k, uint64_t seed) {
  const SortedSeeding seeding(s);
  const int64_t n = static_cast<int64_t>(s.value.size());
  const bool weighted = !s.weight.empty();
  const int64_t trials = 2 + static_cast<int64_t>(std::log(static_cast<double>(k)));
  Rng rng(seed);
  // The first centre: uniform over the points, or in proportion to their weights.
  int64_t first = 0;
  if (!weighted) {
    first = static_cast<int64_t>(rng.below(static_cast<uint64_t>(n)));
  } else {
    if (!(s.prefix_w[n] > 0)) throw UsageError("k-means: every weight is zero");
    const double r = rng.uniform() * s.prefix_w[n];
    first = std::partition_point(s.prefix_w.begin() + 1, s.prefix_w.end(), [&](double acc) { return acc < r; }) -
            (s.prefix_w.begin() + 1);
    first = std::min(first, n - 1);
    while (first > 0 && !(s.weight[first] > 0)) --first;
    while (first < n - 1 && !(s.weight[first] > 0)) ++first;
  }
  // Chosen centres in ascending order with the first sorted position of each one's range and its cost.
  std::vector<float> value{s.value[first]};
  std::vector<int64_t> begin{0};
  std::vector<double> cost{seeding.cost(0, n, value[0])};
  std::vector<float> chosen{value[0]};
  auto end_of = [&](size_t j) { return j + 1 < begin.size() ? begin[j + 1] : n; };

  // What adding centre v changes: it lands between centres j - 1 and j, and takes the tail of the
  // former's range and the head of the latter's.
  struct Split {
    size_t j;
    int64_t from, until;                // v's range
    double left, mid, right, potential;  // new costs of j - 1, v, j; the total
  };
  auto split = [&](float v) {
    Split sp{};
    sp.j = static_cast<size_t>(std::upper_bound(value.begin(), value.end(), v) - value.begin());
    const bool has_left = sp.j > 0, has_right = sp.j < value.size();
    const int64_t b = has_left ? begin[sp.j - 1] : 0, e = has_right ? end_of(sp.j) : n;
    sp.from = has_left ? seeding.boundary(b, e, value[sp.j - 1], v) : b;
    sp.until = has_right ? seeding.boundary(sp.from, e, v, value[sp.j]) : e;
    sp.left = has_left ? seeding.cost(b, sp.from, value[sp.j - 1]) : 0;
    sp.mid = seeding.cost(sp.from, sp.until, v);
    sp.right = has_right ? seeding.cost(sp.until, e, value[sp.j]) : 0;
    double total = 0;  // in ascending order of the centres
    for (size_t c = 0; c <= value.size(); ++c) {
      if (c + 1 == sp.j) total += sp.left;
      else if (c < value.size() && c != sp.j) total += cost[c];
      if (c == sp.j) total += sp.mid + (has_right ? sp.right : 0);
    }
    sp.potential = total;
    return sp;
  };

  for (int64_t c = 1; c < k; ++c) {
    double potential = 0;
    for (double v : cost) potential += v;
    int64_t best = -1;
    Split best_split{};
    for (int64_t t = 0; t < trials; ++t) {
      // The cluster where the cumulative D^2 (in ascending order) reaches r, then the position in it.
      const double r = rng.uniform() * potential;
      double acc = 0;
      size_t j = value.size();
      for (size_t q = 0; q < value.size(); ++q) {
        if (!(cost[q] > 0)) continue;
        j = q;
        if ((acc += cost[q]) >= r) break;
      }
      if (j == value.size())
        throw UsageError(fmt::format("k-means: K = {} exceeds the {} distinct values of positive weight", k, c));
      const double rest = r - (acc - cost[j]);
      const int64_t b = begin[j], e = end_of(j);
      int64_t p = std::partition_point(s.value.begin() + b, s.value.begin() + e,
                                       [&](const float& x) {
                                         const int64_t q = &x - s.value.data();
                                         return seeding.cost(b, q + 1, value[j]) < rest;
                                       }) - s.value.begin();
      p = seeding.positive_near(std::min(p, e - 1), b, e, value[j]);
      if (p < 0)
        throw UsageError(fmt::format("k-means: K = {} exceeds the {} distinct values of positive weight", k, c));
      const Split sp = split(s.value[p]);
      if (best < 0 || sp.potential < best_split.potential) best = p, best_split = sp;
    }
    const float v = s.value[best];
    const size_t j = best_split.j;
    if (j > 0) cost[j - 1] = best_split.left;
    if (j < value.size()) {
      cost[j] = best_split.right;
      begin[j] = best_split.until;
    }
    value.insert(value.begin() + static_cast<ptrdiff_t>(j), v);
    begin.insert(begin.begin() + static_cast<ptrdiff_t>(j), best_split.from);
    cost.insert(cost.begin() + static_cast<ptrdiff_t>(j), best_split.mid);
    chosen.push_back(v);
  }
  return chosen;
}

}  // namespace dkm::kmeans

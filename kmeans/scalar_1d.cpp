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

void weigh_sorted(SortedScalars& s, std::span<const float> weights) {
  const size_t n = s.value.size();
  s.weight.resize(n);
  s.prefix_w.assign(n + 1, 0.0);
  for (size_t i = 0; i < n; ++i) {
    const double w = s.weight[i] = weights[s.index[i]], x = s.value[i];
    s.prefix_w[i + 1] = s.prefix_w[i] + w;
    s.prefix[i + 1] = s.prefix[i] + w * x;
    s.prefix_sq[i + 1] = s.prefix_sq[i] + w * (x * x);
  }
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
    if (weighted()) totals.weights.assign(static_cast<size_t>(k_), 0.0);
    int64_t kept = 0;
    for (int64_t c = 0; c < k_; ++c) {
      const int64_t b = begin[c], e = end[c];
      totals.counts[c] = e - b;
      const double s = sorted_.prefix[e] - sorted_.prefix[b];  // of weight x value when weighted
      totals.sums[c] = s;
      const double w = weighted() ? sorted_.prefix_w[e] - sorted_.prefix_w[b] : double(e - b);
      if (weighted()) totals.weights[c] = w;
      const double cc = centers[c];
      totals.inertia += std::max(0.0, sorted_.prefix_sq[e] - sorted_.prefix_sq[b] - 2 * cc * s + cc * cc * w);
      if (!begin_.empty()) kept += std::max<int64_t>(0, std::min(e, end_[c]) - std::max(b, begin_[c]));
    }
    totals.changed = n_ - kept;
    begin_ = std::move(begin);
    end_ = std::move(end);
    centers_.assign(centers.begin(), centers.end());
    return totals;
  }

  std::vector<Farthest> farthest(int64_t count, std::span<const int64_t> counts) override {
    if (weighted()) return weighted_farthest(count, counts);
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
  bool weighted() const { return !sorted_.weight.empty(); }

  // Weighted: the largest weight x D^2 may sit anywhere in a range; all of them, ordered.
  std::vector<Farthest> weighted_farthest(int64_t count, std::span<const int64_t> counts) const {
    std::vector<std::pair<double, int64_t>> all;  // (-weight x D^2, input index) of the sorted positions
    std::vector<int32_t> label_of(static_cast<size_t>(n_));
    for (int32_t c = 0; c < k_; ++c)
      for (int64_t pos = begin_[c]; pos < end_[c]; ++pos) {
        const double d = double(d2(sorted_.value[pos], centers_[c])) * sorted_.weight[pos];
        all.emplace_back(-d, sorted_.index[pos]);
        label_of[sorted_.index[pos]] = c;
      }
    std::sort(all.begin(), all.end());
    std::vector<int64_t> left(counts.begin(), counts.end());
    std::vector<Farthest> out;
    for (const auto& [d, i] : all) {
      if (static_cast<int64_t>(out.size()) >= count) break;
      const int32_t c = label_of[i];
      if (left[c] <= 1) continue;
      --left[c];
      out.push_back({i, c});
    }
    return out;
  }

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

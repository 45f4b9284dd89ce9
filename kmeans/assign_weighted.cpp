// The weighted assignment step (KMeansParams::weights): each point's squared error times its weight,
// one per point or one per coordinate. Per-coordinate weights change which centre is nearest, so this
// kernel scans every centre in double (no Hamerly bounds, no SIMD float kernel); chunks of kChunkPoints
// with their totals reduced in chunk order keep the bits independent of the thread count.
#include <algorithm>
#include <limits>

#include "kmeans/assign.hpp"
#include "kmeans/parallel.hpp"
#include "kmeans/point_math.hpp"
#include "kmeans/weights.hpp"

namespace dkm::kmeans {
namespace {

class WeightedAssigner final : public Assigner {
 public:
  WeightedAssigner(std::span<const float> points, int64_t dim, int64_t k, std::span<const float> weights,
                   int threads)
      : points_(points), dim_(dim), k_(k), n_(static_cast<int64_t>(points.size()) / dim),
        w_(weights, n_, dim), threads_(threads), labels_(static_cast<size_t>(n_), -1),
        dist_(static_cast<size_t>(n_), 0.0) {}

  AssignTotals assign(std::span<const float> centers) override {
    const int64_t chunks = chunk_count(n_);
    const size_t kd = static_cast<size_t>(k_ * dim_);
    std::vector<AssignTotals> part(static_cast<size_t>(chunks));
    parallel_chunks(chunks, threads_, [&](int64_t ch) {
      AssignTotals& t = part[ch];
      t.sums.assign(kd, 0.0);
      t.weights.assign(kd, 0.0);
      t.counts.assign(static_cast<size_t>(k_), 0);
      const int64_t b = ch * kChunkPoints, e = std::min(n_, b + kChunkPoints);
      t.inertia = sum_in_runs(b, e, [&](int64_t i) {
        const float* x = &points_[i * dim_];
        // A weightless point is free to go anywhere: it takes its nearest centre by the plain distance
        // (the sorted 1-D path's rule too) and adds nothing to the inertia.
        const bool weightless = !(w_.total(i) > 0);
        double best = std::numeric_limits<double>::infinity();
        int32_t label = 0;
        for (int64_t c = 0; c < k_; ++c) {
          const double d = weightless ? point_squared_distance_f64(x, &centers[c * dim_], dim_)
                                      : w_.distance(x, &centers[c * dim_], i);
          if (d < best) best = d, label = static_cast<int32_t>(c);
        }
        if (weightless) best = 0;
        t.changed += labels_[i] != label;
        labels_[i] = label;
        dist_[i] = best;
        ++t.counts[label];
        for (int64_t j = 0; j < dim_; ++j) {
          const double wj = w_.at(i, j);
          t.sums[label * dim_ + j] += wj * x[j];
          t.weights[label * dim_ + j] += wj;
        }
        return best;
      });
    });
    AssignTotals total;
    total.sums.assign(kd, 0.0);
    total.weights.assign(kd, 0.0);
    total.counts.assign(static_cast<size_t>(k_), 0);
    for (const AssignTotals& t : part) {
      for (size_t j = 0; j < kd; ++j) {
        total.sums[j] += t.sums[j];
        total.weights[j] += t.weights[j];
      }
      for (int64_t c = 0; c < k_; ++c) total.counts[c] += t.counts[c];
      total.inertia += t.inertia;
      total.changed += t.changed;
    }
    return total;
  }

  std::vector<Farthest> farthest(int64_t count, std::span<const int64_t> counts) override {
    return farthest_points<double>(dist_, labels_, count, counts);
  }

  void labels(std::span<int32_t> out) const override { std::copy(labels_.begin(), labels_.end(), out.begin()); }

 private:
  std::span<const float> points_;
  int64_t dim_, k_, n_;
  PointWeights w_;
  int threads_;
  std::vector<int32_t> labels_;
  std::vector<double> dist_;  // weighted D^2 to the centre of the last assign
};

}  // namespace

std::unique_ptr<Assigner> make_weighted_assigner(std::span<const float> points, int64_t dim, int64_t k,
                                                 std::span<const float> weights, int threads) {
  return std::make_unique<WeightedAssigner>(points, dim, k, weights, threads);
}

}  // namespace dkm::kmeans

#pragma once
// The assignment step of Lloyd's algorithm, the one seam where points meet centres (faiss style): a
// fused distance + argmin kernel that never materialises the N x K distance matrix, vectorised over
// blocks of points, threaded over fixed-size chunks, with Hamerly bounds to skip points whose centre
// cannot have changed. Other backends (CUDA) implement the same interface.
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "kmeans/point_math.hpp"

namespace dkm::kmeans {

// What the centre update needs, reduced over chunks in chunk order (bit-identical for any thread count).
struct AssignTotals {
  std::vector<double> sums;     // K x d: sum of the points assigned to each centre
  std::vector<int64_t> counts;  // K: points assigned to each centre
  std::vector<double> weights;  // weighted problems only, K x d: the weights summed like `sums`, which
                                // then hold the sums of weight x point (centre = sums / weights)
  double inertia = 0;           // sum of squared distances to the assigned centres
  int64_t changed = 0;          // points whose label differs from the one passed in
};

// A point taken to re-seed an empty cluster.
struct Farthest {
  int64_t point = 0;  // index of the point
  int32_t label = 0;  // its current cluster
};

class Assigner {
 public:
  virtual ~Assigner() = default;
  // Labels every point with its nearest centre (lowest index on ties) and returns the totals; the
  // labels stay inside until labels() is asked for (the sorted 1-D path never materialises them).
  virtual AssignTotals assign(std::span<const float> centers) = 0;
  // Up to `count` points farthest from their centre at the last assign (larger squared distance first,
  // lower index on ties), never taking the last point of a cluster; `counts` are the cluster sizes.
  virtual std::vector<Farthest> farthest(int64_t count, std::span<const int64_t> counts) = 0;
  // The labels of the last assign.
  virtual void labels(std::span<int32_t> out) const = 0;
};

// Several independent point sets of one dimension, assigned together: the GPU backend labels all of
// them in one launch, so many small layers cost one launch per Lloyd round, not one each.
class BatchAssigner {
 public:
  virtual ~BatchAssigner() = default;
  virtual size_t layers() const = 0;
  // centers[l] holds layer l's K x d centres. An empty span leaves layer l as it is (its centres,
  // labels and farthest points stay those of its last assign) and its totals come back empty; the
  // first call must give every layer its centres.
  virtual std::vector<AssignTotals> assign(std::span<const std::span<const float>> centers) = 0;
  virtual std::vector<Farthest> farthest(size_t layer, int64_t count, std::span<const int64_t> counts) = 0;
  virtual void labels(size_t layer, std::span<int32_t> out) const = 0;
};

// Single assigners as one batch, run one after another (each one threads over its own chunks).
std::unique_ptr<BatchAssigner> make_batch_of(std::vector<std::unique_ptr<Assigner>> assigners);

// The CPU backend. With prune, Hamerly bounds carry over between calls: the labels are the same as a
// full scan's, only fewer distances are computed.
std::unique_ptr<Assigner> make_cpu_assigner(std::span<const float> points, int64_t dim, int64_t k,
                                            int threads, bool prune);

// Weighted points (kmeans/weights.hpp: N or N x d non-negative weights): nearest by weighted squared
// distance in double, totals with `weights` filled. Every centre scanned; the CPU only.
std::unique_ptr<Assigner> make_weighted_assigner(std::span<const float> points, int64_t dim, int64_t k,
                                                 std::span<const float> weights, int threads);

// d == 1: the points sorted once; clusters are contiguous ranges found by binary search, sums come from
// prefix sums, so an assign costs O(K log N). Same labels as the CPU backend.
std::unique_ptr<Assigner> make_sorted_1d_assigner(std::span<const float> values, int64_t k);

// Assigner::farthest's rule over every point's squared distance to its centre and its label.
template <typename D>
std::vector<Farthest> farthest_points(std::span<const D> d2, std::span<const int32_t> labels, int64_t count,
                                      std::span<const int64_t> counts);

// Squared distance with the exact operation order the kernels use (the CPU's and the GPU's), so all
// agree bit for bit.
inline float squared_distance(const float* x, const float* c, int64_t dim) { return point_squared_distance(x, c, dim); }

}  // namespace dkm::kmeans

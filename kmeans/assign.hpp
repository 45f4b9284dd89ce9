#pragma once
// The assignment step of Lloyd's algorithm, the one seam where points meet centres (faiss style): a
// fused distance + argmin kernel that never materialises the N x K distance matrix, vectorised over
// blocks of points, threaded over fixed-size chunks, with Hamerly bounds to skip points whose centre
// cannot have changed. Other backends (CUDA) implement the same interface.
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace dkm::kmeans {

// What the centre update needs, reduced over chunks in chunk order (bit-identical for any thread count).
struct AssignTotals {
  std::vector<double> sums;     // K x d: sum of the points assigned to each centre
  std::vector<int64_t> counts;  // K: points assigned to each centre
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

// The CPU backend. With prune, Hamerly bounds carry over between calls: the labels are the same as a
// full scan's, only fewer distances are computed.
std::unique_ptr<Assigner> make_cpu_assigner(std::span<const float> points, int64_t dim, int64_t k,
                                            int threads, bool prune);

// d == 1: the points sorted once; clusters are contiguous ranges found by binary search, sums come from
// prefix sums, so an assign costs O(K log N). Same labels as the CPU backend.
std::unique_ptr<Assigner> make_sorted_1d_assigner(std::span<const float> values, int64_t k);

// Squared distance with the exact operation order the kernel uses, so both agree bit for bit.
inline float squared_distance(const float* x, const float* c, int64_t dim) {
  float s = 0;
  for (int64_t j = 0; j < dim; ++j) {
    const float diff = x[j] - c[j];
    s += diff * diff;
  }
  return s;
}

}  // namespace dkm::kmeans

#pragma once
// Scalars (d == 1): sorted once, every cluster of a nearest-centre assignment is a contiguous range.
// The sorted Lloyd path lives behind the assignment seam (make_sorted_1d_assigner in assign.hpp); the
// exact optimum by dynamic programming is here.
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "kmeans/assign.hpp"

namespace dkm::kmeans {

// Values in ascending order (stable: equal values keep their input order) with their input indices and
// prefix sums of x and x^2 (double), prefix[i] = sum of the first i sorted values. The sums run over
// chunks of kChunkPoints sorted values (point_math.hpp, chunk_prefix): prefix[c * kChunkPoints + j + 1]
// = base[c] + (the chunk's own sum of its first j + 1 values), base[c] the earlier chunks' totals added
// in order, so the GPU (cuda_sort_scalars) builds the same bits in parallel. At most 2^32 - 1 values.
struct SortedScalars {
  std::vector<float> value;
  std::vector<uint32_t> index;
  std::vector<double> prefix, prefix_sq;
  std::vector<float> weight;       // weighted problems only: the weights in sorted order
  std::vector<double> prefix_w;    // and their prefix sums
};
SortedScalars sort_scalars(std::span<const float> values);

// Makes `sorted` a weighted problem: weight[i] = weights[index[i]], prefix_w their prefix sums, and
// prefix / prefix_sq become the prefix sums of weight x value and weight x value^2 (sequential, on the
// host whichever device sorted).
void weigh_sorted(SortedScalars& sorted, std::span<const float> weights);

// The sorted path's assigner (make_sorted_1d_assigner in assign.hpp) over values already sorted, by
// sort_scalars or on the GPU by cuda_sort_scalars.
std::unique_ptr<Assigner> make_sorted_1d_assigner(SortedScalars sorted, int64_t k);

// The K centres minimising the (weighted) sum of squared distances exactly: Wang & Song's Ckmeans.1d.dp
// recurrence over the distinct values of positive weight, each layer solved by divide and conquer on the
// monotone split point, O(K M log M) for M distinct values. Memory stays linear in M: a problem whose
// split table (K x M entries of 4 bytes) would exceed `table_cells` is cut in two at the optimal middle
// split (Hirschberg), costing a factor of about log2(K) in time. Returns the centres in ascending order;
// throws dkm::UsageError when K exceeds M.
inline constexpr int64_t kOptimal1dTableCells = int64_t{1} << 24;
std::vector<float> optimal_1d_centers(const SortedScalars& sorted, int64_t k,
                                      int64_t table_cells = kOptimal1dTableCells);

// Greedy k-means++ (init_kmeans_plus_plus's rule: 2 + floor(ln K) candidates drawn in proportion to
// D^2, the one of least potential kept) on sorted scalars: the clusters of the chosen centres are
// ranges of the sorted values, a range's D^2 sum comes from the prefix sums, so a candidate costs
// O(K + log N), not a pass over the N values. The draw walks the values in ascending order rather than
// in input order, so the centres differ from init_kmeans_plus_plus's for the same seed (the same
// distribution). Weighted when `sorted` carries weights (weigh_sorted). Centres in the order chosen.
std::vector<float> init_kmeans_plus_plus_sorted(const SortedScalars& sorted, int64_t k, uint64_t seed);

}  // namespace dkm::kmeans

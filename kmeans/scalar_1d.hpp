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
};
SortedScalars sort_scalars(std::span<const float> values);

// The sorted path's assigner (make_sorted_1d_assigner in assign.hpp) over values already sorted, by
// sort_scalars or on the GPU by cuda_sort_scalars.
std::unique_ptr<Assigner> make_sorted_1d_assigner(SortedScalars sorted, int64_t k);

// The K centres minimising the sum of squared distances exactly (Wang & Song's Ckmeans.1d.dp recurrence
// over distinct values, each layer solved by divide and conquer on the monotone split point:
// O(K M log M) for M distinct values). Returns the centres in ascending order. Throws dkm::UsageError
// when K exceeds M or the split table (K x M entries of 4 bytes) would exceed kOptimal1dMaxCells.
inline constexpr int64_t kOptimal1dMaxCells = int64_t{1} << 27;
std::vector<float> optimal_1d_centers(const SortedScalars& sorted, int64_t k);

}  // namespace dkm::kmeans

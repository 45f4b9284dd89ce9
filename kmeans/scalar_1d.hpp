#pragma once
// Scalars (d == 1): sorted once, every cluster of a nearest-centre assignment is a contiguous range.
// The sorted Lloyd path lives behind the assignment seam (make_sorted_1d_assigner in assign.hpp); the
// exact optimum by dynamic programming is here.
#include <cstdint>
#include <span>
#include <vector>

namespace dkm::kmeans {

// Values in ascending order (stable: equal values keep their input order) with their input indices and
// prefix sums of x and x^2 (double), prefix[i] = sum of the first i sorted values.
struct SortedScalars {
  std::vector<float> value;
  std::vector<uint32_t> index;
  std::vector<double> prefix, prefix_sq;
};
SortedScalars sort_scalars(std::span<const float> values);

// The K centres minimising the sum of squared distances exactly (Wang & Song's Ckmeans.1d.dp recurrence
// over distinct values, each layer solved by divide and conquer on the monotone split point:
// O(K M log M) for M distinct values). Returns the centres in ascending order. Throws dkm::UsageError
// when K exceeds M or the split table (K x M entries of 4 bytes) would exceed kOptimal1dMaxCells.
inline constexpr int64_t kOptimal1dMaxCells = int64_t{1} << 27;
std::vector<float> optimal_1d_centers(const SortedScalars& sorted, int64_t k);

}  // namespace dkm::kmeans

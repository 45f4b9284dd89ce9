#pragma once
// "Sparsity p" of the Deep k-Means WRN experiment (paper.md section 1): floor(p * N) vectors form one
// cluster with a prescribed centre, the other vectors get K - 1 clusters of their own.
#include <cstdint>
#include <span>
#include <vector>

#include "kmeans/compressed.hpp"

namespace dkm::kmeans {

struct SparseGroup {
  std::vector<uint8_t> member;  // per vector: 1 = in the sparse cluster
  int64_t count = 0;            // floor(p * N)
  std::vector<float> centre;    // d values: zero (zero-norm) or the members' mean (near-mean)
};

// zero_norm: the floor(p N) vectors of smallest L2 norm, centre fixed at zero (the paper).
// near_mean: the floor(p N) vectors nearest the mean of all vectors, centre = their mean (the
// reference code). Ties go to the lower vector index. p must be in [0, 1).
SparseGroup select_sparse(std::span<const float> vectors, int64_t dim, double p, SparsityVariant variant);

}  // namespace dkm::kmeans

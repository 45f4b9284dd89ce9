#pragma once
// The Deep k-Means re-training regulariser for one layer (docs/retraining.md).
//
// A layer's weight is cut into N vectors of length d (row-wise: d = kernel width s). With W the d x N
// matrix whose columns are those vectors and F an N x K matrix, the term is
//
//     R(W) = (lambda / 2) * [ Tr(W^T W) - Tr(F^T W^T W F) ],   dR/dW = lambda * W (I - F F^T)
//
// with F held fixed between refreshes. Two choices of F:
//   spectral  F = the top-K right singular vectors of W (the paper's relaxation, F^T F = I). Since
//             rank(W) <= d, K >= rank(W) makes F F^T the identity on W's row space: R and its gradient
//             are identically zero. `vacuous` and `warning` say so.
//   hard      F = the normalised indicator of a k-means assignment (F[n][k] = 1/sqrt(|C_k|) when
//             label[n] == k). Then R = (lambda / 2) * inertia of W against its cluster means, and the
//             gradient lambda * (w_n - mean_{label[n]}) pulls every vector toward its centre.
//
// Vectors are row-major N x d float32, i.e. weight.reshape(-1, d): no copy of a conv weight is needed.
#include <cstdint>
#include <span>
#include <string>
#include <optional>
#include <string_view>
#include <vector>

#include "kmeans/kmeans.hpp"

namespace dkm::kmeans {

enum class RegularizerVariant { spectral, hard };

std::string_view to_string(RegularizerVariant variant);
std::optional<RegularizerVariant> parse_regularizer_variant(std::string_view s);

// F in factored form, computed from the weights at a refresh and kept until the next one.
struct RegularizerBasis {
  RegularizerVariant variant = RegularizerVariant::hard;
  int64_t vectors = 0;          // N
  int64_t dim = 0;              // d
  int64_t k = 0;                // clusters asked for
  int64_t rank = 0;             // spectral: rank of W at the refresh, singular values counted above
                                // max(N, d) * float epsilon * the largest (float32 data); 0 for hard
  std::vector<double> basis;    // spectral: F as N x r row-major, r = min(K, rank); further columns
                                // would only span W's null space and change nothing
  int64_t basis_columns = 0;    // r
  std::vector<double> singular_values;  // spectral: all min(d, N) singular values of W, descending
  std::vector<int32_t> labels;  // hard: N labels in [0, K)
  bool vacuous = false;         // spectral with K >= rank(W): R and its gradient vanish for this F
  std::string warning;          // non-empty when vacuous or K was clamped
};

// F = top-K right singular vectors of W (a truncated SVD of the N x d matrix, in double).
// Throws dkm::UsageError for K < 1, an empty input, a size not divisible by dim or non-finite values.
RegularizerBasis spectral_basis(std::span<const float> vectors, int64_t dim, int64_t k);

// F = normalised indicator of dkm's k-means assignment with params.k clusters. K is clamped to the
// number of distinct vectors (with a warning), so any layer gets a basis.
RegularizerBasis hard_basis(std::span<const float> vectors, int64_t dim, const KMeansParams& params);

// F = normalised indicator of given labels (for example those of a container), K = max label + 1.
RegularizerBasis hard_basis_from_labels(std::span<const int32_t> labels, int64_t dim);

// Value (lambda/2)[Tr(W^T W) - Tr(F^T W^T W F)] at the current vectors. When `gradient` is non-empty
// (N x d, same layout as vectors) it receives lambda * W (I - F F^T) (overwritten, not accumulated).
// Throws dkm::UsageError when the sizes do not match the basis.
double regularizer(std::span<const float> vectors, const RegularizerBasis& basis, double lambda,
                   std::span<float> gradient = {});

}  // namespace dkm::kmeans

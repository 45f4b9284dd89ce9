#include "kmeans/regularizer.hpp"

#include <Eigen/Dense>
#include <Eigen/SVD>

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/core.h>

#include "models/error.hpp"

namespace dkm::kmeans {

namespace {

int64_t checked_vectors(std::span<const float> vectors, int64_t dim, const char* what) {
  if (dim < 1) throw UsageError(fmt::format("{}: vector length must be >= 1, got {}", what, dim));
  if (vectors.empty()) throw UsageError(fmt::format("{}: no vectors", what));
  if (vectors.size() % static_cast<size_t>(dim) != 0)
    throw UsageError(fmt::format("{}: {} values are not a whole number of vectors of length {}", what,
                                 vectors.size(), dim));
  for (size_t i = 0; i < vectors.size(); ++i)
    if (!std::isfinite(vectors[i]))
      throw UsageError(fmt::format("{}: value {} (vector {}) is not finite", what, i, i / dim));
  return static_cast<int64_t>(vectors.size()) / dim;
}

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

}  // namespace

std::string_view to_string(RegularizerVariant variant) {
  return variant == RegularizerVariant::spectral ? "spectral" : "hard";
}

std::optional<RegularizerVariant> parse_regularizer_variant(std::string_view s) {
  if (s == "spectral") return RegularizerVariant::spectral;
  if (s == "hard") return RegularizerVariant::hard;
  return std::nullopt;
}

RegularizerBasis spectral_basis(std::span<const float> vectors, int64_t dim, int64_t k) {
  const int64_t n = checked_vectors(vectors, dim, "spectral regulariser");
  if (k < 1) throw UsageError(fmt::format("spectral regulariser: K must be >= 1, got {}", k));

  // X is N x d (X = W^T). Its left singular vectors are W's right singular vectors: X = P S Q^T gives
  // W = Q S P^T, so F = the first K columns of P.
  RowMatrix x(n, dim);
  for (int64_t i = 0; i < n * dim; ++i) x.data()[i] = vectors[i];
  Eigen::BDCSVD<Eigen::MatrixXd> svd(x, Eigen::ComputeThinU);
  // The weights are float32: singular values below float rounding of the data are noise, not rank.
  svd.setThreshold(static_cast<double>(std::max(n, dim)) * std::numeric_limits<float>::epsilon());

  RegularizerBasis b;
  b.variant = RegularizerVariant::spectral;
  b.vectors = n;
  b.dim = dim;
  b.k = k;
  b.rank = svd.rank();  // singular values above max(N, d) * float epsilon * the largest
  const auto& s = svd.singularValues();
  b.singular_values.assign(s.data(), s.data() + s.size());
  b.basis_columns = std::min(k, b.rank);
  b.basis.resize(static_cast<size_t>(n * b.basis_columns));
  const Eigen::MatrixXd& p = svd.matrixU();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < b.basis_columns; ++j) b.basis[i * b.basis_columns + j] = p(i, j);
  if (k >= b.rank) {
    b.vacuous = true;
    b.warning = fmt::format(
        "spectral regulariser is vacuous: K = {} >= rank(W) = {} (vector length {}), so F F^T is the identity "
        "on W's row space and the term and its gradient are zero; use the hard variant",
        k, b.rank, dim);
  }
  return b;
}

RegularizerBasis hard_basis(std::span<const float> vectors, int64_t dim, const KMeansParams& params) {
  const int64_t n = checked_vectors(vectors, dim, "hard regulariser");
  if (params.k < 1) throw UsageError(fmt::format("hard regulariser: K must be >= 1, got {}", params.k));
  KMeansParams p = params;
  RegularizerBasis b;
  const int64_t distinct = count_distinct(vectors, dim, params.k);
  if (distinct < params.k) {
    p.k = distinct;
    b.warning = fmt::format("hard regulariser: K = {} clamped to the {} distinct vectors", params.k, distinct);
  }
  KMeansResult r = kmeans(vectors, dim, p);
  b.variant = RegularizerVariant::hard;
  b.vectors = n;
  b.dim = dim;
  b.k = p.k;
  b.labels = std::move(r.labels);
  return b;
}

RegularizerBasis hard_basis_from_labels(std::span<const int32_t> labels, int64_t dim) {
  if (dim < 1) throw UsageError(fmt::format("hard regulariser: vector length must be >= 1, got {}", dim));
  if (labels.empty()) throw UsageError("hard regulariser: no labels");
  int32_t top = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0) throw UsageError(fmt::format("hard regulariser: label {} is negative ({})", i, labels[i]));
    top = std::max(top, labels[i]);
  }
  RegularizerBasis b;
  b.variant = RegularizerVariant::hard;
  b.vectors = static_cast<int64_t>(labels.size());
  b.dim = dim;
  b.k = static_cast<int64_t>(top) + 1;
  b.labels.assign(labels.begin(), labels.end());
  return b;
}

double regularizer(std::span<const float> vectors, const RegularizerBasis& basis, double lambda,
                   std::span<float> gradient) {
  const int64_t d = basis.dim;
  const int64_t n = checked_vectors(vectors, d, "regulariser");
  if (n != basis.vectors)
    throw UsageError(fmt::format("regulariser: {} vectors, but F was computed for {}", n, basis.vectors));
  if (!gradient.empty() && gradient.size() != vectors.size())
    throw UsageError(fmt::format("regulariser: gradient holds {} values, the weights {}", gradient.size(),
                                 vectors.size()));

  // Both variants are an orthogonal projection: W F F^T maps each vector to its component in F's span
  // (spectral) or to its cluster's mean (hard). The residual R = W (I - F F^T) gives the value
  // ||R||^2 = Tr(W^T W) - Tr(F^T W^T W F) without the cancellation of the trace difference.
  std::vector<double> projected(static_cast<size_t>(n * d), 0.0);
  if (basis.variant == RegularizerVariant::hard) {
    if (static_cast<int64_t>(basis.labels.size()) != n)
      throw UsageError(fmt::format("regulariser: {} labels for {} vectors", basis.labels.size(), n));
    std::vector<double> sums(static_cast<size_t>(basis.k * d), 0.0);
    std::vector<int64_t> counts(static_cast<size_t>(basis.k), 0);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t c = basis.labels[i];
      if (c >= basis.k) throw UsageError(fmt::format("regulariser: label {} of vector {} >= K = {}", c, i, basis.k));
      ++counts[c];
      for (int64_t j = 0; j < d; ++j) sums[c * d + j] += vectors[i * d + j];
    }
    for (int64_t c = 0; c < basis.k; ++c)
      if (counts[c] > 0)
        for (int64_t j = 0; j < d; ++j) sums[c * d + j] /= static_cast<double>(counts[c]);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < d; ++j) projected[i * d + j] = sums[basis.labels[i] * d + j];
  } else {
    const int64_t r = basis.basis_columns;
    if (static_cast<int64_t>(basis.basis.size()) != n * r)
      throw UsageError("regulariser: the spectral basis does not match its sizes");
    // P = F^T X (r x d), then F P.
    std::vector<double> coeff(static_cast<size_t>(r * d), 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t c = 0; c < r; ++c) {
        const double f = basis.basis[i * r + c];
        for (int64_t j = 0; j < d; ++j) coeff[c * d + j] += f * vectors[i * d + j];
      }
    for (int64_t i = 0; i < n; ++i)
      for (int64_t c = 0; c < r; ++c) {
        const double f = basis.basis[i * r + c];
        for (int64_t j = 0; j < d; ++j) projected[i * d + j] += f * coeff[c * d + j];
      }
  }

  double sum_sq = 0.0;
  for (int64_t i = 0; i < n * d; ++i) {
    const double residual = static_cast<double>(vectors[i]) - projected[i];
    sum_sq += residual * residual;
    if (!gradient.empty()) gradient[i] = static_cast<float>(lambda * residual);
  }
  return 0.5 * lambda * sum_sq;
}

}  // namespace dkm::kmeans

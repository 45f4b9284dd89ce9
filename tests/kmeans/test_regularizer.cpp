#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "kmeans/kmeans.hpp"
#include "kmeans/regularizer.hpp"
#include "models/error.hpp"

using namespace dkm::kmeans;

namespace {

std::vector<float> random_vectors(int64_t n, int64_t d, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n * d));
  for (auto& x : v) x = normal(rng);
  return v;
}

// Central differences of the regulariser with F held fixed. The term is quadratic in W, so a central
// difference is exact up to rounding for any step; a power of two keeps W + h exact in float.
void check_gradient_by_finite_differences(std::vector<float> w, const RegularizerBasis& basis, double lambda) {
  std::vector<float> grad(w.size());
  regularizer(w, basis, lambda, grad);
  const float h = 0.0625f;
  for (size_t i = 0; i < w.size(); ++i) {
    const float keep = w[i];
    w[i] = keep + h;
    const double up = regularizer(w, basis, lambda);
    w[i] = keep - h;
    const double down = regularizer(w, basis, lambda);
    w[i] = keep;
    const double numeric = (up - down) / (2.0 * h);
    CHECK(grad[i] == doctest::Approx(numeric).epsilon(1e-5).scale(1.0));
  }
}

}  // namespace

TEST_CASE("regulariser hard: value equals the k-means inertia (hand-computed clusters)") {
  // Three pairs, each pair 2 apart: means (1,0), (10,11), (21,0); every point is 1 from its mean.
  const std::vector<float> pts = {0, 0, 2, 0, 10, 10, 10, 12, 20, 0, 22, 0};
  KMeansParams p;
  p.k = 3;
  p.seed = 7;
  const RegularizerBasis b = hard_basis(pts, 2, p);
  CHECK(b.variant == RegularizerVariant::hard);
  CHECK(b.k == 3);
  CHECK(b.labels.size() == 6);
  CHECK(b.labels[0] == b.labels[1]);
  CHECK(b.labels[2] == b.labels[3]);
  CHECK(b.labels[4] == b.labels[5]);
  CHECK(b.warning.empty());
  // lambda = 2 removes the 1/2: the trace difference itself.
  CHECK(regularizer(pts, b, 2.0) == doctest::Approx(6.0).epsilon(1e-12));
  const KMeansResult r = kmeans(pts, 2, p);
  CHECK(r.inertia == doctest::Approx(6.0).epsilon(1e-9));
  CHECK(regularizer(pts, b, 1e-4) == doctest::Approx(0.5e-4 * 6.0).epsilon(1e-12));
}

TEST_CASE("regulariser hard: value equals the inertia at the cluster means on random data") {
  const int64_t n = 300, d = 5;
  const auto w = random_vectors(n, d, 11);
  KMeansParams p;
  p.k = 8;
  p.seed = 3;
  const RegularizerBasis b = hard_basis(w, d, p);
  std::vector<float> means(static_cast<size_t>(8 * d), 0.0f);
  std::vector<double> sums(static_cast<size_t>(8 * d), 0.0);
  std::vector<int> counts(8, 0);
  for (int64_t i = 0; i < n; ++i) {
    ++counts[b.labels[i]];
    for (int64_t j = 0; j < d; ++j) sums[b.labels[i] * d + j] += w[i * d + j];
  }
  for (int c = 0; c < 8; ++c)
    for (int64_t j = 0; j < d; ++j)
      means[c * d + j] = counts[c] ? static_cast<float>(sums[c * d + j] / counts[c]) : 0.0f;
  const double expected = inertia(w, d, means, b.labels, 1);
  CHECK(regularizer(w, b, 2.0) == doctest::Approx(expected).epsilon(1e-6));
  // Lloyd's fixed point: the k-means centres are the means of their clusters, so its inertia agrees too.
  const KMeansResult r = kmeans(w, d, p);
  if (r.converged) CHECK(regularizer(w, b, 2.0) == doctest::Approx(r.inertia).epsilon(1e-4));
}

TEST_CASE("regulariser hard: gradient is lambda * (w - mean of its cluster) and matches finite differences") {
  const std::vector<float> pts = {0, 0, 2, 0, 10, 10, 10, 12, 20, 0, 22, 0};
  const RegularizerBasis b = hard_basis_from_labels(std::vector<int32_t>{0, 0, 1, 1, 2, 2}, 2);
  CHECK(b.k == 3);
  std::vector<float> g(pts.size());
  regularizer(pts, b, 0.5, g);
  const std::vector<float> expected = {-0.5f, 0, 0.5f, 0, 0, -0.5f, 0, 0.5f, -0.5f, 0, 0.5f, 0};
  for (size_t i = 0; i < g.size(); ++i) CHECK(g[i] == doctest::Approx(expected[i]));
  check_gradient_by_finite_differences(pts, b, 0.5);

  const auto w = random_vectors(40, 3, 5);
  KMeansParams p;
  p.k = 4;
  check_gradient_by_finite_differences(w, hard_basis(w, 3, p), 1.0);
}

TEST_CASE("regulariser spectral: hand case, value is half the discarded squared singular values") {
  // W = X^T with X = [[3,0],[0,1],[0,0]]: singular values 3 and 1; K = 1 keeps the first.
  const std::vector<float> x = {3, 0, 0, 1, 0, 0};
  const RegularizerBasis b = spectral_basis(x, 2, 1);
  CHECK(b.rank == 2);
  CHECK(b.basis_columns == 1);
  CHECK_FALSE(b.vacuous);
  CHECK(b.warning.empty());
  REQUIRE(b.singular_values.size() == 2);
  CHECK(b.singular_values[0] == doctest::Approx(3.0));
  CHECK(b.singular_values[1] == doctest::Approx(1.0));
  std::vector<float> g(x.size());
  CHECK(regularizer(x, b, 2.0, g) == doctest::Approx(1.0).epsilon(1e-12));
  const std::vector<float> expected = {0, 0, 0, 2, 0, 0};
  for (size_t i = 0; i < g.size(); ++i) CHECK(g[i] == doctest::Approx(expected[i]).scale(1.0));

  const auto w = random_vectors(60, 5, 9);
  const RegularizerBasis b2 = spectral_basis(w, 5, 2);
  double tail = 0;
  for (size_t i = 2; i < b2.singular_values.size(); ++i) tail += b2.singular_values[i] * b2.singular_values[i];
  CHECK(regularizer(w, b2, 1e-3) == doctest::Approx(0.5e-3 * tail).epsilon(1e-9));
  check_gradient_by_finite_differences(w, b2, 1e-3);
}

TEST_CASE("regulariser spectral: vacuous for K >= s (zero to rounding, warning set)") {
  const int64_t n = 500, s = 5;
  const auto w = random_vectors(n, s, 21);
  double norm_sq = 0;
  for (float v : w) norm_sq += static_cast<double>(v) * v;
  for (int64_t k : {int64_t{5}, int64_t{8}, int64_t{90}}) {
    CAPTURE(k);
    const RegularizerBasis b = spectral_basis(w, s, k);
    CHECK(b.rank == s);
    CHECK(b.vacuous);
    CHECK(b.warning.find("vacuous") != std::string::npos);
    std::vector<float> g(w.size());
    CHECK(regularizer(w, b, 1.0, g) <= 1e-12 * norm_sq);
    float worst = 0;
    for (float v : g) worst = std::max(worst, std::abs(v));
    CHECK(worst < 1e-5f);
  }
  CHECK_FALSE(spectral_basis(w, s, 4).vacuous);
  CHECK(regularizer(w, spectral_basis(w, s, 4), 1.0) > 1.0);
}

TEST_CASE("regulariser spectral: rank-deficient W is vacuous already at K = rank") {
  // Vectors in the plane z = x + y of R^3: rank(W) = 2 < s = 3.
  auto w = random_vectors(100, 3, 4);
  for (size_t i = 0; i < 100; ++i) w[i * 3 + 2] = w[i * 3] + w[i * 3 + 1];
  const RegularizerBasis b = spectral_basis(w, 3, 2);
  CHECK(b.rank == 2);
  CHECK(b.vacuous);
  CHECK(regularizer(w, b, 1.0) < 1e-9);
  CHECK_FALSE(spectral_basis(w, 3, 1).vacuous);
}

TEST_CASE("regulariser hard: K above the distinct vectors is clamped with a warning") {
  const std::vector<float> pts = {1, 1, 1, 1, 2, 2, 2, 2};
  KMeansParams p;
  p.k = 4;
  const RegularizerBasis b = hard_basis(pts, 2, p);
  CHECK(b.k == 2);
  CHECK(b.warning.find("clamped") != std::string::npos);
  CHECK(regularizer(pts, b, 1.0) == 0.0);
}

TEST_CASE("regulariser: variant names round-trip") {
  CHECK(to_string(RegularizerVariant::spectral) == "spectral");
  CHECK(to_string(RegularizerVariant::hard) == "hard");
  CHECK(parse_regularizer_variant("hard") == RegularizerVariant::hard);
  CHECK(parse_regularizer_variant("spectral") == RegularizerVariant::spectral);
  CHECK_FALSE(parse_regularizer_variant("soft").has_value());
}

TEST_CASE("regulariser: bad input is refused") {
  const std::vector<float> pts = {0, 0, 1, 1, 2, 2};
  CHECK_THROWS_AS(spectral_basis(pts, 2, 0), dkm::UsageError);
  CHECK_THROWS_AS(spectral_basis(pts, 4, 1), dkm::UsageError);              // 6 values, vectors of 4
  CHECK_THROWS_AS(spectral_basis(std::vector<float>{}, 2, 1), dkm::UsageError);
  const std::vector<float> nan = {0, std::numeric_limits<float>::quiet_NaN()};
  CHECK_THROWS_AS(spectral_basis(nan, 2, 1), dkm::UsageError);
  KMeansParams p;
  p.k = 0;
  CHECK_THROWS_AS(hard_basis(pts, 2, p), dkm::UsageError);
  CHECK_THROWS_AS(hard_basis_from_labels(std::vector<int32_t>{0, -1}, 2), dkm::UsageError);
  const RegularizerBasis b = hard_basis_from_labels(std::vector<int32_t>{0, 1}, 2);
  CHECK_THROWS_AS(regularizer(pts, b, 1.0), dkm::UsageError);               // 3 vectors, F for 2
  std::vector<float> small_grad(2);
  CHECK_THROWS_AS(regularizer(std::vector<float>{0, 0, 1, 1}, b, 1.0, small_grad), dkm::UsageError);
}

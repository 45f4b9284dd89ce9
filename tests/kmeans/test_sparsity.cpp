// Sparsity variants, granularities and the per-layer special cases of the compressor, by hand.
#include <doctest/doctest.h>

#include <vector>

#include "kmeans/compress.hpp"
#include "kmeans/plan.hpp"
#include "kmeans/sparsity.hpp"

using namespace dkm::kmeans;

TEST_CASE("zero-norm sparsity takes the smallest-norm vectors, centre zero") {
  const std::vector<float> x{0.1f, -5, 0.05f, 3, -0.2f, 4, 0, 7};
  const auto g = select_sparse(x, 1, 0.5, SparsityVariant::zero_norm);
  CHECK(g.count == 4);
  CHECK(g.member == std::vector<uint8_t>{1, 0, 1, 0, 1, 0, 1, 0});
  CHECK(g.centre == std::vector<float>{0});
  // floor(p N): 0.3 x 8 = 2.4 -> 2 (0 and 0.05).
  CHECK(select_sparse(x, 1, 0.3, SparsityVariant::zero_norm).member == std::vector<uint8_t>{0, 0, 1, 0, 0, 0, 1, 0});
}

TEST_CASE("near-mean sparsity takes the vectors nearest the layer mean, centre = their mean") {
  // Mean (3.25, 3.25): squared distances 21.1, 3.1, 10.1, 91.1 -> (2,2) and (1,1).
  const std::vector<float> x{0, 0, 2, 2, 1, 1, 10, 10};
  const auto g = select_sparse(x, 2, 0.5, SparsityVariant::near_mean);
  CHECK(g.member == std::vector<uint8_t>{0, 1, 1, 0});
  CHECK(g.centre == std::vector<float>{1.5f, 1.5f});
  // The zero-norm variant picks differently on the same data.
  CHECK(select_sparse(x, 2, 0.5, SparsityVariant::zero_norm).member == std::vector<uint8_t>{1, 0, 1, 0});
}

TEST_CASE("ties go to the lower index; p = 0 or variant none selects nothing") {
  const std::vector<float> x{1, -1, 1, -1};
  CHECK(select_sparse(x, 1, 0.5, SparsityVariant::zero_norm).member == std::vector<uint8_t>{1, 1, 0, 0});
  CHECK(select_sparse(x, 1, 0, SparsityVariant::zero_norm).count == 0);
  CHECK(select_sparse(x, 1, 0.5, SparsityVariant::none).count == 0);
}

TEST_CASE("granularities cut OIHW into contiguous vectors") {
  const std::vector<int64_t> s{4, 3, 5, 7};
  CHECK(vector_shape(s, Granularity::row).vectors == 60);
  CHECK(vector_shape(s, Granularity::row).dim == 7);
  CHECK(vector_shape(s, Granularity::kernel).vectors == 12);
  CHECK(vector_shape(s, Granularity::kernel).dim == 35);
  CHECK(vector_shape(s, Granularity::filter).vectors == 4);
  CHECK(vector_shape(s, Granularity::filter).dim == 105);
  CHECK(vector_shape(s, Granularity::scalar).vectors == 420);
  CHECK(vector_shape(s, Granularity::scalar).dim == 1);
}

namespace {

LayerSetting setting(int64_t k, const dkm::Tensor& w, Granularity g = Granularity::row) {
  LayerSetting s;
  s.layer = "conv";
  s.weight_shape = w.shape;
  s.granularity = g;
  const auto vs = vector_shape(w.shape, g);
  s.vectors = vs.vectors;
  s.dim = vs.dim;
  s.k = k;
  s.seed = 1000;
  return s;
}

}  // namespace

TEST_CASE("compress_layer: sparse cluster is label 0, K - 1 clusters for the rest") {
  dkm::Tensor w{{1, 1, 8, 1}, {0.1f, -5, 0.05f, 3, -0.2f, 4, 0, 7}};
  auto s = setting(3, w);
  s.sparsity = 0.5;
  s.sparsity_variant = SparsityVariant::zero_norm;
  const auto l = compress_layer(w, s, 1);
  CHECK(l.k == 3);
  CHECK(l.dim == 1);
  REQUIRE(l.codebook.size() == 3);
  CHECK(l.codebook[0] == 0.0f);
  // Rest {-5, 3, 4, 7} in 2 clusters: {-5} and {3, 4, 7}.
  const int32_t neg = l.labels[1], pos = l.labels[3];
  CHECK(l.codebook[neg] == -5.0f);
  CHECK(l.codebook[pos] == doctest::Approx(14.0 / 3));
  CHECK(l.labels == std::vector<int32_t>{0, neg, 0, pos, 0, pos, 0, pos});
  // MSE: sparse (0.01 + 0.0025 + 0.04 + 0) + rest (25/9 + 4/9 + 49/9) over 8 values.
  CHECK(l.mse == doctest::Approx((0.0525 + 78.0 / 9) / 8).epsilon(1e-6));
  CHECK(l.sparsity == 0.5);
  CHECK(l.sparsity_variant == SparsityVariant::zero_norm);
}

TEST_CASE("compress_layer: K >= N keeps the layer, K == 1 gives the mean") {
  dkm::Tensor w{{2, 1, 1, 3}, {1, 2, 3, 5, 6, 7}};
  const auto same = compress_layer(w, setting(2, w), 1);
  CHECK(same.k == 2);
  CHECK(same.codebook == w.values);
  CHECK(same.labels == std::vector<int32_t>{0, 1});
  CHECK(same.mse == 0);
  const auto mean = compress_layer(w, setting(1, w), 1);
  CHECK(mean.codebook == std::vector<float>{3, 4, 5});
  CHECK(mean.labels == std::vector<int32_t>{0, 0});
  CHECK(mean.mse == doctest::Approx(4.0));
  // Scalar granularity: 6 vectors of length 1.
  const auto scalar = compress_layer(w, setting(2, w, Granularity::scalar), 1);
  CHECK(scalar.dim == 1);
  CHECK(scalar.vectors() == 6);
  std::vector<float> c = scalar.codebook;
  std::sort(c.begin(), c.end());
  CHECK(c == std::vector<float>{2, 6});
}

TEST_CASE("compress_layer clamps K to the distinct vectors, with a warning") {
  dkm::Tensor w{{1, 1, 6, 1}, {1, 1, 1, 2, 2, 2}};
  const auto l = compress_layer(w, setting(4, w), 1);
  CHECK(l.k == 2);
  CHECK(l.mse == 0);
  CHECK(l.warning.find("K clamped from 4 to 2") != std::string::npos);
}

TEST_CASE("compress_layer is bit-identical for any thread count") {
  dkm::Tensor w{{16, 8, 3, 3}, {}};
  w.values.resize(16 * 8 * 9);
  for (size_t i = 0; i < w.values.size(); ++i) w.values[i] = static_cast<float>((i * 7919) % 1013) / 1013.0f - 0.5f;
  auto s = setting(12, w);
  s.sparsity = 0.3;
  s.sparsity_variant = SparsityVariant::near_mean;
  const auto a = compress_layer(w, s, 1);
  for (int t : {2, 3, 8}) {
    const auto b = compress_layer(w, s, t);
    CHECK(a.codebook == b.codebook);
    CHECK(a.labels == b.labels);
    CHECK(a.mse == b.mse);
  }
}

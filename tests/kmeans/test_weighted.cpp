// Weighted k-means (KMeansParams::weights) against a float64 reference, the exact weighted 1-D
// optimum against dynamic programming by hand, its linear-memory split, and data at the ends of the
// float range.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kmeans/kmeans.hpp"
#include "kmeans/rng.hpp"
#include "kmeans/scalar_1d.hpp"
#include "models/error.hpp"
#include "tests/kmeans/data.hpp"

using namespace dkm::kmeans;
using dkm::kmeans::testing::heavy_tailed;

namespace {

// Plain weighted Lloyd in double from given centres: label = arg min (lowest index) of
// sum_j w_ij (x_ij - c_j)^2 (of the plain squared distance for a point of zero weight), centre_j = float(sum_i w_ij x_ij / sum_i w_ij) over its points.
struct Reference {
  std::vector<float> centers;
  std::vector<int32_t> labels;
  double inertia = 0;
};
Reference reference_lloyd(const std::vector<float>& x, int64_t dim, const std::vector<float>& w,
                          std::vector<float> centers, int iterations) {
  const int64_t n = static_cast<int64_t>(x.size()) / dim, k = static_cast<int64_t>(centers.size()) / dim;
  const bool per_coord = static_cast<int64_t>(w.size()) == n * dim && dim > 1;
  auto wt = [&](int64_t i, int64_t j) { return double(per_coord ? w[i * dim + j] : w[i]); };
  auto dist = [&](int64_t i, const float* c) {
    double s = 0;
    for (int64_t j = 0; j < dim; ++j) s += wt(i, j) * (double(x[i * dim + j]) - c[j]) * (double(x[i * dim + j]) - c[j]);
    return s;
  };
  Reference r;
  auto label_all = [&] {
    r.labels.assign(static_cast<size_t>(n), 0);
    r.inertia = 0;
    for (int64_t i = 0; i < n; ++i) {
      double weight = 0;  // a weightless point takes its nearest centre by the plain distance
      for (int64_t j = 0; j < dim; ++j) weight += wt(i, j);
      double best = std::numeric_limits<double>::infinity();
      for (int64_t c = 0; c < k; ++c) {
        double d = dist(i, &centers[c * dim]);
        if (weight == 0)
          for (int64_t j = 0; j < dim; ++j) d += (double(x[i * dim + j]) - centers[c * dim + j]) * (double(x[i * dim + j]) - centers[c * dim + j]);
        if (d < best) best = d, r.labels[i] = static_cast<int32_t>(c);
      }
      r.inertia += weight == 0 ? 0 : best;
    }
  };
  for (int it = 0; it < iterations; ++it) {
    label_all();
    std::vector<double> s(centers.size(), 0.0), m(centers.size(), 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < dim; ++j) {
        s[r.labels[i] * dim + j] += wt(i, j) * x[i * dim + j];
        m[r.labels[i] * dim + j] += wt(i, j);
      }
    for (size_t q = 0; q < centers.size(); ++q)
      if (m[q] > 0) centers[q] = static_cast<float>(s[q] / m[q]);
  }
  label_all();
  r.centers = centers;
  return r;
}

std::vector<float> random_weights(size_t count, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> w(count);
  for (auto& v : w) v = static_cast<float>(rng.uniform() < 0.1 ? 0.0 : std::exp(4 * rng.normal()));
  return w;
}

}  // namespace

TEST_CASE("weighted Lloyd matches a float64 reference, per point and per coordinate") {
  for (int64_t dim : {1, 4}) {
    const int64_t n = 3000, k = 12;
    const auto x = heavy_tailed(n * dim, 40 + static_cast<uint64_t>(dim));
    for (bool per_coord : {false, true}) {
      if (per_coord && dim == 1) continue;
      const auto w = random_weights(static_cast<size_t>(per_coord ? n * dim : n), 7);
      std::vector<float> init(x.begin(), x.begin() + k * dim);
      for (bool sorted : {true, false}) {
        KMeansParams p;
        p.k = k;
        p.init = Init::given;
        p.initial_centers = init;
        p.tol = 0;
        p.max_iter = 8;
        p.weights = w;
        p.sorted_1d = sorted;
        const auto got = kmeans(x, dim, p);
        const auto want = reference_lloyd(x, dim, w, init, 8);
        CAPTURE(dim);
        CAPTURE(per_coord);
        CAPTURE(sorted);
        int64_t differ = 0;
        for (size_t i = 0; i < want.labels.size(); ++i) differ += got.labels[i] != want.labels[i];
        CHECK(differ == 0);
        for (size_t c = 0; c < want.centers.size(); ++c)
          CHECK(got.centers[c] == doctest::Approx(want.centers[c]).epsilon(1e-6));
        CHECK(got.inertia == doctest::Approx(want.inertia).epsilon(1e-9));
      }
    }
  }
}

TEST_CASE("weights change the answer the way they should") {
  // {0, 1} and {10}: with the weight on 1 a thousand times that on 0, the centre of {0, 1} moves to
  // 1000/1001; weight 0 on every point but 10 and 0 makes the centres 0 and 10 whatever else is there.
  const std::vector<float> x{0, 1, 10};
  KMeansParams p;
  p.k = 2;
  p.init = Init::given;
  p.initial_centers = {0.5f, 10};
  const std::vector<float> w{1, 1000, 1};
  p.weights = w;
  auto r = kmeans(x, 1, p);
  CHECK(r.centers[0] == static_cast<float>(1000.0 / 1001.0));
  CHECK(r.inertia == doctest::Approx(1000.0 / 1001.0));
  const std::vector<float> y{0, 3, 4, 10}, wy{1, 0, 0, 1};
  p.weights = wy;
  p.init = Init::kmeans_plus_plus;
  for (bool sorted : {true, false}) {
    p.sorted_1d = sorted;
    r = kmeans(y, 1, p);
    std::vector<float> c = r.centers;
    std::sort(c.begin(), c.end());
    CHECK(c == std::vector<float>{0, 10});  // seeding never draws a weightless point
    CHECK(r.inertia == 0.0);
  }
  p.init = Init::optimal_1d;
  r = kmeans(y, 1, p);
  CHECK(r.centers == std::vector<float>{0, 10});
}

TEST_CASE("weighted seeding draws in proportion to weight x D^2: zero weight is never drawn") {
  const int64_t n = 4000, dim = 3;
  const auto x = heavy_tailed(n * dim, 3);
  std::vector<float> w(static_cast<size_t>(n), 1.0f);
  for (int64_t i = 0; i < n; i += 2) w[i] = 0;  // even points weightless
  KMeansParams p;
  p.k = 30;
  p.max_iter = 0;
  p.weights = w;
  const auto r = kmeans(x, dim, p);
  for (int64_t c = 0; c < p.k; ++c) {
    int64_t at = -1;
    for (int64_t i = 0; i < n && at < 0; ++i)
      if (std::equal(&x[i * dim], &x[i * dim] + dim, &r.centers[c * dim])) at = i;
    REQUIRE(at >= 0);
    CHECK(at % 2 == 1);
  }
}

TEST_CASE("the weighted 1-D optimum equals dynamic programming by hand, and its split path the table's") {
  Rng rng(5);
  for (int trial = 0; trial < 30; ++trial) {
    const int n = 12;
    std::vector<float> x(n), w(n);
    for (int i = 0; i < n; ++i) {
      x[i] = static_cast<float>(rng.below(30)) * 0.5f;
      w[i] = static_cast<float>(rng.below(5));  // some zero
    }
    w[0] = 1;
    SortedScalars s = sort_scalars(x);
    weigh_sorted(s, w);
    // Distinct values of positive weight, by hand, and the O(K M^2) recurrence over them.
    std::vector<std::pair<double, double>> vw;  // (value, weight)
    for (size_t i = 0; i < s.value.size(); ++i) {
      if (s.weight[i] == 0) continue;
      if (!vw.empty() && vw.back().first == s.value[i]) vw.back().second += s.weight[i];
      else vw.emplace_back(s.value[i], s.weight[i]);
    }
    const int m = static_cast<int>(vw.size());
    auto cost = [&](int a, int b) {
      double sw = 0, sx = 0;
      for (int q = a; q <= b; ++q) sw += vw[q].second, sx += vw[q].second * vw[q].first;
      double c = 0;
      for (int q = a; q <= b; ++q) c += vw[q].second * (vw[q].first - sx / sw) * (vw[q].first - sx / sw);
      return c;
    };
    for (int k = 1; k <= std::min(4, m); ++k) {
      std::vector<double> f(static_cast<size_t>(m));
      for (int i = 0; i < m; ++i) f[i] = cost(0, i);
      for (int q = 1; q < k; ++q) {
        std::vector<double> g(static_cast<size_t>(m), std::numeric_limits<double>::infinity());
        for (int i = q; i < m; ++i)
          for (int j = q; j <= i; ++j) g[i] = std::min(g[i], f[j - 1] + cost(j, i));
        f = g;
      }
      auto sse = [&](const std::vector<float>& c) {
        double t = 0;
        for (auto [v, wt] : vw) {
          double best = std::numeric_limits<double>::infinity();
          for (float cc : c) best = std::min(best, (v - cc) * (v - cc));
          t += wt * best;
        }
        return t;
      };
      const auto table = optimal_1d_centers(s, k);
      const auto split = optimal_1d_centers(s, k, 1);  // every problem halved down to one cluster
      CHECK(sse(table) == doctest::Approx(f[m - 1]).epsilon(1e-9));
      CHECK(sse(split) == doctest::Approx(f[m - 1]).epsilon(1e-9));
    }
  }
}

TEST_CASE("the 1-D optimum's split path gives the table's centres on a large set") {
  const auto x = heavy_tailed(200000, 21);
  const SortedScalars s = sort_scalars(x);
  const auto table = optimal_1d_centers(s, 16);
  const auto split = optimal_1d_centers(s, 16, 100000);  // 16 x ~200000 cells: halved twice or more
  REQUIRE(split.size() == table.size());
  for (size_t c = 0; c < table.size(); ++c) CHECK(split[c] == table[c]);
}

TEST_CASE("k-means is right at both ends of the float range") {
  // Two groups at 1.0 and 1.5 (a spread of 1 %), then the same scaled towards the largest floats and
  // into the denormals; every path must find the two groups with the scaled inertia.
  std::vector<float> base;
  Rng rng(9);
  for (int i = 0; i < 400; ++i) base.push_back(static_cast<float>((i % 2 ? 1.5 : 1.0) * (1 + 0.01 * rng.uniform())));
  for (const double scale : {1.0, 1e38 / 1.5, 1e-42}) {
    std::vector<float> x;
    for (float v : base) x.push_back(static_cast<float>(double(v) * scale));
    for (int64_t dim : {1, 2}) {
      for (auto init : {Init::kmeans_plus_plus, Init::optimal_1d, Init::given}) {
        if (init == Init::optimal_1d && dim != 1) continue;
        for (bool sorted : {true, false}) {
          KMeansParams p;
          p.k = 2;
          p.init = init;
          p.sorted_1d = sorted;
          if (init == Init::given) p.initial_centers.assign(x.begin(), x.begin() + 2 * dim);
          const auto r = kmeans(x, dim, p);
          CAPTURE(scale);
          CAPTURE(dim);
          REQUIRE(std::isfinite(r.inertia));
          // Groups: with dim 1, odd points are the 1.5 group; with dim 2, rows mix one of each.
          if (dim == 1) {
            for (size_t i = 2; i < x.size(); ++i) CHECK(r.labels[i] == r.labels[i % 2]);
            CHECK(r.labels[0] != r.labels[1]);
          }
          double want = 0;  // the inertia from the labels and centres in double
          for (size_t i = 0; i < x.size() / dim; ++i)
            for (int64_t j = 0; j < dim; ++j) {
              const double d = double(x[i * dim + j]) - double(r.centers[r.labels[i] * dim + j]);
              want += d * d;
            }
          CHECK(r.inertia == doctest::Approx(want).epsilon(scale < 1e-30 ? 5e-2 : 1e-6));
          CHECK(r.inertia > 0);
        }
      }
    }
  }
}

TEST_CASE("bad weights are refused with a clear message") {
  const std::vector<float> x{1, 2, 3, 4};
  auto throws = [&](std::vector<float> w, int64_t dim, int64_t k, const char* needle) {
    KMeansParams p;
    p.k = k;
    p.weights = w;
    try {
      kmeans(x, dim, p);
      FAIL("no error for " << needle);
    } catch (const dkm::UsageError& e) {
      CHECK(std::string(e.what()).find(needle) != std::string::npos);
    }
  };
  throws({1, 1, 1}, 1, 2, "3 weights for 4 points");
  throws({1, -1, 1, 1}, 1, 2, "weight 1 is -1");
  throws({1, NAN, 1, 1}, 1, 2, "must be finite");
  throws({0, 0, 0, 0}, 1, 1, "every weight is zero");
  throws({1, 0, 0, 0}, 1, 2, "exceeds the 1 distinct points of positive weight");
  throws({1, 1, 1}, 2, 1, "expected N = 2 (per point) or N x d = 4");
}

// k-means core: hand-computed cases, determinism, the pruned and sorted paths against the plain
// kernel, empty clusters, the exact 1-D optimum, and every bad input.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kmeans/assign.hpp"
#include "kmeans/init.hpp"
#include "kmeans/kmeans.hpp"
#include "kmeans/rng.hpp"
#include "kmeans/scalar_1d.hpp"
#include "models/error.hpp"
#include "tests/kmeans/data.hpp"

using namespace dkm::kmeans;
using dkm::kmeans::testing::heavy_tailed;

namespace {

KMeansParams params_k(int64_t k) {
  KMeansParams p;
  p.k = k;
  return p;
}

}  // namespace

TEST_CASE("1-D: two separated groups give their means, both paths") {
  const std::vector<float> x{10, 0, 11, 1, 12, 2};
  for (bool sorted : {true, false}) {
    auto p = params_k(2);
    p.sorted_1d = sorted;
    const auto r = kmeans(x, 1, p);
    std::vector<float> c = r.centers;
    std::sort(c.begin(), c.end());
    CHECK(c == std::vector<float>{1, 11});
    CHECK(r.inertia == doctest::Approx(4.0));
    CHECK(r.labels[0] == r.labels[2]);
    CHECK(r.labels[1] == r.labels[3]);
    CHECK(r.labels[0] != r.labels[1]);
    CHECK(r.converged);
  }
}

TEST_CASE("2-D: two unit squares give their centres") {
  const std::vector<float> x{0, 0, 0, 1, 1, 0, 1, 1, 5, 5, 5, 6, 6, 5, 6, 6};
  const auto r = kmeans(x, 2, params_k(2));
  std::vector<std::pair<float, float>> c{{r.centers[0], r.centers[1]}, {r.centers[2], r.centers[3]}};
  std::sort(c.begin(), c.end());
  CHECK(c[0] == std::pair<float, float>{0.5f, 0.5f});
  CHECK(c[1] == std::pair<float, float>{5.5f, 5.5f});
  CHECK(r.inertia == doctest::Approx(4.0));
}

TEST_CASE("one Lloyd step from given centres, by hand") {
  // {0, 2, 4 | 10} from centres {0, 10}: 4 is nearer 0 (4 < 6). Step: centres {2, 10}; inertia 4 + 4.
  const std::vector<float> x{0, 2, 4, 10};
  for (bool sorted : {true, false}) {
    auto p = params_k(2);
    p.init = Init::given;
    p.initial_centers = {0, 10};
    p.max_iter = 1;
    p.tol = 0;
    p.sorted_1d = sorted;
    const auto r = kmeans(x, 1, p);
    CHECK(r.iterations == 1);
    CHECK(r.centers == std::vector<float>{2, 10});
    CHECK(r.labels == std::vector<int32_t>{0, 0, 0, 1});
    CHECK(r.inertia == 8.0);
    REQUIRE(r.stats.size() == 1);
    CHECK(r.stats[0].inertia == doctest::Approx(4 + 16 + 0 + 0));  // against the initial centres
    CHECK(r.stats[0].changed == 4);
    CHECK(r.stats[0].center_shift == doctest::Approx(4.0));
  }
}

TEST_CASE("an empty cluster takes the farthest point, never NaN") {
  // Centres {0, 100}: nobody picks 100; the farthest point from its centre (3, at distance^2 9) moves
  // there. Then {1, 3}; 2 is tied between them and goes to the lower index.
  const std::vector<float> x{0, 1, 2, 3};
  for (bool sorted : {true, false}) {
    auto p = params_k(2);
    p.init = Init::given;
    p.initial_centers = {0, 100};
    p.sorted_1d = sorted;
    const auto r = kmeans(x, 1, p);
    CHECK(r.centers == std::vector<float>{1, 3});
    CHECK(r.labels == std::vector<int32_t>{0, 0, 0, 1});
    CHECK(r.inertia == 2.0);
  }
}

TEST_CASE("K = 1 gives the mean; tol 0 runs exactly max_iter iterations") {
  const std::vector<float> x{1, 2, 3, 10, 2, 5};
  auto p = params_k(1);
  p.tol = 0;
  p.max_iter = 7;
  const auto r = kmeans(std::span<const float>(x), 2, p);
  CHECK(r.centers == std::vector<float>{2, 17.0f / 3});
  CHECK(r.iterations == 7);
  CHECK_FALSE(r.converged);
  p.tol = 1e-4;
  const auto early = kmeans(std::span<const float>(x), 2, p);
  CHECK(early.iterations < 7);
  CHECK(early.converged);
}

TEST_CASE("linear initialisation is evenly spaced per dimension") {
  const std::vector<float> x{0, -1, 10, 1, 4, 0};
  CHECK(init_linear(x, 2, 3) == std::vector<float>{0, -1, 5, 0, 10, 1});
  CHECK(init_linear(x, 2, 1) == std::vector<float>{5, 0});
}

TEST_CASE("k-means++ is deterministic for a seed and picks data points") {
  const auto x = heavy_tailed(3000, 1);
  const auto a = init_kmeans_plus_plus(x, 3, 16, 42, 1);
  CHECK(a == init_kmeans_plus_plus(x, 3, 16, 42, 4));
  CHECK(a != init_kmeans_plus_plus(x, 3, 16, 43, 1));
  for (int64_t c = 0; c < 16; ++c) {
    bool found = false;
    for (int64_t i = 0; i < 1000 && !found; ++i)
      found = std::equal(&a[c * 3], &a[c * 3] + 3, &x[i * 3]);
    CHECK(found);
  }
  // Distinct picks: D^2 sampling never takes a point twice while others are left.
  for (int64_t c = 0; c < 16; ++c)
    for (int64_t o = c + 1; o < 16; ++o) CHECK_FALSE(std::equal(&a[c * 3], &a[c * 3] + 3, &a[o * 3]));
}

TEST_CASE("random initialisation takes distinct points") {
  const auto x = heavy_tailed(200, 2);
  const auto c = init_random(x, 1, 50, 9);
  auto sorted = c;
  std::sort(sorted.begin(), sorted.end());
  CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());
  CHECK(c == init_random(x, 1, 50, 9));
}

TEST_CASE("bit-identical results for 1, 2, 3 and 8 threads") {
  const auto x = heavy_tailed(60000 * 3, 3);
  auto p = params_k(24);
  p.seed = 5;
  p.threads = 1;
  const auto ref = kmeans(x, 3, p);
  for (int t : {2, 3, 8}) {
    p.threads = t;
    const auto r = kmeans(x, 3, p);
    CHECK(r.centers == ref.centers);
    CHECK(r.labels == ref.labels);
    CHECK(r.inertia == ref.inertia);
    CHECK(r.iterations == ref.iterations);
  }
}

TEST_CASE("Hamerly pruning gives the labels and centres of the full scan") {
  for (int64_t dim : {2, 3, 6}) {
    const auto x = heavy_tailed(20000 * dim, 4 + static_cast<uint64_t>(dim));
    auto p = params_k(40);
    p.tol = 0;
    p.max_iter = 30;
    const auto pruned = kmeans(x, dim, p);
    p.prune = false;
    const auto full = kmeans(x, dim, p);
    CHECK(pruned.labels == full.labels);
    CHECK(pruned.centers == full.centers);
    CHECK(pruned.inertia == full.inertia);
  }
}

// The points that tell the inertia's order apart: each chunk of 8192 starts with 2^27 (distance 2^54 from
// the centre 0, where a double's step is 4) followed by ones. Added one by one, each 1 rounds away; a
// run of 32 ones first makes 32, which is kept. The GPU test reuses them (tests/kmeans/test_cuda.cpp).
TEST_CASE("a chunk's inertia is the sum of its runs of 32 points, in order") {
  std::vector<float> x(8192 + 64, 1.0f);
  x[0] = x[8192] = 0x1p27f;
  auto cpu = make_cpu_assigner(x, 1, 1, 2, false);
  const std::vector<float> zero{0};
  const AssignTotals t = cpu->assign(zero);
  // Chunk 0: run 0 is 2^54 (its 31 ones round away), runs 1..255 add 32 each. Chunk 1: 2^54, then 32.
  CHECK(t.inertia == (0x1p54 + 255 * 32) + (0x1p54 + 32));
  CHECK(t.inertia != 0x1p55);  // what one sequential sum per chunk would give
}

TEST_CASE("1-D: sort_scalars orders like floats and sums over chunks of 8192") {
  // Order: -inf < -1 < -0 < +0 < 1 < inf; equal values keep their input order.
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> small = {1, -0.0f, 0.0f, -inf, 1, -1, inf, -0.0f};
  const SortedScalars s = sort_scalars(small);
  CHECK(s.index == std::vector<uint32_t>{3, 5, 1, 7, 2, 0, 4, 6});
  CHECK(std::signbit(s.value[2]));
  CHECK_FALSE(std::signbit(s.value[4]));

  // Two chunks and a bit: within a chunk sequential sums from 0, then each chunk's base (the earlier
  // chunks' totals, added in order) plus its own sum, in double; x^2 likewise.
  const auto x = heavy_tailed(2 * 8192 + 5, 3);
  const SortedScalars t = sort_scalars(x);
  REQUIRE(t.prefix.size() == x.size() + 1);
  CHECK(t.prefix[0] == 0.0);
  double base = 0, base_sq = 0;
  size_t wrong = 0;
  for (size_t b = 0; b < x.size(); b += 8192) {
    double own = 0, own_sq = 0;
    for (size_t i = b; i < std::min(x.size(), b + 8192); ++i) {
      own += double(t.value[i]);
      own_sq += double(t.value[i]) * double(t.value[i]);
      wrong += t.prefix[i + 1] != base + own || t.prefix_sq[i + 1] != base_sq + own_sq;
    }
    base += own;
    base_sq += own_sq;
  }
  CHECK(wrong == 0);
  CHECK(std::is_sorted(t.value.begin(), t.value.end()));
}

TEST_CASE("1-D: the sorted path matches the generic kernel") {
  const auto x = heavy_tailed(40000, 7);
  // Given k-means++ centres (the sorted path seeds on sorted values, test_seeding.cpp), and linear.
  for (auto init : {Init::given, Init::linear}) {
    auto p = params_k(16);
    p.init = init;
    p.initial_centers = init_kmeans_plus_plus(x, 1, 16, 0, 1);
    p.tol = 0;
    p.max_iter = 40;
    const auto sorted = kmeans(x, 1, p);
    p.sorted_1d = false;
    const auto generic = kmeans(x, 1, p);
    CHECK(sorted.labels == generic.labels);
    for (size_t c = 0; c < 16; ++c) CHECK(sorted.centers[c] == doctest::Approx(generic.centers[c]).epsilon(1e-6));
    CHECK(sorted.inertia == doctest::Approx(generic.inertia).epsilon(1e-9));
  }
}

TEST_CASE("optimal 1-D equals brute force on tiny sets and never loses to Lloyd") {
  Rng rng(11);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<float> x(9);
    for (auto& v : x) v = static_cast<float>(rng.below(40)) * 0.25f;
    auto sorted = x;
    std::sort(sorted.begin(), sorted.end());
    const int64_t distinct = std::unique(sorted.begin(), sorted.end()) - sorted.begin();
    sorted = x;
    std::sort(sorted.begin(), sorted.end());
    for (int64_t k = 1; k <= std::min<int64_t>(4, distinct); ++k) {
      // Brute force: every way to cut the sorted values into k non-empty contiguous groups.
      double best = std::numeric_limits<double>::infinity();
      const int n = 9;
      for (int mask = 0; mask < (1 << (n - 1)); ++mask) {
        if (__builtin_popcount(static_cast<unsigned>(mask)) != k - 1) continue;
        double sse = 0;
        int start = 0;
        for (int i = 0; i < n; ++i) {
          if (i == n - 1 || (mask >> i & 1)) {
            double m = 0;
            for (int j = start; j <= i; ++j) m += sorted[j];
            m /= (i - start + 1);
            for (int j = start; j <= i; ++j) sse += (sorted[j] - m) * (sorted[j] - m);
            start = i + 1;
          }
        }
        best = std::min(best, sse);
      }
      auto p = params_k(k);
      p.init = Init::optimal_1d;
      const auto r = kmeans(x, 1, p);
      CHECK(r.inertia == doctest::Approx(best).epsilon(1e-6));
      CHECK(r.iterations == 0);
    }
  }
  const auto y = heavy_tailed(5000, 12);
  auto p = params_k(12);
  p.init = Init::optimal_1d;
  const double optimum = kmeans(y, 1, p).inertia;
  for (uint64_t seed = 0; seed < 4; ++seed) {
    auto q = params_k(12);
    q.seed = seed;
    CHECK(optimum <= kmeans(y, 1, q).inertia * (1 + 1e-9));
  }
}

TEST_CASE("bad input is refused with a clear message") {
  const std::vector<float> x{1, 2, 3, 4};
  auto throws = [](std::span<const float> pts, int64_t dim, KMeansParams p, const char* needle) {
    try {
      kmeans(pts, dim, p);
      FAIL("no error for " << needle);
    } catch (const dkm::UsageError& e) {
      CHECK(std::string(e.what()).find(needle) != std::string::npos);
    }
  };
  throws(x, 1, params_k(0), "K must be >= 1");
  throws({}, 1, params_k(1), "empty");
  throws(x, 3, params_k(1), "dimension 3");
  throws(x, 0, params_k(1), "dimension must be");
  throws(std::vector<float>{1, NAN, 2}, 1, params_k(1), "non-finite");
  throws(std::vector<float>{1, INFINITY, 2}, 1, params_k(1), "point 1");
  throws(std::vector<float>{1, 1, 1, 2}, 1, params_k(3), "exceeds the 2 distinct points");
  auto given = params_k(2);
  given.init = Init::given;
  given.initial_centers = {1};
  throws(x, 1, given, "initial centres hold 1 values");
  given.initial_centers = {1, NAN};
  throws(x, 1, given, "NaN");
  auto opt = params_k(2);
  opt.init = Init::optimal_1d;
  throws(x, 2, opt, "optimal-1d needs dimension 1");
  auto tol = params_k(2);
  tol.tol = -1;
  throws(x, 1, tol, "tol must be");
  // -0 and +0 are one point.
  throws(std::vector<float>{0.0f, -0.0f}, 1, params_k(2), "exceeds the 1 distinct");
}

TEST_CASE("count_distinct stops at its limit") {
  const std::vector<float> x{1, 1, 2, 2, 3, 3, 1, 1};
  CHECK(count_distinct(x, 2, 100) == 3);
  CHECK(count_distinct(x, 1, 100) == 3);
  CHECK(count_distinct(x, 2, 2) == 2);
}

// Lockstep k-means (kmeans_batch) and lockstep compression: the same bits as one problem, one layer,
// at a time, on the CPU backend that every machine has. The GPU backend's batch is checked against the
// CPU in test_cuda.cpp where a GPU is present.
#include <doctest/doctest.h>

#include <bit>
#include <string>
#include <vector>

#include "kmeans/assign.hpp"
#include "kmeans/compress.hpp"
#include "kmeans/init.hpp"
#include "kmeans/kmeans.hpp"
#include "kmeans/plan.hpp"
#include "kmeans/rng.hpp"
#include "models/error.hpp"
#include "models/model.hpp"

using namespace dkm::kmeans;

namespace {

std::vector<float> normal_points(int64_t count, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(static_cast<size_t>(count));
  for (auto& x : v) x = static_cast<float>(rng.normal());
  return v;
}

bool same_bits(double a, double b) { return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b); }

void check_same(const KMeansResult& a, const KMeansResult& b) {
  CHECK(a.centers == b.centers);
  CHECK(a.labels == b.labels);
  CHECK(same_bits(a.inertia, b.inertia));
  CHECK(a.iterations == b.iterations);
  CHECK(a.converged == b.converged);
  REQUIRE(a.stats.size() == b.stats.size());
  for (size_t i = 0; i < a.stats.size(); ++i) {
    CHECK(same_bits(a.stats[i].inertia, b.stats[i].inertia));
    CHECK(a.stats[i].changed == b.stats[i].changed);
    CHECK(same_bits(a.stats[i].center_shift, b.stats[i].center_shift));
  }
}

KMeansParams params(int64_t k, Init init, int max_iter, double tol, uint64_t seed) {
  KMeansParams p;
  p.k = k;
  p.init = init;
  p.max_iter = max_iter;
  p.tol = tol;
  p.seed = seed;
  p.threads = 2;
  return p;
}

}  // namespace

TEST_CASE("kmeans_batch gives every problem the result kmeans gives it alone") {
  SUBCASE("d = 3: sizes across chunk edges, every init, tol 0, max_iter 0 and an empty cluster") {
    const auto a = normal_points(3 * 50, 1), b = normal_points(3 * 9000, 2), c = normal_points(3 * 20000, 3);
    const std::vector<float> d = {0, 0, 0, 1, 0, 0, 2, 0, 0, 3, 0, 0};
    std::vector<KMeansItem> items = {
        {a, params(4, Init::kmeans_plus_plus, 300, 1e-4, 7)},
        {b, params(16, Init::random, 300, 1e-4, 8)},
        {c, params(50, Init::kmeans_plus_plus, 12, 0, 9)},
        {b, params(8, Init::linear, 0, 1e-4, 0)},
        {d, params(2, Init::given, 300, 1e-4, 0)},
    };
    items[3].params.prune = false;
    items[4].params.initial_centers = {0, 0, 0, 100, 0, 0};  // nobody picks centre 1 at first
    const auto together = kmeans_batch(items, 3);
    REQUIRE(together.size() == items.size());
    for (size_t i = 0; i < items.size(); ++i) {
      CAPTURE(i);
      check_same(together[i], kmeans(items[i].points, 3, items[i].params));
    }
    CHECK(together[2].iterations == 12);
    CHECK(together[3].iterations == 0);
    CHECK(together[4].centers == std::vector<float>{1, 0, 0, 3, 0, 0});  // as in the 1-D case by hand
  }
  SUBCASE("d = 1: the sorted path, the plain kernel and the exact optimum in one batch") {
    const auto a = normal_points(30000, 4), b = normal_points(700, 5);
    std::vector<KMeansItem> items = {
        {a, params(64, Init::kmeans_plus_plus, 300, 1e-4, 1)},
        {a, params(64, Init::kmeans_plus_plus, 300, 1e-4, 1)},
        {b, params(5, Init::optimal_1d, 300, 1e-4, 0)},
    };
    items[1].params.sorted_1d = false;
    // The same start for both (the sorted path seeds on sorted values, tests/kmeans/test_seeding.cpp).
    for (size_t i : {0, 1}) {
      items[i].params.init = Init::given;
      items[i].params.initial_centers = init_kmeans_plus_plus(a, 1, 64, 1, 1);
    }
    const auto together = kmeans_batch(items, 1);
    for (size_t i = 0; i < items.size(); ++i) {
      CAPTURE(i);
      check_same(together[i], kmeans(items[i].points, 1, items[i].params));
    }
    CHECK(together[0].labels == together[1].labels);
    CHECK(together[2].converged);
  }
}

TEST_CASE("kmeans_batch reports each problem once as it finishes, shortest first") {
  const auto x = normal_points(2 * 5000, 6);
  const std::vector<KMeansItem> items = {
      {x, params(20, Init::kmeans_plus_plus, 9, 0, 1)},
      {x, params(20, Init::kmeans_plus_plus, 0, 0, 1)},
      {x, params(20, Init::kmeans_plus_plus, 3, 0, 1)},
  };
  std::vector<size_t> order;
  kmeans_batch(items, 2, [&](size_t item) { order.push_back(item); });
  CHECK(order == std::vector<size_t>{1, 2, 0});
}

TEST_CASE("kmeans_batch names the problem that is refused, before any work") {
  const auto x = normal_points(20, 7);
  const std::vector<KMeansItem> items = {{x, params(4, Init::random, 10, 0, 1)}, {x, params(0, Init::random, 10, 0, 1)}};
  bool called = false;
  try {
    kmeans_batch(items, 2, [&](size_t) { called = true; });
    FAIL("expected a UsageError");
  } catch (const dkm::UsageError& e) {
    CHECK(std::string(e.what()) == "problem 1 of 2: k-means: K must be >= 1, got 0");
  }
  CHECK_FALSE(called);
  // One problem alone keeps kmeans()'s message.
  CHECK_THROWS_WITH_AS(kmeans_batch(std::span(items).subspan(1), 2), "k-means: K must be >= 1, got 0", dkm::UsageError);
}

TEST_CASE("a batch of CPU assigners leaves a layer alone when its centres are empty") {
  const std::vector<float> p0 = {0, 1, 10, 11}, p1 = {5, 6, 7};
  std::vector<std::unique_ptr<Assigner>> parts;
  parts.push_back(make_cpu_assigner(p0, 1, 2, 1, true));
  parts.push_back(make_cpu_assigner(p1, 1, 2, 1, true));
  auto batch = make_batch_of(std::move(parts));
  REQUIRE(batch->layers() == 2);
  const std::vector<float> c0 = {0, 10}, c1 = {5, 7};
  std::vector<std::span<const float>> centers = {c0, c1};
  CHECK_THROWS_AS(batch->assign(std::vector<std::span<const float>>{c0, {}}), dkm::UsageError);  // never given
  auto totals = batch->assign(centers);
  CHECK(totals[0].counts == std::vector<int64_t>{2, 2});
  CHECK(totals[1].counts == std::vector<int64_t>{2, 1});  // 6 is tied: the lower index
  const std::vector<float> c0_moved = {100, 0};
  centers = {c0_moved, {}};
  totals = batch->assign(centers);
  CHECK(totals[0].counts == std::vector<int64_t>{0, 4});
  CHECK(totals[1].counts.empty());
  std::vector<int32_t> labels(3);
  batch->labels(1, labels);
  CHECK(labels == std::vector<int32_t>{0, 0, 1});
  CHECK_THROWS_AS(batch->labels(2, labels), dkm::UsageError);
  CHECK_THROWS_AS(batch->assign(std::vector<std::span<const float>>{c0}), dkm::UsageError);
}

TEST_CASE("compress_model in lockstep writes the layers it writes one at a time") {
  // The shipped plan (row vectors of 3 and 1x1 shortcuts of 1, near-mean sparsity), and LeNet-5 with
  // its special cases: K >= N keeps a layer, K == 1 gives the mean, zero-norm sparsity.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"wrn-16-4", "wrn-16-4-cr47"},
      {"lenet5", R"({"format": "dkm-plan/1", "defaults": {"k": 12, "sparsity": 0.3, "sparsity_variant": "zero-norm"},
                    "layers": [{"match": "conv1", "k": 40}]})"},
      {"lenet5", R"({"format": "dkm-plan/1", "defaults": {"k": 9, "granularity": "kernel"},
                    "layers": [{"match": "conv1", "k": 1}]})"},
  };
  for (const auto& one_case : cases) {
    const std::string &name = one_case.first, &plan_text = one_case.second;  // CAPTURE cannot take bindings
    CAPTURE(plan_text);
    const auto model = dkm::models::load_model(name);
    const Plan plan = plan_text.front() == '{' ? parse_plan(plan_text, "test") : load_plan(plan_text);
    const auto settings = resolve_plan(plan, model);
    const dkm::Weights weights = random_weights(model, 5);
    CompressOptions one_by_one;
    one_by_one.threads = 2;
    CompressOptions lockstep = one_by_one;
    lockstep.lockstep = true;
    std::vector<size_t> done;
    lockstep.progress = [&](size_t d, size_t, const std::string&) { done.push_back(d); };
    const CompressedModel a = compress_model(model, weights, settings, one_by_one);
    const CompressedModel b = compress_model(model, weights, settings, lockstep);
    REQUIRE(a.layers.size() == b.layers.size());
    for (size_t i = 0; i < a.layers.size(); ++i) {
      const CompressedLayer &x = a.layers[i], &y = b.layers[i];
      CAPTURE(x.name);
      CHECK(x.name == y.name);
      CHECK(x.k == y.k);
      CHECK(x.codebook == y.codebook);
      CHECK(x.labels == y.labels);
      CHECK(x.bias == y.bias);
      CHECK(x.iterations == y.iterations);
      CHECK(same_bits(x.mse, y.mse));
      CHECK(x.warning == y.warning);
      CHECK(y.time_ms >= 0);
    }
    // Progress never goes back and ends at all layers done.
    REQUIRE_FALSE(done.empty());
    for (size_t i = 1; i < done.size(); ++i) CHECK(done[i - 1] <= done[i]);
    CHECK(done.back() == a.layers.size());
  }
}

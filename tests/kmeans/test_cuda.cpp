// The CUDA backend: the shared per-point arithmetic (runs everywhere), the error when CUDA cannot run,
// and, where a GPU is present, equivalence with the CPU backend. GPU cases print why they are skipped.
#include <doctest/doctest.h>

#include "tests/support.hpp"

#include <bit>
#include <cmath>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "kmeans/assign.hpp"
#include "kmeans/cuda_backend.hpp"
#include "kmeans/init.hpp"
#include "kmeans/kmeans.hpp"
#include "kmeans/point_math.hpp"
#include "kmeans/rng.hpp"
#include "kmeans/scalar_1d.hpp"
#include "models/error.hpp"

using namespace dkm::kmeans;

namespace {

std::vector<float> random_points(int64_t n, int64_t dim, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(static_cast<size_t>(n * dim));
  for (auto& x : v) x = static_cast<float>(rng.normal());
  return v;
}

// Centres: K points of the data, so exact ties between a point and a centre occur too.
std::vector<float> pick_centers(const std::vector<float>& points, int64_t dim, int64_t k, uint64_t seed) {
  return init_random(points, dim, k, seed);
}

bool same_bits(double a, double b) { return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b); }

bool gpu_present() {
  std::string why;
  if (cuda_usable(&why)) return true;
  dkm::test::skip("no usable CUDA GPU: " + why);
  return false;
}

// Labels equal, except where the two centres are exactly as near (then either is nearest).
void check_labels(const std::vector<float>& points, int64_t dim, const std::vector<float>& centers,
                  const std::vector<int32_t>& cpu, const std::vector<int32_t>& gpu) {
  int64_t differ = 0;
  for (size_t i = 0; i < cpu.size(); ++i) {
    if (cpu[i] == gpu[i]) continue;
    const float* x = &points[i * dim];
    CHECK(squared_distance(x, &centers[cpu[i] * dim], dim) == squared_distance(x, &centers[gpu[i] * dim], dim));
    ++differ;
  }
  CHECK(differ == 0);  // both take the lowest index on ties, so even ties agree
}

}  // namespace

TEST_CASE("cuda: the shared point arithmetic by hand and in its fixed-dimension form") {
  const float x[3] = {1, 2, 3}, zero[3] = {0, 0, 0};
  CHECK(point_squared_distance(x, zero, 3) == 14.0f);
  CHECK(point_squared_distance_fixed<3>(x, zero) == 14.0f);
  CHECK(point_squared_distance_f64(x, zero, 3) == 14.0);
  const float half[1] = {0.5f};
  CHECK(point_squared_distance(x, half, 1) == 0.25f);

  // The kernels' fixed-dimension form (the point held in registers) gives the generic loop's bits.
  auto check_fixed = [](auto dim_constant) {
    constexpr int D = decltype(dim_constant)::value;
    const auto p = random_points(40, D, 5 + D);
    for (int64_t a = 0; a < 40; ++a) {
      float xa[D];
      std::memcpy(xa, &p[a * D], sizeof xa);
      CHECK(std::bit_cast<uint32_t>(point_squared_distance_fixed<D>(xa, &p[(39 - a) * D])) ==
            std::bit_cast<uint32_t>(point_squared_distance(xa, &p[(39 - a) * D], D)));
    }
  };
  check_fixed(std::integral_constant<int, 1>{});
  check_fixed(std::integral_constant<int, 2>{});
  check_fixed(std::integral_constant<int, 3>{});
  check_fixed(std::integral_constant<int, 4>{});
}

TEST_CASE("cuda: nearest centre takes the lowest index on exact ties and matches the CPU backend") {
  // Centres 1 and 3 are the same point; x sits on it.
  const float centers[8] = {5, 5, 1, 1, -1, -1, 1, 1};
  const float x[2] = {1, 1};
  const Nearest r = nearest_center(x, centers, 4, 2);
  CHECK(r.center == 1);
  CHECK(r.d2 == 0.0f);
  // Equidistant from centres 0 (at 0) and 1 (at 2): centre 0.
  const float line[2] = {0, 2}, mid[1] = {1};
  CHECK(nearest_center(mid, line, 2, 1).center == 0);

  for (int64_t dim : {1, 3, 6}) {
    const int64_t n = 3000, k = 37;
    const auto points = random_points(n, dim, 100 + dim);
    const auto c = pick_centers(points, dim, k, 7);
    auto cpu = make_cpu_assigner(points, dim, k, 2, false);
    const AssignTotals totals = cpu->assign(c);
    std::vector<int32_t> labels(n);
    cpu->labels(labels);
    double inertia = 0;
    for (int64_t i = 0; i < n; ++i) {
      const Nearest near = nearest_center(&points[i * dim], c.data(), k, dim);
      CHECK(near.center == labels[i]);
      inertia += near.d2;
    }
    CHECK(inertia == doctest::Approx(totals.inertia).epsilon(1e-9));
  }
}

TEST_CASE("cuda: without a usable GPU the backend says why and refuses") {
  std::string why;
  if (cuda_usable(&why)) {
    return dkm::test::skip("CUDA is usable here (" + why + "); the refusal path cannot be exercised");
  }
  CHECK(!why.empty());
  const std::vector<float> points = {0, 1, 2, 3};
  CHECK_THROWS_AS(make_cuda_assigner(points, 1, 2), dkm::UsageError);
  CHECK_THROWS_AS(cuda_init_kmeans_plus_plus(points, 1, 2, 0), dkm::UsageError);
  CHECK_THROWS_AS(cuda_sort_scalars(points), dkm::UsageError);
  KMeansParams scalars;
  scalars.k = 2;
  scalars.device = Device::cuda;  // the sorted 1-D path sorts on the GPU: asked for, it must be there
  CHECK_THROWS_AS(kmeans(points, 1, scalars), dkm::UsageError);
  scalars.device = Device::automatic;
  CHECK(kmeans(points, 1, scalars).k == 2);
  try {
    make_cuda_assigner(points, 1, 2);
  } catch (const dkm::UsageError& e) {
    CHECK(std::string(e.what()).find(why) != std::string::npos);
  }
}

TEST_CASE("cuda: labels, sums and inertia equal the CPU backend's over Lloyd iterations") {
  if (!gpu_present()) return;
  struct Shape {
    int64_t n, dim, k;
  };
  // Partial last chunks, every templated dimension and the generic one, uint8 and uint16 labels,
  // centres in shared memory and (K x d > 8192) read from global memory.
  for (const Shape s : {Shape{20000, 1, 1}, Shape{20000, 1, 16}, Shape{17000, 2, 256}, Shape{30000, 3, 256},
                        Shape{9000, 4, 300}, Shape{12000, 5, 7}, Shape{8192, 9, 40}, Shape{10000, 1, 4096},
                        Shape{5000, 40, 300}}) {
    CAPTURE(s.n);
    CAPTURE(s.dim);
    CAPTURE(s.k);
    const auto points = random_points(s.n, s.dim, uint64_t(s.n + s.dim + s.k));
    auto centers = pick_centers(points, s.dim, s.k, 3);
    auto cpu = make_cpu_assigner(points, s.dim, s.k, 3, false);
    auto gpu = make_cuda_assigner(points, s.dim, s.k);
    for (int iter = 0; iter < 4; ++iter) {
      CAPTURE(iter);
      const AssignTotals a = cpu->assign(centers), b = gpu->assign(centers);
      std::vector<int32_t> la(s.n), lb(s.n);
      cpu->labels(la);
      gpu->labels(lb);
      check_labels(points, s.dim, centers, la, lb);
      CHECK(a.counts == b.counts);
      CHECK(a.changed == b.changed);
      CHECK(b.inertia == doctest::Approx(a.inertia).epsilon(1e-6));
      CHECK(same_bits(a.inertia, b.inertia));
      REQUIRE(a.sums.size() == b.sums.size());
      int64_t sums_differ = 0;
      for (size_t j = 0; j < a.sums.size(); ++j) sums_differ += !same_bits(a.sums[j], b.sums[j]);
      CHECK(sums_differ == 0);
      // Next centres: the means (empty clusters keep their centre).
      for (int64_t c = 0; c < s.k; ++c)
        if (a.counts[c] > 0)
          for (int64_t j = 0; j < s.dim; ++j)
            centers[c * s.dim + j] = static_cast<float>(a.sums[c * s.dim + j] / double(a.counts[c]));
    }
  }
}

TEST_CASE("cuda: the inertia is summed in runs of 32 points as on the CPU") {
  if (!gpu_present()) return;
  // tests/kmeans/test_kmeans.cpp explains these points: a sequential sum per chunk would give 2^55.
  std::vector<float> x(8192 + 64, 1.0f);
  x[0] = x[8192] = 0x1p27f;
  const std::vector<float> zero{0};
  const AssignTotals gpu = make_cuda_assigner(x, 1, 1)->assign(zero);
  CHECK(gpu.inertia == (0x1p54 + 255 * 32) + (0x1p54 + 32));
  CHECK(same_bits(gpu.inertia, make_cpu_assigner(x, 1, 1, 2, false)->assign(zero).inertia));
}

TEST_CASE("cuda: repeated runs are bit-identical") {
  if (!gpu_present()) return;
  const int64_t n = 50000, dim = 3, k = 256;
  const auto points = random_points(n, dim, 42);
  const auto centers = pick_centers(points, dim, k, 9);
  auto first = make_cuda_assigner(points, dim, k), second = make_cuda_assigner(points, dim, k);
  const AssignTotals a = first->assign(centers), b = second->assign(centers);
  CHECK(same_bits(a.inertia, b.inertia));
  CHECK(a.counts == b.counts);
  bool sums_equal = a.sums.size() == b.sums.size();
  for (size_t j = 0; sums_equal && j < a.sums.size(); ++j) sums_equal = same_bits(a.sums[j], b.sums[j]);
  CHECK(sums_equal);
  std::vector<int32_t> la(n), lb(n);
  first->labels(la);
  second->labels(lb);
  CHECK(la == lb);
  // The same assigner again: nothing changes, and the totals repeat.
  const AssignTotals c = first->assign(centers);
  CHECK(c.changed == 0);
  CHECK(same_bits(c.inertia, a.inertia));
}

TEST_CASE("cuda: a batch of layers gives each layer's single-layer result") {
  if (!gpu_present()) return;
  const int64_t dim = 1;
  const std::vector<int64_t> sizes = {100, 9000, 1, 20000, 8192}, ks = {4, 16, 1, 256, 2};
  std::vector<std::vector<float>> points, centers;
  std::vector<CudaLayer> layers;
  for (size_t l = 0; l < sizes.size(); ++l) {
    points.push_back(random_points(sizes[l], dim, 500 + l));
    centers.push_back(pick_centers(points[l], dim, ks[l], l));
  }
  for (size_t l = 0; l < sizes.size(); ++l) layers.push_back({points[l], ks[l]});
  auto batch = make_cuda_batch_assigner(layers, dim);
  REQUIRE(batch->layers() == sizes.size());
  std::vector<std::span<const float>> spans(centers.begin(), centers.end());
  const auto totals = batch->assign(spans);
  for (size_t l = 0; l < sizes.size(); ++l) {
    CAPTURE(l);
    auto cpu = make_cpu_assigner(points[l], dim, ks[l], 1, false);
    const AssignTotals want = cpu->assign(centers[l]);
    CHECK(totals[l].counts == want.counts);
    CHECK(same_bits(totals[l].inertia, want.inertia));
    bool sums_equal = true;
    for (size_t j = 0; j < want.sums.size(); ++j) sums_equal = sums_equal && same_bits(totals[l].sums[j], want.sums[j]);
    CHECK(sums_equal);
    std::vector<int32_t> lw(sizes[l]), lg(sizes[l]);
    cpu->labels(lw);
    batch->labels(l, lg);
    CHECK(lw == lg);
    CHECK(batch->farthest(l, 3, want.counts).size() == cpu->farthest(3, want.counts).size());
  }
}

TEST_CASE("cuda: farthest points and k-means++ seeding equal the CPU's") {
  if (!gpu_present()) return;
  struct Shape {
    int64_t n, dim, k;
  };
  // One partial run, partial chunks, exactly one chunk, many chunks of scalars, the generic dimension.
  for (const Shape s : {Shape{20, 5, 7}, Shape{8192, 3, 16}, Shape{100003, 1, 256}, Shape{30001, 9, 300}}) {
    CAPTURE(s.n);
    CAPTURE(s.dim);
    const auto x = random_points(s.n, s.dim, uint64_t(s.n));
    CHECK(cuda_init_kmeans_plus_plus(x, s.dim, s.k, 99) == init_kmeans_plus_plus(x, s.dim, s.k, 99, 3));
  }
  const int64_t n = 25000, dim = 2, k = 64;
  const auto points = random_points(n, dim, 77);
  const auto seeded = cuda_init_kmeans_plus_plus(points, dim, k, 1234);
  const auto want = init_kmeans_plus_plus(points, dim, k, 1234, 2);
  CHECK(seeded == want);

  auto cpu = make_cpu_assigner(points, dim, k, 2, false);
  auto gpu = make_cuda_assigner(points, dim, k);
  const AssignTotals a = cpu->assign(want);
  gpu->assign(want);
  const auto fc = cpu->farthest(10, a.counts), fg = gpu->farthest(10, a.counts);
  REQUIRE(fc.size() == fg.size());
  for (size_t i = 0; i < fc.size(); ++i) {
    CHECK(fc[i].point == fg[i].point);
    CHECK(fc[i].label == fg[i].label);
  }
}

TEST_CASE("cuda: bad shapes and sizes are refused with a message") {
  std::string why;
  CHECK_FALSE(cuda_supports(1, 0, &why));
  CHECK_FALSE(cuda_supports(1, 65537, &why));
  CHECK_FALSE(cuda_supports(0, 4, &why));
}

TEST_CASE("cuda: bad shapes and sizes are refused by the GPU assigner") {
  std::string why;
  if (!gpu_present()) return;
  CHECK(cuda_supports(3, 65536, &why));
  const auto points = random_points(100, 2, 1);
  CHECK_THROWS_AS(make_cuda_assigner(points, 2, 70000), dkm::UsageError);
  CHECK_THROWS_AS(make_cuda_assigner(std::span<const float>(points).first(5), 2, 4), dkm::UsageError);
  auto gpu = make_cuda_assigner(points, 2, 4);
  const std::vector<float> three_centres(6, 0.0f);
  CHECK_THROWS_AS(gpu->assign(three_centres), dkm::UsageError);
}

TEST_CASE("cuda: lockstep k-means of many layers on the GPU gives each layer's CPU result") {
  if (!gpu_present()) return;
  // Layers finish at different rounds (max_iter, tol), so later rounds launch only the unfinished
  // ones; K = 300 makes the whole batch store uint16 labels.
  const int64_t dim = 3;
  const std::vector<int64_t> sizes = {50, 9000, 20000, 3 * 8192 + 5, 4000};
  const std::vector<int64_t> ks = {4, 16, 50, 256, 300};
  const std::vector<int> max_iters = {300, 5, 300, 40, 0};
  std::vector<std::vector<float>> points;
  std::vector<KMeansItem> items;
  for (size_t l = 0; l < sizes.size(); ++l) points.push_back(random_points(sizes[l], dim, 900 + l));
  for (size_t l = 0; l < sizes.size(); ++l) {
    KMeansParams p;
    p.k = ks[l];
    p.seed = 31 + l;
    p.max_iter = max_iters[l];
    p.tol = l == 2 ? 0.0 : 1e-4;
    p.device = Device::cuda;
    items.push_back({points[l], p});
  }
  const auto gpu = kmeans_batch(items, dim);
  for (size_t l = 0; l < items.size(); ++l) {
    CAPTURE(l);
    KMeansParams p = items[l].params;
    p.device = Device::cpu;
    const KMeansResult cpu = kmeans(points[l], dim, p);
    CHECK(gpu[l].centers == cpu.centers);
    CHECK(gpu[l].labels == cpu.labels);
    CHECK(gpu[l].iterations == cpu.iterations);
    CHECK(same_bits(gpu[l].inertia, cpu.inertia));
  }
}

TEST_CASE("cuda: the GPU sort of scalars and its prefix sums are sort_scalars()'s bit for bit") {
  if (!gpu_present()) return;
  for (const int64_t n : {int64_t(1), int64_t(5), int64_t(8192), int64_t(8193), int64_t(3 * 8192 + 77), int64_t(1000000)}) {
    CAPTURE(n);
    auto x = random_points(n, 1, 40 + n);
    // Ties, both zeros and wide magnitudes.
    for (int64_t i = 0; i < n; i += 7) x[i] = x[i / 2];
    for (int64_t i = 3; i < n; i += 11) x[i] = (i % 2) ? -0.0f : 0.0f;
    for (int64_t i = 5; i < n; i += 13) x[i] *= 1e6f;
    const SortedScalars want = sort_scalars(x), got = cuda_sort_scalars(x);
    CHECK(got.index == want.index);
    bool values = got.value.size() == want.value.size(), sums = got.prefix.size() == want.prefix.size();
    for (size_t i = 0; values && i < want.value.size(); ++i)
      values = std::bit_cast<uint32_t>(got.value[i]) == std::bit_cast<uint32_t>(want.value[i]);
    for (size_t i = 0; sums && i < want.prefix.size(); ++i)
      sums = same_bits(got.prefix[i], want.prefix[i]) && same_bits(got.prefix_sq[i], want.prefix_sq[i]);
    CHECK(values);
    CHECK(sums);
  }
  // Through kmeans(): scalars sorted on the GPU give the CPU's run exactly.
  const auto x = random_points(50000, 1, 8);
  KMeansParams p;
  p.k = 64;
  p.device = Device::cuda;
  const KMeansResult gpu = kmeans(x, 1, p);
  p.device = Device::cpu;
  const KMeansResult cpu = kmeans(x, 1, p);
  CHECK(gpu.centers == cpu.centers);
  CHECK(gpu.labels == cpu.labels);
  CHECK(gpu.iterations == cpu.iterations);
}

TEST_CASE("cuda: AFK-MC2 seeding and the k-means after it give the CPU's results") {
  if (!gpu_present()) return;
  const int64_t n = 30001, dim = 3;
  const auto x = random_points(n, dim, 5);
  KMeansParams p;
  p.k = 40;
  p.seed = 8;
  p.init = Init::afk_mc2;
  p.max_iter = 0;  // the seeding alone: the centres as chosen
  const KMeansResult seeds_cpu = kmeans(x, dim, p);
  p.device = Device::cuda;
  CHECK(kmeans(x, dim, p).centers == seeds_cpu.centers);
  p.max_iter = 50;
  const KMeansResult gpu = kmeans(x, dim, p);
  p.device = Device::cpu;
  const KMeansResult cpu = kmeans(x, dim, p);
  CHECK(gpu.centers == cpu.centers);
  CHECK(gpu.labels == cpu.labels);
  CHECK(gpu.iterations == cpu.iterations);
}

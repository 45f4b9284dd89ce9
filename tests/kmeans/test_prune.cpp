// The pruned assignment (Hamerly bounds, neighbour-limited scans) against the full pass, bit for bit:
// many random problems built to sit on the edge of the skip test (clustered data, duplicates and exact
// ties, tiny spreads, underflowing differences), d = 1..8, K = 2..300, several thread counts; and the
// CPU assigner driven directly through centre trajectories that Lloyd would not take (coincident
// centres, centres landing on points, tiny and large moves).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "kmeans/assign.hpp"
#include "kmeans/kmeans.hpp"
#include "kmeans/rng.hpp"

using namespace dkm::kmeans;

namespace {

template <typename T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// Points of one of five kinds, chosen by `kind`, each made to stress the bounds' margins.
std::vector<float> make_points(Rng& rng, int kind, int64_t n, int64_t dim) {
  std::vector<float> x(static_cast<size_t>(n * dim));
  switch (kind) {
    case 0: {  // clustered: a few blobs of random spread
      const int64_t blobs = 1 + static_cast<int64_t>(rng.below(12));
      std::vector<double> centre(static_cast<size_t>(blobs * dim));
      for (double& c : centre) c = rng.normal();
      const double spread = std::pow(10.0, -4.0 * rng.uniform());
      for (int64_t i = 0; i < n; ++i) {
        const int64_t b = static_cast<int64_t>(rng.below(static_cast<uint64_t>(blobs)));
        for (int64_t j = 0; j < dim; ++j) x[i * dim + j] = static_cast<float>(centre[b * dim + j] + spread * rng.normal());
      }
      break;
    }
    case 1:  // small integers: many duplicates and exact ties between centres
      for (float& v : x) v = static_cast<float>(rng.below(5));
      break;
    case 2:  // a tiny spread around 1: distances near float resolution
      for (float& v : x) v = 1.0f + static_cast<float>(rng.below(64)) * 0x1p-23f;
      break;
    case 3: {  // mixed scales: a cloud whose squared differences underflow, and a few far points
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < dim; ++j)
          x[i * dim + j] = i % 50 == 0 ? static_cast<float>(std::ldexp(rng.normal(), -31))
                                       : static_cast<float>(std::ldexp(rng.normal(), -80));
      break;
    }
    default: {  // heavy tails (the benchmark's shape) with duplicated rows
      for (int64_t i = 0; i < n; ++i) {
        if (i > 0 && rng.below(4) == 0) {
          const int64_t from = static_cast<int64_t>(rng.below(static_cast<uint64_t>(i)));
          std::copy(&x[from * dim], &x[from * dim] + dim, &x[i * dim]);
          continue;
        }
        for (int64_t j = 0; j < dim; ++j) {
          const double z = rng.normal(), w = std::fabs(rng.normal()) + 0.05;
          x[i * dim + j] = static_cast<float>(0.05 * z / w);
        }
      }
    }
  }
  return x;
}

}  // namespace

TEST_CASE("pruned Lloyd equals the full pass bit for bit on many random problems") {
  Rng rng(20261203);
  int cases = 0;
  for (int round = 0; round < 90; ++round) {
    const int kind = round % 5;
    const int64_t dim = 1 + static_cast<int64_t>(rng.below(8));
    const int64_t n = round % 15 == 14 ? 20000 : 200 + static_cast<int64_t>(rng.below(3000));
    const std::vector<float> x = make_points(rng, kind, n, dim);
    const int64_t distinct = count_distinct(x, dim, 300);
    if (distinct < 2) continue;
    KMeansParams p;
    p.k = 2 + static_cast<int64_t>(rng.below(static_cast<uint64_t>(std::min<int64_t>(distinct, 300) - 1)));
    p.init = rng.below(3) == 0 ? Init::random : Init::kmeans_plus_plus;
    p.seed = rng.next();
    p.max_iter = 5 + static_cast<int>(rng.below(40));
    p.tol = rng.below(2) == 0 ? 0.0 : 1e-4;
    p.sorted_1d = false;  // d = 1 takes the CPU kernel too
    p.prune = false;
    p.threads = 1;
    const KMeansResult full = kmeans(x, dim, p);
    for (int threads : {1, 2, 3}) {
      p.prune = true;
      p.threads = threads;
      const KMeansResult pruned = kmeans(x, dim, p);
      INFO("round ", round, " kind ", kind, " N ", n, " d ", dim, " K ", p.k, " threads ", threads);
      CHECK(same_bits(pruned.labels, full.labels));
      CHECK(same_bits(pruned.centers, full.centers));
      CHECK(same_bits(pruned.inertia, full.inertia));
      CHECK(pruned.iterations == full.iterations);
      REQUIRE(pruned.stats.size() == full.stats.size());
      for (size_t s = 0; s < full.stats.size(); ++s) {
        CHECK(same_bits(pruned.stats[s].inertia, full.stats[s].inertia));
        CHECK(pruned.stats[s].changed == full.stats[s].changed);
      }
    }
    ++cases;
  }
  CHECK(cases >= 80);
}

TEST_CASE("the pruned assigner equals the full one along arbitrary centre trajectories") {
  Rng rng(7);
  for (int round = 0; round < 60; ++round) {
    const int64_t dim = 1 + static_cast<int64_t>(rng.below(8));
    const int64_t n = 500 + static_cast<int64_t>(rng.below(2000));
    const int64_t k = 2 + static_cast<int64_t>(rng.below(round % 3 == 0 ? 300 : 40));
    const std::vector<float> x = make_points(rng, round % 5, n, dim);
    auto pruned = make_cpu_assigner(x, dim, k, 2, true);
    auto full = make_cpu_assigner(x, dim, k, 1, false);
    std::vector<float> c(static_cast<size_t>(k * dim));
    for (int64_t q = 0; q < k; ++q) {  // start on random points
      const int64_t i = static_cast<int64_t>(rng.below(static_cast<uint64_t>(n)));
      std::copy(&x[i * dim], &x[i * dim] + dim, &c[q * dim]);
    }
    for (int step = 0; step < 25; ++step) {
      const AssignTotals a = pruned->assign(c), b = full->assign(c);
      std::vector<int32_t> la(static_cast<size_t>(n)), lb(static_cast<size_t>(n));
      pruned->labels(la);
      full->labels(lb);
      INFO("round ", round, " step ", step, " d ", dim, " K ", k);
      REQUIRE(same_bits(la, lb));
      CHECK(same_bits(a.sums, b.sums));
      CHECK(same_bits(a.counts, b.counts));
      CHECK(same_bits(a.inertia, b.inertia));
      CHECK(a.changed == b.changed);
      // Move the centres: mostly by tiny amounts, sometimes onto a point, onto another centre, or far.
      for (int64_t q = 0; q < k; ++q) {
        const uint64_t what = rng.below(10);
        if (what == 0) {
          const int64_t i = static_cast<int64_t>(rng.below(static_cast<uint64_t>(n)));
          std::copy(&x[i * dim], &x[i * dim] + dim, &c[q * dim]);
        } else if (what == 1) {
          const int64_t o = static_cast<int64_t>(rng.below(static_cast<uint64_t>(k)));
          std::copy(&c[o * dim], &c[o * dim] + dim, &c[q * dim]);
        } else if (what == 2) {
          for (int64_t j = 0; j < dim; ++j) c[q * dim + j] += static_cast<float>(rng.normal());
        } else if (what < 6) {
          for (int64_t j = 0; j < dim; ++j) c[q * dim + j] = std::nextafter(c[q * dim + j], rng.below(2) ? 1e9f : -1e9f);
        }  // else it stays
      }
    }
  }
}

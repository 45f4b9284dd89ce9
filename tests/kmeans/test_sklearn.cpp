// scikit-learn equivalence: from the same initial centres and the same number of Lloyd iterations, the
// same labels (exact ties aside) and the inertia to 1e-6 relative. scikit-learn gets the float32 points
// as float64 (exact), so it sums centres in double as dkm does; fed float32 it sums in float32 and on a
// run this long its trajectory drifts away from the exact one (docs/benchmarks.md). Runs when python3
// can import sklearn (Debian's python3-sklearn); otherwise says it skipped.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "kmeans/init.hpp"
#include "kmeans/kmeans.hpp"
#include "kmeans/rng.hpp"
#include "models/tensor_io.hpp"
#include "tests/support.hpp"

using namespace dkm::kmeans;

namespace {

std::string python_with_sklearn() {
  for (const char* py : {"/usr/bin/python3", "python3"})
    if (std::system((std::string(py) + " -c 'import sklearn, numpy' >/dev/null 2>&1").c_str()) == 0) return py;
  return "";
}

}  // namespace

TEST_CASE("scikit-learn Lloyd equivalence over a long run") {
  const std::string py = python_with_sklearn();
  if (py.empty()) {
    return dkm::test::skip("python3 with sklearn not found (install python3-sklearn)");
  }
  dkm::test::TempDir dir;
  const int64_t n = 20000, d = 3, k = 64;
  Rng rng(2024);
  std::vector<float> x(static_cast<size_t>(n * d));
  for (auto& v : x) {
    const double z = rng.normal();
    double u = 0;
    while (u <= 0) u = rng.uniform() * rng.uniform();
    v = static_cast<float>(0.05 * z / std::sqrt(-0.5 * std::log(u)));
  }
  const auto init = init_kmeans_plus_plus(x, d, k, 5, 1);
  dkm::write_npy(dir / "x.npy", dkm::Array::from_tensor({{n, d}, x}));
  dkm::write_npy(dir / "c.npy", dkm::Array::from_tensor({{k, d}, init}));
  std::ofstream(dir / "run.py") << R"(import sys, numpy as np
from sklearn.cluster import KMeans
x = np.load(sys.argv[1]).astype(np.float64); c = np.load(sys.argv[2]).astype(np.float64)
km = KMeans(n_clusters=c.shape[0], init=c, n_init=1, max_iter=300, tol=1e-4, algorithm="lloyd").fit(x)
np.savez(sys.argv[3], labels=km.labels_.astype(np.int32), inertia=np.float64(km.inertia_),
         iterations=np.int64(km.n_iter_), centers=km.cluster_centers_.astype(np.float32))
)";
  const std::string cmd = py + " '" + (dir / "run.py") + "' '" + (dir / "x.npy") + "' '" + (dir / "c.npy") + "' '" +
                          (dir / "o.npz") + "'";
  REQUIRE(std::system(cmd.c_str()) == 0);
  const auto ref = dkm::read_npz(dir / "o.npz");
  int64_t iterations;
  double inertia;
  std::memcpy(&iterations, ref.at("iterations").bytes.data(), 8);
  std::memcpy(&inertia, ref.at("inertia").bytes.data(), 8);
  std::vector<int32_t> labels(static_cast<size_t>(n));
  std::memcpy(labels.data(), ref.at("labels").bytes.data(), labels.size() * 4);

  KMeansParams p;
  p.k = k;
  p.init = Init::given;
  p.initial_centers = init;
  p.max_iter = static_cast<int>(iterations);
  p.tol = 0;
  const auto r = kmeans(x, d, p);
  CHECK(iterations >= 40);  // long enough that float32 centre sums would have drifted
  MESSAGE("scikit-learn ran " << iterations << " iterations; inertia " << inertia << " vs dkm " << r.inertia);
  CHECK(r.inertia == doctest::Approx(inertia).epsilon(1e-6));
  int64_t differ = 0;
  for (int64_t i = 0; i < n; ++i) differ += labels[i] != r.labels[i];
  CHECK(differ == 0);
}

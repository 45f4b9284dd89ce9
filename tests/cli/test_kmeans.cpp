// `dkm kmeans`: output arrays, exit codes on bad input and bad options.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "models/tensor_io.hpp"
#include "tests/support.hpp"

using dkm::test::run_dkm;
using dkm::test::TempDir;

namespace {

void write_rows(const std::string& path, std::vector<float> values, int64_t n, int64_t d) {
  dkm::Tensor t{{n, d}, std::move(values)};
  dkm::write_npy(path, dkm::Array::from_tensor(t));
}

template <class T>
T scalar(const dkm::Array& a) {
  T v;
  std::memcpy(&v, a.bytes.data(), sizeof(T));
  return v;
}

}  // namespace

TEST_CASE("dkm kmeans writes centers, labels and inertia") {
  TempDir dir;
  write_rows(dir / "x.npy", {10, 0, 11, 1, 12, 2}, 6, 1);
  const auto r = run_dkm("kmeans '" + (dir / "x.npy") + "' --k 2 --seed 3 -o '" + (dir / "out.npz") + "'");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("K = 2") != std::string::npos);
  const auto out = dkm::read_npz(dir / "out.npz");
  const auto& centers = out.at("centers");
  CHECK(centers.dtype == dkm::DType::f32);
  CHECK(centers.shape == std::vector<int64_t>{2, 1});
  const auto& labels = out.at("labels");
  CHECK(labels.dtype == dkm::DType::i32);
  CHECK(labels.shape == std::vector<int64_t>{6});
  CHECK(out.at("inertia").dtype == dkm::DType::f64);
  CHECK(scalar<double>(out.at("inertia")) == 4.0);
  std::vector<int32_t> l(6);
  std::memcpy(l.data(), labels.bytes.data(), 24);
  CHECK(l[0] == l[2]);
  CHECK(l[0] != l[1]);
}

TEST_CASE("dkm kmeans with given centres and --tol 0 runs exactly --max-iter iterations") {
  TempDir dir;
  write_rows(dir / "x.npy", {0, 0, 2, 0, 4, 0, 10, 0}, 4, 2);
  write_rows(dir / "c.npy", {0, 0, 10, 0}, 2, 2);
  const auto r = run_dkm("kmeans '" + (dir / "x.npy") + "' --k 2 --init-centers '" + (dir / "c.npy") +
                         "' --tol 0 --max-iter 5 --threads 2 -o '" + (dir / "o.npz") + "'");
  REQUIRE(r.exit_code == 0);
  const auto out = dkm::read_npz(dir / "o.npz");
  CHECK(scalar<int64_t>(out.at("iterations")) == 5);
  CHECK(scalar<double>(out.at("inertia")) == 8.0);
}

TEST_CASE("dkm kmeans: bad input and options exit with code 2 and one line") {
  TempDir dir;
  write_rows(dir / "x.npy", {1, 1, 1, 2}, 4, 1);
  write_rows(dir / "nan.npy", {1, NAN, 2, 3}, 4, 1);
  write_rows(dir / "c.npy", {1, 2, 3}, 3, 1);
  const std::string x = "'" + (dir / "x.npy") + "'", out = " -o '" + (dir / "o.npz") + "'";
  auto expect_2 = [&](const std::string& args, const std::string& needle) {
    CAPTURE(args);
    const auto r = run_dkm(args);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(needle) != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir / "o.npz"));
  };
  expect_2("kmeans " + x + " --k 3" + out, "exceeds the 2 distinct points");
  expect_2("kmeans '" + (dir / "nan.npy") + "' --k 2" + out, "nan.npy: row 1, column 0: expected finite values, got nan");
  expect_2("kmeans " + x + " --k 0" + out, "--k");
  expect_2("kmeans " + x + " --k 2 --init kmeans" + out, "--init kmeans");
  expect_2("kmeans " + x + " --k 2 --init optimal-1d --init-centers '" + (dir / "c.npy") + "'" + out, "conflicts");
  expect_2("kmeans " + x + " --k 2 --init-centers '" + (dir / "c.npy") + "'" + out, "2 x 1 centres");
  expect_2("kmeans '" + (dir / "missing.npy") + "' --k 2" + out, "missing.npy");
  expect_2("kmeans " + x + " --k 2 -o '" + (dir / "o.txt") + "'", "expected a name ending in .npz");
  expect_2("kmeans " + x + " --k 2 --tol -1" + out, "--tol");
}

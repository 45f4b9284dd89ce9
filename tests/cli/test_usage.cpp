// Usage errors: one line `dkm: error: ...` naming the option, what was given and what is allowed, exit
// code 2; a misspelt command names the nearest one; bare `dkm` prints the help.
#include <doctest/doctest.h>

#include <string>

#include "tests/support.hpp"

using dkm::test::run_dkm;

namespace {

void expect_usage(const std::string& args, const std::string& message) {
  const auto r = run_dkm(args);
  INFO("dkm ", args);
  CHECK(r.exit_code == 2);
  CHECK(r.err == "dkm: error: " + message + "\n");
  CHECK(r.out.empty());
}

}  // namespace

TEST_CASE("usage: option values out of range say what is allowed, never CLI11's raw text") {
  expect_usage("estimate lenet5 --batch 0", "--batch: expected an integer from 1 to 1073741824, got \"0\"");
  expect_usage("estimate lenet5 --batch abc", "--batch: expected an integer from 1 to 1073741824, got \"abc\"");
  expect_usage("estimate lenet5 --conv-bits 33", "--conv-bits: expected an integer from 1 to 32, got \"33\"");
  expect_usage("sweep lenet5 --rates 0.5,0", "--rates: expected a cluster rate in (0, 1], got \"0\"");
  expect_usage("sweep lenet5 --rates 0.5,nan", "--rates: expected a cluster rate in (0, 1], got \"nan\"");
  expect_usage("kmeans x.npy --k 2 -o k.npz --tol -1", "--tol: expected a tolerance in [0, 1e+300], got \"-1\"");
  expect_usage("compress lenet5 --plan p --random-weights 1 -o c --device tpu",
               "--device: expected one of cpu, cuda, auto, got \"tpu\" (did you mean \"cpu\"?)");
  expect_usage("compress lenet5 --plan p --random-weights 1 -o c --device cdua",
               "--device: expected one of cpu, cuda, auto, got \"cdua\" (did you mean \"cuda\"?)");
  expect_usage("compress lenet5 --plan p --random-weights x -o c",
               "--random-weights: expected a non-negative integer, got \"x\"");
}

TEST_CASE("usage: missing and unknown options name the command and the option") {
  expect_usage("compress lenet5 --random-weights 1 -o c",
               "compress: expected --plan (required), got none; see `dkm compress --help`");
  expect_usage("estimate lenet5 --hww eyeriss-65nm",
               "estimate: expected a known option, got \"--hww\" (did you mean \"--hw\"?); see `dkm estimate --help`");
  expect_usage("info lenet5 extra", "info: expected no further argument, got \"extra\"; see `dkm info --help`");
  expect_usage("estimate lenet5 --batch", "--batch: expected a value, got none; see `dkm estimate --help`");
}

TEST_CASE("usage: a misspelt command suggests the nearest one; bare dkm prints the help") {
  const auto typo = run_dkm("estimte lenet5");
  CHECK(typo.exit_code == 2);
  CHECK(typo.err.starts_with("dkm: error: unknown command \"estimte\" (did you mean \"estimate\"?); expected one of: "));
  CHECK(dkm::test::count(typo.err, "\n") == 1);
  const auto unknown = run_dkm("frobnicate");
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err.find("(did you mean") == std::string::npos);
  const auto bare = run_dkm("");
  CHECK(bare.exit_code == 2);
  CHECK(bare.out.find("estimate") != std::string::npos);
  CHECK(bare.out.find("Usage") != std::string::npos);
  const auto help = run_dkm("--help");
  CHECK(help.exit_code == 0);
}

// Determinism: the same inputs and seed give byte-identical outputs across runs and thread counts.
#include <doctest/doctest.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support.hpp"

namespace {

using dkm::test::run_dkm;
using dkm::test::slurp;
using dkm::test::TempDir;

// The compress summary reports wall times (time_ms, ...) and its output path; everything else must be reproducible.
nlohmann::json without_times(nlohmann::json j) {
  if (j.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (auto& [key, value] : j.items())
      if (key.find("time") == std::string::npos && !key.ends_with("_ms") && key != "output") out[key] = without_times(value);
    return out;
  }
  if (j.is_array())
    for (auto& v : j) v = without_times(v);
  return j;
}

}  // namespace

TEST_CASE("determinism: dkm compress gives the same container for any run and thread count") {
  TempDir dir;
  std::vector<std::string> containers, summaries;
  int run = 0;
  for (int threads : {1, 2, 4, 4, 1}) {
    std::string out = dir / ("c" + std::to_string(run) + ".safetensors");
    std::string json = dir / ("s" + std::to_string(run++) + ".json");
    auto r = run_dkm("compress wrn-16-4 --random-weights 11 --plan wrn-16-4-cr50 --threads " + std::to_string(threads) +
                     " -o '" + out + "' --json '" + json + "'");
    REQUIRE(r.exit_code == 0);
    containers.push_back(slurp(out));
    summaries.push_back(without_times(nlohmann::json::parse(slurp(json))).dump());
  }
  REQUIRE(containers[0].size() > 100000);
  for (size_t i = 1; i < containers.size(); ++i) {
    INFO("run ", i);
    CHECK(containers[i] == containers[0]);
    CHECK(summaries[i] == summaries[0]);
  }
}

TEST_CASE("determinism: dkm kmeans gives the same centres and labels for any run and thread count") {
  TempDir dir;
  // 20000 x 3 float32 points from a fixed LCG, written as .npy.
  std::string npy = dir / "x.npy";
  {
    const int n = 20000, d = 3;
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (20000, 3), }";
    header.append(64 - (header.size() + 11) % 64, ' ');
    header.push_back('\n');
    std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
    bytes.push_back(static_cast<char>(header.size() & 0xFF));
    bytes.push_back(static_cast<char>(header.size() >> 8));
    bytes += header;
    uint64_t state = 12345;
    for (int i = 0; i < n * d; ++i) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      float v = static_cast<float>(state >> 40) / static_cast<float>(1 << 24) + static_cast<float>(i % 7);
      bytes.append(reinterpret_cast<const char*>(&v), 4);
    }
    std::ofstream(npy, std::ios::binary) << bytes;
  }
  std::vector<std::string> outputs;
  int run = 0;
  for (int threads : {1, 2, 4, 4}) {
    std::string out = dir / ("k" + std::to_string(run++) + ".npz");
    auto r = run_dkm("kmeans '" + npy + "' --k 16 --seed 3 --max-iter 50 --threads " + std::to_string(threads) + " -o '" +
                     out + "'");
    REQUIRE(r.exit_code == 0);
    outputs.push_back(slurp(out));
  }
  REQUIRE(outputs[0].size() > 20000 * 4);
  for (size_t i = 1; i < outputs.size(); ++i) CHECK(outputs[i] == outputs[0]);
}

TEST_CASE("determinism: dkm estimate --json is byte-identical across runs") {
  TempDir dir;
  std::vector<std::string> outputs;
  for (int run = 0; run < 3; ++run) {
    std::string out = dir / ("e" + std::to_string(run) + ".json");
    REQUIRE(run_dkm("estimate wrn-16-4 --plan wrn-16-4-cr50 --json '" + out + "'").exit_code == 0);
    outputs.push_back(slurp(out));
  }
  std::string compressed = dir / "c.safetensors";
  REQUIRE(run_dkm("compress wrn-16-4 --random-weights 2 --plan wrn-16-4-cr47 -o '" + compressed + "'").exit_code == 0);
  for (int run = 0; run < 3; ++run) {
    std::string out = dir / ("w" + std::to_string(run) + ".json");
    REQUIRE(run_dkm("estimate wrn-16-4 --compressed '" + compressed + "' --json '" + out + "'").exit_code == 0);
    outputs.push_back(slurp(out));
  }
  CHECK(outputs[0].size() > 1000);
  CHECK(outputs[3].size() > 1000);
  for (int i : {1, 2}) CHECK(outputs[i] == outputs[0]);
  for (int i : {4, 5}) CHECK(outputs[i] == outputs[3]);
}

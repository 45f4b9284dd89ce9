// `dkm compress` on weights read one tensor at a time (docs/weights.md, "Streaming"): a sharded
// safetensors model gives the container the same weights in one file give, its index is checked, no
// shard is ever overwritten, and the peak memory stays under a limit smaller than the model.
#include <doctest/doctest.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "kmeans/compress.hpp"
#include "models/model.hpp"
#include "models/tensor_io.hpp"
#include "tests/support.hpp"

using namespace dkm;
using dkm::test::run_dkm;
using dkm::test::slurp;
using dkm::test::TempDir;

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DKM_HAS_ADDRESS_SANITIZER 1
#endif
#endif
#ifndef DKM_HAS_ADDRESS_SANITIZER
#define DKM_HAS_ADDRESS_SANITIZER 0
#endif

namespace {

void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// The weights split over shards named in `layout` (tensor -> shard file), with Hugging Face's index.
void write_sharded(const TempDir& dir, const Weights& w, const std::map<std::string, std::string>& layout) {
  std::map<std::string, Safetensors> shards;
  nlohmann::json map = nlohmann::json::object();
  for (const auto& [name, shard] : layout) {
    shards[shard].tensors[name] = Array::from_tensor(w.at(name));
    map[name] = shard;
  }
  for (const auto& [shard, file] : shards) write_safetensors(dir / shard, file);
  write_text(dir / "model.safetensors.index.json", nlohmann::json{{"metadata", {{"total_size", 0}}}, {"weight_map", map}}.dump());
}

// Shards s0 and s1 of `layers` 1 x 1 conv weights (channels x channels, deterministic values), with the index.
void write_big_shards(const TempDir& dir, int layers, int channels) {
  nlohmann::json map = nlohmann::json::object();
  uint32_t state = 1;
  for (int shard = 0; shard < 2; ++shard) {
    Safetensors file;
    for (int i = shard * layers / 2; i < (shard + 1) * layers / 2; ++i) {
      const int64_t c = channels;
      Tensor t{{c, c, 1, 1}, std::vector<float>(static_cast<size_t>(c * c))};
      for (float& v : t.values) v = float((state = state * 1664525u + 1013904223u) >> 8) * 0x1p-24f - 0.5f;
      file.tensors["conv" + std::to_string(i) + ".weight"] = Array::from_tensor(t);
      map["conv" + std::to_string(i) + ".weight"] = "s" + std::to_string(shard) + ".safetensors";
    }
    write_safetensors(dir / ("s" + std::to_string(shard) + ".safetensors"), file);
  }
  write_text(dir / "model.safetensors.index.json", nlohmann::json{{"weight_map", map}}.dump());
}

// This process's resident memory now (/proc/self/statm), in bytes.
uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

const char* kScalarPlan = R"({"format": "dkm-plan/1", "defaults": {"granularity": "scalar", "k": 8}, "layers": []})";

}  // namespace

TEST_CASE("dkm compress: a sharded safetensors model gives the container its weights in one file give") {
  TempDir dir;
  const models::Model model = models::load_model("lenet5");
  const Weights w = kmeans::random_weights(model, 5);
  save_weights(dir / "w.npz", w);
  save_weights(dir / "w.safetensors", w);
  std::map<std::string, std::string> layout;
  for (const auto& [name, t] : w) layout[name] = name.starts_with("conv1") ? "a.safetensors" : "b.safetensors";
  write_sharded(dir, w, layout);
  write_text(dir / "plan.json", kScalarPlan);
  std::string out[3];
  const char* weights[3] = {"w.npz", "w.safetensors", "model.safetensors.index.json"};
  for (int i = 0; i < 3; ++i) {
    const auto r = run_dkm("compress lenet5 --weights '" + (dir / weights[i]) + "' --plan '" + (dir / "plan.json") +
                           "' --threads 2 -o '" + (dir / "c.safetensors") + "'");
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    out[i] = slurp(dir / "c.safetensors");
  }
  CHECK(out[0] == out[1]);
  CHECK(out[0] == out[2]);
  // To standard output: the same bytes.
  const auto r = run_dkm("compress lenet5 --weights '" + (dir / weights[2]) + "' --plan '" + (dir / "plan.json") + "' -o -");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == out[0]);
}

TEST_CASE("dkm compress: a safetensors index is checked against its shards, and no shard is overwritten") {
  TempDir dir;
  const models::Model model = models::load_model("lenet5");
  const Weights w = kmeans::random_weights(model, 5);
  write_text(dir / "plan.json", kScalarPlan);
  std::map<std::string, std::string> layout;
  for (const auto& [name, t] : w) layout[name] = "a.safetensors";
  const std::string args = "compress lenet5 --weights '" + (dir / "model.safetensors.index.json") + "' --plan '" +
                           (dir / "plan.json") + "' -o ";
  SUBCASE("an output that is a shard is refused") {
    write_sharded(dir, w, layout);
    const std::string before = slurp(dir / "a.safetensors");
    const auto r = run_dkm(args + "'" + (dir / "a.safetensors") + "'");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("refusing to overwrite an input") != std::string::npos);
    CHECK(slurp(dir / "a.safetensors") == before);
  }
  SUBCASE("a tensor mapped to a shard that lacks it") {
    write_sharded(dir, w, layout);
    write_text(dir / "model.safetensors.index.json",
               R"({"weight_map": {"conv1.weight": "a.safetensors", "nothere.weight": "a.safetensors"}})");
    const auto r = run_dkm(args + "'" + (dir / "c.safetensors") + "'");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("weight_map.nothere.weight: expected a tensor that") != std::string::npos);
  }
  SUBCASE("a shard tensor the index does not list") {
    write_sharded(dir, w, layout);
    write_text(dir / "model.safetensors.index.json", R"({"weight_map": {"conv1.weight": "a.safetensors"}})");
    const auto r = run_dkm(args + "'" + (dir / "c.safetensors") + "'");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("weight_map, got one more") != std::string::npos);
  }
  SUBCASE("a missing shard, or one outside the index's folder") {
    write_text(dir / "model.safetensors.index.json", R"({"weight_map": {"conv1.weight": "gone.safetensors"}})");
    auto r = run_dkm(args + "'" + (dir / "c.safetensors") + "'");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("gone.safetensors: cannot open file for reading") != std::string::npos);
    write_text(dir / "model.safetensors.index.json", R"({"weight_map": {"conv1.weight": "../a.safetensors"}})");
    r = run_dkm(args + "'" + (dir / "c.safetensors") + "'");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("weight_map.conv1.weight: expected a .safetensors file name in the index's directory") !=
          std::string::npos);
  }
  CHECK(!std::filesystem::exists(dir / "c.safetensors"));
}

TEST_CASE("dkm compress holds one layer, not the model: peak memory under a limit smaller than the model") {
#if defined(__SANITIZE_ADDRESS__) || DKM_HAS_ADDRESS_SANITIZER
  // The sanitizer build's dkm keeps freed memory in AddressSanitizer's quarantine and maps shadow memory:
  // its resident size says nothing about what dkm holds.
  dkm::test::skip("resident memory is not measurable under AddressSanitizer");
  return;
#endif
  // 48 conv layers of 1024 x 1024 (4 MiB each as float32): 192 MiB of weights in two shards. The limit
  // is half of that: reading the whole model, or keeping every layer's labels, exceeds it.
  constexpr int kLayers = 48, kChannels = 1024;
  constexpr uint64_t kModelBytes = uint64_t{kLayers} * kChannels * kChannels * 4, kLimitBytes = kModelBytes / 2;
  TempDir dir;
  nlohmann::json layers = nlohmann::json::array();
  for (int i = 0; i < kLayers; ++i)
    layers.push_back({{"name", "conv" + std::to_string(i)}, {"type", "conv2d"}, {"out_channels", kChannels}, {"kernel", 1}, {"bias", false}});
  write_text(dir / "big.json", nlohmann::json{{"format", "dkm-model/1"}, {"name", "big"}, {"input", {kChannels, 1, 1}},
                                              {"layers", layers}}.dump());
  // One pass of Lloyd from linear seeds: the memory of a layer is what matters here, not the clustering.
  write_text(dir / "plan.json", R"({"format": "dkm-plan/1", "defaults": {"granularity": "scalar", "k": 16,
                                    "init": "linear", "max_iter": 1}, "layers": []})");
  // The shards are written by a child process: a fork copies the parent's resident pages into the
  // child's peak (Linux charges them to ru_maxrss at exec), so the process that forks dkm must stay small.
  const pid_t writer = ::fork();
  REQUIRE(writer >= 0);
  if (writer == 0) {
    try {
      write_big_shards(dir, kLayers, kChannels);
    } catch (...) {
      ::_exit(1);
    }
    ::_exit(0);
  }
  int writer_status = 0;
  REQUIRE(::waitpid(writer, &writer_status, 0) == writer);
  REQUIRE(WIFEXITED(writer_status));
  REQUIRE(WEXITSTATUS(writer_status) == 0);

  const std::string index = dir / "model.safetensors.index.json", spec = dir / "big.json", plan = dir / "plan.json",
                    output = dir / "c.safetensors";
  // The measured peak is at least this process's resident size at the fork: it must not hide dkm's.
  const uint64_t parent_bytes = resident_bytes();
  MESSAGE("the forking test process holds ", parent_bytes >> 20, " MiB");
  REQUIRE(parent_bytes < kLimitBytes / 2);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, STDOUT_FILENO);
    ::execl(DKM_BINARY, DKM_BINARY, "compress", spec.c_str(), "--weights", index.c_str(), "--plan", plan.c_str(),
            "--threads", "2", "-o", output.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  struct rusage usage {};
  REQUIRE(::wait4(pid, &status, 0, &usage) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  const uint64_t peak_bytes = static_cast<uint64_t>(usage.ru_maxrss) * 1024;  // Linux: kilobytes
  MESSAGE("peak resident memory ", peak_bytes >> 20, " MiB for a ", kModelBytes >> 20, " MiB model");
  CHECK(peak_bytes < kLimitBytes);
  // Everything was written: every layer's labels (4 bits each) are in the container.
  CHECK(std::filesystem::file_size(output) > uint64_t{kLayers} * kChannels * kChannels / 2);
}

// `dkm decompress`: the written weights equal decompress(read_compressed(...)) in both output formats,
// random-weight inputs are labelled, and bad input or options exit 2 with one line and no output file.
#include <doctest/doctest.h>

#include <filesystem>

#include "kmeans/container.hpp"
#include "models/atomic_file.hpp"
#include "models/tensor_io.hpp"
#include "tests/support.hpp"

using namespace dkm;
using namespace dkm::kmeans;
using dkm::test::run_dkm;
using dkm::test::TempDir;

namespace {

CompressedModel small_model(bool random) {
  CompressedModel m;
  m.model = "small";
  m.random_weights = random;
  m.weights_seed = random ? 42 : 0;
  CompressedLayer conv;
  conv.name = "features.0";
  conv.granularity = Granularity::kernel;
  conv.weight_shape = {2, 2, 2, 2};
  conv.k = 2;
  conv.dim = 4;
  conv.codebook = {1.f, 2.f, 3.f, 4.f, -0.5f, 0.f, 0.5f, 1e-3f};
  conv.labels = {0, 1, 1, 0};
  conv.bias = {0.1f, 0.2f};
  CompressedLayer fc;
  fc.name = "fc";
  fc.granularity = Granularity::scalar;
  fc.weight_shape = {3, 2};
  fc.k = 3;
  fc.dim = 1;
  fc.codebook = {-1.f, 0.f, 1.f};
  fc.labels = {2, 2, 0, 1, 0, 2};
  m.layers = {conv, fc};
  return m;
}

}  // namespace

TEST_CASE("decompress: .npz and .safetensors outputs hold exactly codebook[label]") {
  TempDir dir;
  write_compressed(dir / "m.safetensors", small_model(false));
  for (const char* out : {"w.npz", "w.safetensors"}) {
    CAPTURE(out);
    auto r = run_dkm("decompress '" + (dir / "m.safetensors") + "' -o '" + (dir / out) + "'");
    CHECK(r.exit_code == 0);
    CHECK(r.err == "");
    CHECK(r.out.find("wrote 3 tensors of model 'small' to " + (dir / out)) != std::string::npos);
    CHECK(r.out.find("RANDOM") == std::string::npos);
    Weights w = load_weights(dir / out);
    REQUIRE(w.size() == 3);
    CHECK(w.at("features.0.weight").shape == std::vector<int64_t>{2, 2, 2, 2});
    CHECK(w.at("features.0.weight").values == std::vector<float>{1.f, 2.f, 3.f, 4.f, -0.5f, 0.f, 0.5f, 1e-3f,
                                                                 -0.5f, 0.f, 0.5f, 1e-3f, 1.f, 2.f, 3.f, 4.f});
    CHECK(w.at("features.0.bias").values == std::vector<float>{0.1f, 0.2f});
    CHECK(w.at("fc.weight").shape == std::vector<int64_t>{3, 2});
    CHECK(w.at("fc.weight").values == std::vector<float>{1.f, 1.f, -1.f, 0.f, -1.f, 1.f});
  }
}

TEST_CASE("decompress: a model compressed from random weights says so") {
  TempDir dir;
  write_compressed(dir / "m.safetensors", small_model(true));
  auto r = run_dkm("decompress '" + (dir / "m.safetensors") + "' -o '" + (dir / "w.npz") + "'");
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("note: " + (dir / "m.safetensors") +
                   " was compressed from RANDOM weights (--random-weights 42), not trained ones") != std::string::npos);
}

TEST_CASE("decompress: bad options and corrupt input exit 2 with one line and write nothing") {
  TempDir dir;
  write_compressed(dir / "m.safetensors", small_model(false));
  auto r = run_dkm("decompress '" + (dir / "m.safetensors") + "' -o '" + (dir / "w.pt") + "'");
  CHECK(r.exit_code == 2);
  CHECK(r.err == "dkm: error: --output '" + (dir / "w.pt") + "': expected a name ending in .npz or .safetensors\n");
  CHECK(!std::filesystem::exists(dir / "w.pt"));

  // A label byte beyond k: fc's k = 3 leaves label 3 invalid.
  Safetensors f = read_safetensors(dir / "m.safetensors");
  f.tensors.at("fc.labels").bytes[0] = '\x03';
  write_safetensors(dir / "bad.safetensors", f);
  r = run_dkm("decompress '" + (dir / "bad.safetensors") + "' -o '" + (dir / "w.npz") + "'");
  CHECK(r.exit_code == 2);
  CHECK(r.err == "dkm: error: " + (dir / "bad.safetensors") + ": tensor 'fc.labels': expected labels below k = 3, got 3 at vector 0\n");
  CHECK(r.out == "");
  CHECK(!std::filesystem::exists(dir / "w.npz"));

  // Plain weights are not a compressed model.
  save_weights(dir / "plain.safetensors", {{"fc.weight", Tensor{{1}, {1.f}}}});
  r = run_dkm("decompress '" + (dir / "plain.safetensors") + "' -o '" + (dir / "w.npz") + "'");
  CHECK(r.exit_code == 2);
  CHECK(r.err == "dkm: error: " + (dir / "plain.safetensors") +
                     ": __metadata__.format: expected the key (a dkm compressed model has it, see docs/container.md), got none\n");

  r = run_dkm("decompress");
  CHECK(r.exit_code == 2);
  // Every file left in the directory is one the test wrote: no partial or temporary output.
  int files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path)) ++files;
  CHECK(files == 3);
}

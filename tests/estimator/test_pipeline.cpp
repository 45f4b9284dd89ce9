// The one load -> compress -> estimate entry point (estimator/pipeline.hpp) and the rules it enforces for
// every caller: K == N is uncompressed from a plan and from a container alike, a container is priced
// only against its own model, non-finite weights and energies never become results.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "estimator/pipeline.hpp"
#include "kmeans/container.hpp"
#include "models/atomic_file.hpp"
#include "models/error.hpp"
#include "models/tensor_io.hpp"
#include "tests/support.hpp"

using namespace dkm;
using namespace dkm::estimator;

namespace {

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

const LayerEstimate& layer(const Estimate& e, const std::string& name) {
  for (const auto& l : e.layers)
    if (l.name == name) return l;
  FAIL("no layer " << name);
  return e.layers.front();
}

// WRN-16-4's conv1 has N = 16 * 3 * 3 = 144 row vectors: K = 144 keeps it unchanged.
const char* kConv1KeptPlan = R"({"format": "dkm-plan/1", "defaults": {"compress": false},
  "layers": [{"match": "conv1", "k": 144, "compress": true},
             {"match": "stage1.block1.conv1", "k": 8, "compress": true}]})";

}  // namespace

TEST_CASE("pipeline: a layer with K == N is uncompressed from a plan and from its container alike") {
  test::TempDir dir;
  write_file_atomic(dir / "plan.json", kConv1KeptPlan);
  PipelineOptions o;
  o.model = "wrn-16-4";
  o.hw = "eyeriss-65nm";
  o.plan = dir / "plan.json";
  o.run_kmeans = false;
  const PipelineResult planned = run_pipeline(o);
  o.random_seed = 3;
  o.run_kmeans = true;
  const PipelineResult shared = run_pipeline(o);
  REQUIRE(shared.compressed);
  kmeans::write_compressed(dir / "c.safetensors", *shared.compressed);
  PipelineOptions from_container;
  from_container.model = "wrn-16-4";
  from_container.hw = "eyeriss-65nm";
  from_container.compressed = dir / "c.safetensors";
  const PipelineResult read = run_pipeline(from_container);

  for (const PipelineResult* r : {&planned, &shared, &read}) {
    const LayerEstimate& conv1 = layer(r->estimated->estimate, "conv1");
    const LayerEstimate& dense = layer(r->estimated->baseline, "conv1");
    CHECK(conv1.compression.k == 0);
    CHECK(conv1.paper.total_energy() == dense.paper.total_energy());
    CHECK(conv1.hierarchy.total_energy() == dense.hierarchy.total_energy());
    CHECK(layer(r->estimated->estimate, "stage1.block1.conv1").compression.k == 8);
    for (const auto& l : r->estimated->ratio.layers) CHECK(l.layer != "conv1");
  }
  CHECK(layer(read.estimated->estimate, "conv1").hierarchy.total_energy() ==
        layer(planned.estimated->estimate, "conv1").hierarchy.total_energy());
}

TEST_CASE("pipeline: a container written for another model names the file and its model field") {
  test::TempDir dir;
  PipelineOptions o;
  o.model = "lenet5";
  o.plan = dir / "plan.json";
  o.random_seed = 1;
  write_file_atomic(o.plan, R"({"format": "dkm-plan/1", "defaults": {"k": 4}})");
  kmeans::write_compressed(dir / "lenet.safetensors", *run_pipeline(o).compressed);
  PipelineOptions other;
  other.model = "alexnet";
  other.hw = "eyeriss-65nm";
  other.compressed = dir / "lenet.safetensors";
  CHECK(error_of([&] { run_pipeline(other); }) ==
        dir / "lenet.safetensors" +
            ": __metadata__.model: expected a container written for model \"alexnet\" (alexnet), got one written "
            "for \"lenet5\"");
}

TEST_CASE("pipeline: NaN weights and biases are refused before they enter a container") {
  test::TempDir dir;
  const models::Model m = models::load_model("lenet5");
  Weights w = kmeans::random_weights(m, 1);
  w.at("conv2.weight").values[7] = std::nanf("");
  save_weights(dir / "w.npz", w);
  PipelineOptions o;
  o.model = "lenet5";
  o.plan = dir / "plan.json";
  o.weights = dir / "w.npz";
  write_file_atomic(o.plan, R"({"format": "dkm-plan/1", "defaults": {"k": 4}})");
  const Loaded loaded = load_stage(o);
  CHECK(error_of([&] { compress_stage(loaded, o); }) ==
        dir / "w.npz" + ": conv2.weight: expected finite values, got nan at index 7");
  w = kmeans::random_weights(m, 1);
  w.at("conv1.bias").values[2] = INFINITY;
  save_weights(dir / "w.npz", w);
  CHECK(error_of([&] { compress_stage(load_stage(o), o); }) ==
        dir / "w.npz" + ": conv1.bias: expected finite values, got inf at index 2");
}

TEST_CASE("pipeline: an energy of 1e308 in a profile is refused, never inf or null in a result") {
  test::TempDir dir;
  std::string text(shipped_file(profile_files(), "eyeriss-65nm")->text);
  const std::string dram = "\"value\": 200,";
  REQUIRE(text.find(dram) != std::string::npos);
  text.replace(text.find(dram), dram.size(), "\"value\": 1e308,");
  write_file_atomic(dir / "huge.json", text);
  PipelineOptions o;
  o.model = "lenet5";
  o.hw = dir / "huge.json";
  const std::string e = error_of([&] { run_pipeline(o); });
  CHECK(e.starts_with(dir / "huge.json" + ": expected energies that a double can hold, got inf for "));
}

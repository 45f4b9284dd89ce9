// `dkm import` and `dkm export`: spec and weights out, the same model back in, ONNX back out, one-line
// errors with exit code 2 and no partial output.
#include <doctest/doctest.h>

#include <filesystem>

#include "models/model.hpp"
#include "models/onnx.hpp"
#include "models/tensor_io.hpp"
#include "tests/support.hpp"

#ifdef DKM_HAVE_ONNX
#include "tests/models/test_onnx_graph.hpp"

using dkm::test::OnnxGraph;
using dkm::test::ramp;
using dkm::test::run_dkm;

namespace {

// conv 4@3x3 (pads 1) -> relu -> global average pool -> flatten (already flat: no layer) -> gemm 3.
OnnxGraph net(bool symbolic) {
  OnnxGraph g;
  g.input("image", {symbolic ? 0 : 1, 2, 5, 5});
  g.init("w", {4, 2, 3, 3}, ramp(72));
  g.init("b", {4}, {1, 2, 3, 4});
  g.init("fw", {3, 4}, ramp(12));
  auto& c = g.node("Conv", {"image", "w", "b"}, {"c"}, "conv");
  OnnxGraph::ints(c, "pads", {1, 1, 1, 1});
  g.node("Relu", {"c"}, {"r"}, "relu");
  g.node("GlobalAveragePool", {"r"}, {"p"}, "gap");
  g.node("Flatten", {"p"}, {"f"}, "flat");
  auto& fc = g.node("Gemm", {"f", "fw"}, {"y"}, "fc");
  OnnxGraph::integer(fc, "transB", 1);
  g.output("y");
  return g;
}

}  // namespace

TEST_CASE("import: writes a spec and weights that load back to the same model") {
  dkm::test::TempDir dir;
  net(false).save(dir / "net.onnx");
  auto r = run_dkm("import '" + (dir / "net.onnx") + "' -o '" + (dir / "net.json") + "' --weights-out '" +
                   (dir / "w.safetensors") + "'");
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out.find("4 layers (2 conv/linear, 84 weights), 1812 MACs/image") != std::string::npos);
  auto spec = dkm::models::load_model(dir / "net.json");
  auto direct = dkm::models::load_onnx(dir / "net.onnx", {});
  CHECK(dkm::models::to_json_spec(spec) == dkm::models::to_json_spec(direct));
  CHECK(spec.total_macs() == 4 * 25 * 18 + 12);
  auto w = dkm::load_weights(dir / "w.safetensors");
  CHECK(w.size() == 3);
  CHECK(w.at("conv.weight").shape == std::vector<int64_t>{4, 2, 3, 3});
  CHECK(w.at("conv.weight").values == ramp(72));
  CHECK(w.at("conv.bias").values == std::vector<float>{1, 2, 3, 4});
  CHECK(w.at("fc.weight").values == ramp(12));
  // `dkm info` reads the .onnx directly.
  auto info = run_dkm("info --json '" + (dir / "net.onnx") + "'");
  REQUIRE_MESSAGE(info.exit_code == 0, info.err);
  CHECK(info.out.find("\"macs\": 1812") != std::string::npos);
}

TEST_CASE("import: symbolic dimensions need --input-shape, errors are one line with exit code 2") {
  dkm::test::TempDir dir;
  net(true).save(dir / "dyn.onnx");
  auto r = run_dkm("import '" + (dir / "dyn.onnx") + "' -o '" + (dir / "s.json") + "'");
  CHECK(r.exit_code == 2);
  CHECK(r.err == "dkm: error: " + (dir / "dyn.onnx") +
                     ": input 'image': the input shape [N,2,5,5] has symbolic dimensions; pass --input-shape with "
                     "fixed ones in the same layout, e.g. --input-shape 1,3,224,224\n");
  CHECK_FALSE(std::filesystem::exists(dir / "s.json"));
  r = run_dkm("import '" + (dir / "dyn.onnx") + "' -o '" + (dir / "s.json") + "' --input-shape 4,2,5,5");
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(dkm::models::load_model(dir / "s.json").batch == 4);
  r = run_dkm("import '" + (dir / "dyn.onnx") + "' -o '" + (dir / "s.json") + "' --input-shape 4,x");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--input-shape: expected positive integers") != std::string::npos);

  std::string bytes = net(false).bytes();
  std::ofstream(dir / "cut.onnx", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  r = run_dkm("import '" + (dir / "cut.onnx") + "' -o '" + (dir / "c.json") + "' --weights-out '" + (dir / "c.npz") + "'");
  CHECK(r.exit_code == 2);
  CHECK(r.err.rfind("dkm: error: " + (dir / "cut.onnx") + ": byte ", 0) == 0);
  CHECK(r.err.find('\n') == r.err.size() - 1);
  CHECK_FALSE(std::filesystem::exists(dir / "c.json"));
  CHECK_FALSE(std::filesystem::exists(dir / "c.npz"));
}

TEST_CASE("export: decompressed-style weights go back into a copy of the graph") {
  dkm::test::TempDir dir;
  net(false).save(dir / "net.onnx");
  dkm::Weights w;
  w["conv.weight"] = {{4, 2, 3, 3}, std::vector<float>(72, 0.5f)};
  dkm::save_weights(dir / "w.safetensors", w);
  auto r = run_dkm("export '" + (dir / "net.onnx") + "' --weights '" + (dir / "w.safetensors") + "' -o '" +
                   (dir / "out.onnx") + "'");
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  auto m = dkm::models::load_onnx(dir / "out.onnx", {});
  CHECK(m.weights.at("conv.weight").values == std::vector<float>(72, 0.5f));
  CHECK(m.weights.at("fc.weight").values == ramp(12));
}
#endif

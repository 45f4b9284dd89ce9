// ONNX export: replaced weights land in the right tensors and layouts, the rest is untouched, the output
// passes the onnx checker (Debian's python3-onnx), and bad replacements leave no file.
#include <doctest/doctest.h>

#include "models/onnx.hpp"
#include "tests/support.hpp"

#ifdef DKM_HAVE_ONNX
#include <filesystem>

#include "tests/models/test_onnx_graph.hpp"

using namespace dkm::models;
using dkm::test::OnnxGraph;
using dkm::test::ramp;

namespace {

// conv (weights in a Constant node) -> flatten -> Gemm with transB = 0 and alpha = 2.
OnnxGraph exportable() {
  OnnxGraph g;
  g.input("x", {1, 2, 3, 3});
  auto& c = g.node("Constant", {}, {"wc"}, "wconst");
  auto* value = c.add_attribute();
  value->set_name("value");
  value->set_type(onnx::AttributeProto::TENSOR);
  OnnxGraph::fill(*value->mutable_t(), "wc", {4, 2, 3, 3}, ramp(72));
  g.init("bc", {4}, {1, 2, 3, 4});
  g.init("wf", {4, 3}, ramp(12));  // (in, out): transB = 0
  g.init("bf", {3}, {0.5f, 0.25f, 0.125f});
  g.node("Conv", {"x", "wc", "bc"}, {"c"}, "conv");
  g.node("Flatten", {"c"}, {"f"}, "flat");
  auto& fc = g.node("Gemm", {"f", "wf", "bf"}, {"y"}, "fc");
  OnnxGraph::real(fc, "alpha", 2.0f);
  g.output("y", {1, 3});
  return g;
}

bool onnx_checker_missing() { return std::system("/usr/bin/python3 -c 'import onnx' >/dev/null 2>&1") != 0; }

// Whether /usr/bin/python3's onnx.checker accepts the file.
bool onnx_checker(const std::string& path) {
  std::string cmd = "/usr/bin/python3 -c 'import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]))' '" +
                    path + "'";
  return std::system(cmd.c_str()) == 0;
}

}  // namespace

TEST_CASE("onnx export: replaced weights round-trip through the original tensors and layouts") {
  dkm::test::TempDir dir;
  exportable().save(dir / "src.onnx");
  Model src = load_onnx(dir / "src.onnx", {});
  // Gemm alpha = 2 is folded into the imported weight: 2 x ramp, transposed to (out, in).
  CHECK(src.weights.at("fc.weight").shape == std::vector<int64_t>{3, 4});
  CHECK(src.weights.at("fc.weight").values[2 * 4 + 1] == 2 * ramp(12)[1 * 3 + 2]);

  dkm::Weights replaced;
  replaced["conv.weight"] = {{4, 2, 3, 3}, std::vector<float>(72, 0.75f)};
  replaced["fc.weight"] = {{3, 4}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}};
  write_onnx_with_weights(dir / "src.onnx", replaced, dir / "out.onnx");
  Model out = load_onnx(dir / "out.onnx", {});
  CHECK(out.weights.at("conv.weight").values == replaced["conv.weight"].values);
  CHECK(out.weights.at("fc.weight").values == replaced["fc.weight"].values);
  CHECK(out.weights.at("conv.bias").values == src.weights.at("conv.bias").values);
  CHECK(out.weights.at("fc.bias").values == src.weights.at("fc.bias").values);
  CHECK(out.total_macs() == src.total_macs());
  // The ONNX tensor holds the (in, out) layout divided by alpha: wf[i][o] = W[o][i] / 2.
  onnx::ModelProto proto;
  REQUIRE(proto.ParseFromString(dkm::test::slurp(dir / "out.onnx")));
  for (const auto& t : proto.graph().initializer())
    if (t.name() == "wf") {
      std::vector<float> v(12);
      std::memcpy(v.data(), t.raw_data().data(), 48);
      CHECK(v[1 * 3 + 2] == 10.0f / 2);  // W[2][1] = 10
      CHECK(t.data_type() == onnx::TensorProto::FLOAT);
    }
}

TEST_CASE("onnx export: a folded per-channel scale and Div are divided out again on export") {
  // conv (bias) -> Mul by a [1,4,1,1] scale -> flatten -> Gemm -> Div by 4: both folded on import.
  OnnxGraph g;
  g.input("x", {1, 2, 3, 3});
  g.init("wc", {4, 2, 3, 3}, ramp(72));
  g.init("bc", {4}, {1, 2, 3, 4});
  g.init("s", {1, 4, 1, 1}, {2, -1, 0.5f, 4});
  g.init("wf", {3, 4}, ramp(12));
  g.init("four", {}, {4});
  g.node("Conv", {"x", "wc", "bc"}, {"c"}, "conv");
  g.node("Mul", {"c", "s"}, {"m"}, "scale");
  g.node("Flatten", {"m"}, {"f"}, "flat");
  auto& fc = g.node("Gemm", {"f", "wf"}, {"g"}, "fc");
  OnnxGraph::integer(fc, "transB", 1);
  g.node("Div", {"g", "four"}, {"y"}, "div");
  g.output("y", {1, 3});
  dkm::test::TempDir dir;
  g.save(dir / "src.onnx");
  Model src = load_onnx(dir / "src.onnx", {});
  CHECK(src.find("scale") == nullptr);
  CHECK(src.find("div") == nullptr);
  CHECK(src.total_params() == 72 + 4 + 4 + 12 + 1);
  CHECK(src.weights.at("conv.weight").values[18] == -ramp(72)[18]);  // filter 1 scaled by -1
  CHECK(src.weights.at("conv.bias").values == std::vector<float>{2, -2, 1.5f, 16});
  CHECK(src.weights.at("fc.weight").values[5] == ramp(12)[5] / 4);

  // Writing the imported weights back restores the source tensors, and re-importing gives them again.
  write_onnx_with_weights(dir / "src.onnx", src.weights, dir / "out.onnx");
  Model out = load_onnx(dir / "out.onnx", {});
  for (const auto& [name, t] : src.weights) CHECK(out.weights.at(name).values == t.values);
  onnx::ModelProto proto;
  REQUIRE(proto.ParseFromString(dkm::test::slurp(dir / "out.onnx")));
  for (const auto& t : proto.graph().initializer())
    if (t.name() == "bc") {
      std::vector<float> v(4);
      std::memcpy(v.data(), t.raw_data().data(), 16);
      CHECK(v == std::vector<float>{1, 2, 3, 4});
    }
}

TEST_CASE("onnx export: the exported model passes onnx.checker") {
  if (onnx_checker_missing()) return dkm::test::skip("/usr/bin/python3 with python3-onnx not found");
  dkm::test::TempDir dir;
  exportable().save(dir / "src.onnx");
  write_onnx_with_weights(dir / "src.onnx", {{"conv.weight", {{4, 2, 3, 3}, std::vector<float>(72, 0.75f)}}},
                          dir / "out.onnx");
  CHECK(onnx_checker(dir / "out.onnx"));
}

TEST_CASE("onnx export: float16 weights stay float16, rounded to nearest") {
  OnnxGraph g;
  g.input("x", {1, 1, 2, 2});
  auto& h = *g.graph->add_initializer();
  h.set_name("w");
  h.set_data_type(onnx::TensorProto::FLOAT16);
  for (auto d : {2, 1, 1, 1}) h.add_dims(d);
  h.set_raw_data(std::string("\0\0\0\0", 4));
  g.node("Conv", {"x", "w"}, {"y"}, "conv");
  g.output("y");
  dkm::test::TempDir dir;
  g.save(dir / "h.onnx");
  // 1 + 2^-11 is halfway between 1 and the next half (1 + 2^-10): ties to even gives 1.
  write_onnx_with_weights(dir / "h.onnx", {{"conv.weight", {{2, 1, 1, 1}, {1.00048828125f, -3.0f}}}}, dir / "o.onnx");
  Model m = load_onnx(dir / "o.onnx", {});
  CHECK(m.weights.at("conv.weight").values == std::vector<float>{1.0f, -3.0f});
}

TEST_CASE("onnx export: unknown names and wrong shapes are errors and leave no file") {
  dkm::test::TempDir dir;
  exportable().save(dir / "src.onnx");
  CHECK_THROWS_WITH_AS(write_onnx_with_weights(dir / "src.onnx", {{"nope.weight", {{1}, {0}}}}, dir / "out.onnx"),
                       doctest::Contains("tensor 'nope.weight': expected the name of a conv or linear weight"),
                       dkm::InputError);
  CHECK_THROWS_WITH_AS(
      write_onnx_with_weights(dir / "src.onnx", {{"conv.weight", {{4, 2, 9}, std::vector<float>(72)}}}, dir / "out.onnx"),
      doctest::Contains("tensor 'conv.weight': expected replacement values of shape [4,2,3,3], got [4,2,9]"),
      dkm::InputError);
  CHECK_FALSE(std::filesystem::exists(dir / "out.onnx"));
}
#endif

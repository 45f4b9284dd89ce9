// ONNX import on small graphs the tests write with the onnx library: shapes, counts and weights worked out
// by hand, every weight encoding, layouts, folding, and the failure paths.
#include <doctest/doctest.h>

#include "models/onnx.hpp"
#include "tests/support.hpp"

#ifdef DKM_HAVE_ONNX
#include <cstring>

#include "tests/models/test_onnx_graph.hpp"

using namespace dkm::models;
using dkm::test::OnnxGraph;
using dkm::test::ramp;

namespace {

// Loads `g` from a temporary file.
Model load(const OnnxGraph& g, const OnnxOptions& options = {}) {
  dkm::test::TempDir dir;
  g.save(dir / "m.onnx");
  return load_onnx(dir / "m.onnx", options);
}

std::string error_of(const OnnxGraph& g, const OnnxOptions& options = {}) {
  try {
    load(g, options);
  } catch (const dkm::InputError& e) {
    return e.what();
  }
  return "no error";
}

// conv 4@3x3 -> relu -> maxpool 2 -> flatten -> gemm 10, on a 1x1x8x8 input.
OnnxGraph small_cnn(bool raw = true) {
  OnnxGraph g;
  g.input("x", {1, 1, 8, 8});
  g.init("w1", {4, 1, 3, 3}, ramp(36), raw);
  g.init("b1", {4}, {0.1f, 0.2f, 0.3f, 0.4f}, raw);
  g.init("w2", {10, 36}, ramp(360), raw);
  g.init("b2", {10}, ramp(10), raw);
  g.node("Conv", {"x", "w1", "b1"}, {"c1"}, "conv1");
  g.node("Relu", {"c1"}, {"r1"}, "relu1");
  auto& p = g.node("MaxPool", {"r1"}, {"p1"}, "pool1");
  OnnxGraph::ints(p, "kernel_shape", {2, 2});
  OnnxGraph::ints(p, "strides", {2, 2});
  g.node("Flatten", {"p1"}, {"f"}, "flat");
  auto& fc = g.node("Gemm", {"f", "w2", "b2"}, {"y"}, "fc");
  OnnxGraph::integer(fc, "transB", 1);
  g.output("y");
  return g;
}

}  // namespace

TEST_CASE("onnx: a small CNN imports with hand-computed shapes, counts and weights") {
  for (bool raw : {true, false}) {
    Model m = load(small_cnn(raw));
    CHECK(m.input == Shape{1, 8, 8});
    REQUIRE(m.layers.size() == 5);
    const Layer* conv = m.find("conv1");
    REQUIRE(conv);
    CHECK(conv->output_shape == Shape{4, 6, 6});
    CHECK(conv->weight_count == 36);
    CHECK(conv->bias_count == 4);
    CHECK(conv->macs == 4 * 6 * 6 * 9);
    CHECK(m.find("pool1")->output_shape == Shape{4, 3, 3});
    CHECK(m.find("flat")->output_shape == Shape{36, 1, 1});
    CHECK(m.find("fc")->macs == 360);
    CHECK(m.total_macs() == 1296 + 360);
    CHECK(m.total_params() == 40 + 370);
    CHECK(m.weights.at("conv1.weight").shape == std::vector<int64_t>{4, 1, 3, 3});
    CHECK(m.weights.at("conv1.weight").values == ramp(36));
    CHECK(m.weights.at("conv1.bias").values == std::vector<float>{0.1f, 0.2f, 0.3f, 0.4f});
    CHECK(m.weights.at("fc.weight").shape == std::vector<int64_t>{10, 36});
    CHECK(m.weights.at("fc.weight").values == ramp(360));
  }
}

TEST_CASE("onnx: grouped, depthwise and dilated convolutions with asymmetric and automatic padding") {
  for (const char* mode : {"SAME_UPPER", "SAME_LOWER", "VALID"}) {
    OnnxGraph g;
    g.input("x", {1, 4, 7, 7});
    g.init("dw", {4, 1, 2, 2}, ramp(16));
    g.init("gw", {8, 2, 3, 3}, ramp(144));
    auto& dw = g.node("Conv", {"x", "dw"}, {"a"}, "dw");
    OnnxGraph::integer(dw, "group", 4);
    OnnxGraph::ints(dw, "strides", {2, 2});
    OnnxGraph::text(dw, "auto_pad", mode);
    auto& gc = g.node("Conv", {"a", "gw"}, {"b"}, "grouped");
    OnnxGraph::integer(gc, "group", 2);
    OnnxGraph::ints(gc, "dilations", {2, 2});
    OnnxGraph::ints(gc, "pads", {1, 2, 2, 1});
    g.output("b");
    Model m = load(g);
    const Layer* d = m.find("dw");
    REQUIRE(d);
    // SAME: out = ceil(7 / 2) = 4, total padding (4 - 1) * 2 + 2 - 7 = 1 at the end (UPPER) or start (LOWER).
    std::string how = mode;
    int64_t out = how == "VALID" ? 3 : 4;
    CHECK(d->output_shape == Shape{4, out, out});
    if (how == "SAME_UPPER") CHECK(d->pads == Pads{0, 0, 1, 1});
    if (how == "SAME_LOWER") CHECK(d->pads == Pads{1, 1, 0, 0});
    if (how == "VALID") CHECK(d->pads == Pads{});
    CHECK(d->groups == 4);
    CHECK(d->weight_count == 16);
    CHECK(d->macs == 4 * out * out * 4);
    const Layer* gr = m.find("grouped");
    REQUIRE(gr);
    CHECK(gr->pads == Pads{1, 2, 2, 1});
    CHECK(gr->dilation_h == 2);
    // Effective kernel 5: height out + 1 + 2 - 5 + 1, width out + 2 + 1 - 5 + 1.
    CHECK(gr->output_shape == Shape{8, out - 1, out - 1});
    CHECK(gr->macs == 8 * (out - 1) * (out - 1) * 2 * 9);
  }
}

TEST_CASE("onnx: automatic padding on a very wide input imports at once, the shapes after it from ONNX's inference") {
  // ONNX's own Conv/pool rule finds the SAME padding by subtracting the stride input-size / stride times (a
  // 2^37-step loop here; fuzz_onnx found the hang): dkm sizes such a node itself and infers on from its output.
  const int64_t wide = int64_t{1} << 38;
  OnnxGraph g;
  g.input("x", {1, 1, 2, wide});
  auto& p = g.node("MaxPool", {"x"}, {"p"}, "pool");
  OnnxGraph::ints(p, "kernel_shape", {2, 2});
  OnnxGraph::ints(p, "strides", {2, 2});
  OnnxGraph::text(p, "auto_pad", "SAME_UPPER");
  g.node("Relu", {"p"}, {"r"}, "relu");
  g.output("r");
  const Model m = load(g);
  const Layer* pool = m.find("pool");
  REQUIRE(pool);
  CHECK(pool->output_shape == Shape{1, 1, wide / 2});
  const Layer* relu = m.find("relu");
  REQUIRE(relu);
  CHECK(relu->output_shape == Shape{1, 1, wide / 2});
}

TEST_CASE("onnx: a scalar activation reshaped to rank 3 is data movement (it once read the scalar's missing batch axis)") {
  OnnxGraph g;
  g.input("x", {1, 4, 8, 8});
  auto& mean = g.node("ReduceMean", {"x"}, {"y"}, "mean");
  OnnxGraph::integer(mean, "keepdims", 0);
  g.init_ints("s", {1, 1, 1});
  g.node("Reshape", {"y", "s"}, {"r"}, "reshape");
  g.output("r");
  const Model m = load(g);
  const Layer* r = m.find("reshape");
  REQUIRE(r);
  CHECK(r->macs == 0);
}

TEST_CASE("onnx: an NHWC input behind a Transpose, and symbolic dimensions need --input-shape") {
  OnnxGraph g;
  g.input("x", {0, 0, 0, 3});
  g.init("w", {2, 3, 1, 1}, ramp(6));
  auto& t = g.node("Transpose", {"x"}, {"t"});
  OnnxGraph::ints(t, "perm", {0, 3, 1, 2});
  g.node("Conv", {"t", "w"}, {"y"}, "conv");
  g.output("y");
  std::string e = error_of(g);
  CHECK(e.find("input 'x'") != std::string::npos);
  CHECK(e.find("[N,N,N,3]") != std::string::npos);
  CHECK(e.find("--input-shape") != std::string::npos);
  CHECK(error_of(g, {{1, 16, 16, 4}}).find("disagrees with the fixed dimension 3 = 3") != std::string::npos);
  CHECK(error_of(g, {{1, 16, 16}}).find("--input-shape has 3 dimensions, the input has 4") != std::string::npos);
  Model m = load(g, {{2, 16, 12, 3}});
  CHECK(m.input == Shape{3, 16, 12});
  CHECK(m.batch == 2);
  CHECK(m.find("conv")->output_shape == Shape{2, 16, 12});
  CHECK(m.find("conv")->macs == 2 * 16 * 12 * 3);
}

TEST_CASE("onnx: weights as float16 and double, in raw_data, typed fields and Constant nodes") {
  // 2^-24 is the smallest float16 subnormal; 65504 the largest finite value.
  const std::vector<float> exact = {0.5f, -2.0f, 0.25f, 65504.0f, 5.9604645e-08f, 6.1035156e-05f, -0.0f, 3.0f};
  const std::vector<uint16_t> halves = {0x3800, 0xc000, 0x3400, 0x7bff, 0x0001, 0x0400, 0x8000, 0x4200};
  OnnxGraph g;
  g.input("x", {1, 2, 4, 4});
  auto& h = *g.graph->add_initializer();
  h.set_name("w16");
  h.set_data_type(onnx::TensorProto::FLOAT16);
  for (auto d : {4, 2, 1, 1}) h.add_dims(d);
  h.set_raw_data(std::string(reinterpret_cast<const char*>(halves.data()), halves.size() * 2));
  auto& h2 = *g.graph->add_initializer();  // the same values in int32_data
  h2.CopyFrom(h);
  h2.set_name("w16typed");
  h2.clear_raw_data();
  for (auto v : halves) h2.add_int32_data(v);
  auto& d = *g.graph->add_initializer();
  d.set_name("w64");
  d.set_data_type(onnx::TensorProto::DOUBLE);
  for (auto k : {4, 4, 1, 1}) d.add_dims(k);
  for (int k = 0; k < 16; ++k) d.add_double_data(0.125 * k);
  auto& c = g.node("Constant", {}, {"wc"});
  auto* value = c.add_attribute();
  value->set_name("value");
  value->set_type(onnx::AttributeProto::TENSOR);
  OnnxGraph::fill(*value->mutable_t(), "wc", {4, 4, 1, 1}, ramp(16));
  g.node("Conv", {"x", "w16"}, {"a"}, "half");
  g.node("Conv", {"a", "w64"}, {"b"}, "double");
  g.node("Conv", {"b", "wc"}, {"c"}, "constant");
  g.node("Conv", {"x", "w16typed"}, {"d"}, "half_typed");
  g.output("c");
  g.output("d");
  Model m = load(g);
  CHECK(m.weights.at("half.weight").values == exact);
  CHECK(m.weights.at("half_typed.weight").values == exact);
  std::vector<float> eighths(16);
  for (int k = 0; k < 16; ++k) eighths[k] = 0.125f * static_cast<float>(k);
  CHECK(m.weights.at("double.weight").values == eighths);
  CHECK(m.weights.at("constant.weight").values == ramp(16));
  CHECK(m.find("constant")->output_shape == Shape{4, 4, 4});
}

TEST_CASE("onnx: batch norm, residual add, concat, global pool, activations, resize and MatMul + Add bias") {
  OnnxGraph g(13);
  g.input("x", {1, 3, 8, 8});
  g.init("w", {6, 3, 3, 3}, ramp(162));
  for (const char* n : {"s", "b", "mean", "var"}) g.init(n, {6}, {1, 1, 1, 1, 1, 1});
  g.init("lo", {}, {0.0f});
  g.init("hi", {}, {6.0f});
  g.init("scales", {4}, {1, 1, 2, 2});
  g.init("mm", {12, 5}, ramp(60));
  g.init("bias", {5}, {1, 2, 3, 4, 5});
  auto& conv = g.node("Conv", {"x", "w"}, {"c"}, "conv");
  OnnxGraph::ints(conv, "pads", {1, 1, 1, 1});
  g.node("BatchNormalization", {"c", "s", "b", "mean", "var"}, {"bn"}, "bn");
  g.node("Clip", {"bn", "lo", "hi"}, {"r6"}, "relu6");
  g.node("HardSigmoid", {"r6"}, {"hs"}, "gate");
  g.node("Mul", {"r6", "hs"}, {"hsw"}, "mul");
  g.node("Add", {"hsw", "bn"}, {"sum"}, "residual");
  auto& cat = g.node("Concat", {"sum", "r6"}, {"cat"}, "cat");
  OnnxGraph::integer(cat, "axis", 1);
  g.node("Resize", {"cat", "", "scales"}, {"up"}, "up");
  g.node("GlobalAveragePool", {"up"}, {"gap"}, "gap");
  g.node("Flatten", {"gap"}, {"f"}, "flat");
  g.node("MatMul", {"f", "mm"}, {"mmo"}, "fc");
  g.node("Add", {"mmo", "bias"}, {"y"}, "fc_bias");
  g.node("Identity", {"y"}, {"out"}, "id");
  g.output("out");
  Model m = load(g);
  CHECK(m.find("bn")->bn_params == 12);
  CHECK(m.find("relu6")->activation == "relu6");
  CHECK(m.find("gate")->activation == "hardswish");  // HardSigmoid * x fused
  CHECK(m.find("mul") == nullptr);
  CHECK(m.find("residual")->kind == LayerKind::add);
  CHECK(m.find("residual")->inputs == std::vector<std::string>{"gate", "bn"});
  CHECK(m.find("cat")->output_shape == Shape{12, 8, 8});
  CHECK(m.find("up")->scale == 2);
  CHECK(m.find("up")->output_shape == Shape{12, 16, 16});
  CHECK(m.find("gap")->output_shape == Shape{12, 1, 1});
  const Layer* fc = m.find("fc");
  REQUIRE(fc);
  CHECK(fc->bias);
  CHECK(fc->macs == 60);
  CHECK(fc->params() == 65);
  // MatMul stores (in, out); dkm keeps (out, in).
  const auto& w = m.weights.at("fc.weight");
  CHECK(w.shape == std::vector<int64_t>{5, 12});
  CHECK(w.values[1 * 12 + 7] == ramp(60)[7 * 5 + 1]);
  CHECK(m.weights.at("fc.bias").values == std::vector<float>{1, 2, 3, 4, 5});
  CHECK(m.description.find("Identity x1") != std::string::npos);
}

#else
TEST_CASE("onnx: import not built") {
  MESSAGE("skipped: ONNX support not built (install libonnx-dev and libprotobuf-dev, re-run cmake)");
  CHECK_THROWS_AS(dkm::models::load_onnx("x.onnx"), dkm::InputError);
}
#endif

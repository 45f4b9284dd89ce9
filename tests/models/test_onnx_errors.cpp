// ONNX import: Pad folding, TensorFlow-style channel padding, and every way a file can be bad.
#include <doctest/doctest.h>

#include "models/onnx.hpp"
#include "tests/support.hpp"

#ifdef DKM_HAVE_ONNX
#include <fstream>

#include <fmt/core.h>
#include <fmt/ranges.h>

#include "tests/models/test_onnx_graph.hpp"

using namespace dkm::models;
using dkm::test::OnnxGraph;
using dkm::test::ramp;

namespace {

Model load(const OnnxGraph& g) { return dkm::test::load_graph(g); }
std::string error_of_bytes(const std::string& bytes) { return dkm::test::bytes_error(bytes); }
std::string error_of(const OnnxGraph& g) { return dkm::test::graph_error(g); }

OnnxGraph one_conv() {
  OnnxGraph g;
  g.input("x", {1, 2, 6, 6});
  g.init("w", {3, 2, 3, 3}, ramp(54));
  g.node("Conv", {"x", "w"}, {"y"}, "conv");
  g.output("y");
  return g;
}

}  // namespace

TEST_CASE("onnx: a zero Pad folds into the next convolution, in both opset styles") {
  for (int64_t opset : {9, 13}) {
    OnnxGraph g(opset);
    g.input("x", {1, 2, 6, 6});
    g.init("w", {3, 2, 3, 3}, ramp(54));
    std::vector<int64_t> pads = {0, 0, 1, 0, 0, 0, 2, 1};  // top 1, left 0, bottom 2, right 1
    if (opset >= 11) g.init_ints("pads", pads);
    auto& p = g.node("Pad", opset >= 11 ? std::vector<std::string>{"x", "pads"} : std::vector<std::string>{"x"}, {"p"});
    if (opset < 11) OnnxGraph::ints(p, "pads", pads);
    auto& c = g.node("Conv", {"p", "w"}, {"y"}, "conv");
    OnnxGraph::ints(c, "pads", {1, 1, 1, 1});
    g.output("y");
    Model m = load(g);
    CHECK(m.layers.size() == 1);
    CHECK(m.layers[0].pads == Pads{2, 1, 3, 2});
    CHECK(m.layers[0].output_shape == Shape{3, 6 + 5 - 2, 6 + 3 - 2});
  }
}

TEST_CASE("onnx: a skip connection zero-padded on channels (ConstantOfShape + Concat) keeps the skip edge") {
  OnnxGraph g;
  g.input("x", {1, 2, 4, 4});
  g.init("w", {3, 2, 1, 1}, ramp(6));
  g.init_ints("zshape", {1, 1, 4, 4});
  g.node("ConstantOfShape", {"zshape"}, {"zeros"});
  auto& cat = g.node("Concat", {"x", "zeros"}, {"padded"});
  OnnxGraph::integer(cat, "axis", 1);
  g.node("Conv", {"x", "w"}, {"c"}, "conv");
  g.node("Add", {"c", "padded"}, {"sum"}, "add");
  g.node("Relu", {"sum"}, {"y"}, "relu");
  g.output("y");
  Model m = load(g);
  REQUIRE(m.layers.size() == 3);
  const Layer& add = m.layers[1];
  CHECK(add.kind == LayerKind::add);
  CHECK(add.pad_channels);
  CHECK(add.inputs == std::vector<std::string>{"conv", "input"});
  CHECK(add.input_shapes[1] == Shape{2, 4, 4});  // the skip read at its own width
  CHECK(add.output_shape == Shape{3, 4, 4});
  CHECK(m.layers[2].output_shape == Shape{3, 4, 4});
}

TEST_CASE("onnx: unsupported operators and non-constant weights are named") {
  OnnxGraph g = one_conv();
  g.node("LSTM", {"y", "w"}, {"z"}, "mystery");
  CHECK(error_of(g) == "m.onnx: node 1 'mystery' (LSTM): unsupported operator LSTM: dkm does not model its "
                       "arithmetic; the nearest supported alternative is MatMul per time step (an unrolled graph) "
                       "(docs/onnx.md)");

  // An operator whose output shape ONNX's inference cannot give (it depends on the values).
  OnnxGraph dynamic = one_conv();
  dynamic.node("NonZero", {"y"}, {"z"}, "where");
  CHECK(error_of(dynamic) == "m.onnx: node 1 'where' (NonZero): unsupported operator NonZero: ONNX shape inference "
                             "gives no fixed shape for its output 'z', so dkm cannot carry it; the nearest supported "
                             "alternative is the same computation with static shapes (docs/onnx.md)");

  OnnxGraph two_inputs;
  two_inputs.input("x", {1, 2, 6, 6});
  two_inputs.input("w", {3, 2, 3, 3});
  two_inputs.node("Conv", {"x", "w"}, {"y"}, "conv");
  CHECK(error_of(two_inputs) ==
        "m.onnx: graph.input: expected exactly one non-constant input (dkm models have one), got 2: [x, w]");

  OnnxGraph mul;
  mul.input("x", {1, 2, 6, 6});
  mul.init("w", {3, 2, 3, 3}, ramp(54));
  mul.node("Conv", {"x", "w"}, {"y"}, "conv");
  mul.init("k", {1}, {0.5f});
  mul.node("Mul", {"y", "k"}, {"z"}, "scale");
  mul.output("z");
  // A learned scalar scale right after a conv is folded into its weights; the constant stays a parameter.
  CHECK(error_of(mul) == "no error");
  Model scaled = load(mul);
  CHECK(scaled.find("scale") == nullptr);
  CHECK(scaled.find("conv")->const_params == 1);
  CHECK(scaled.total_params() == 54 + 1);
  CHECK(scaled.weights.at("conv.weight").values[5] == 0.5f * ramp(54)[5]);
  CHECK(scaled.description.find("Mul by a constant folded into the preceding layer's weights x1") != std::string::npos);

  // Read by a second consumer (here the graph output), the conv output is needed unscaled: the Mul stays an
  // elementwise layer.
  OnnxGraph shared = one_conv();
  shared.init("k", {1}, {0.5f});
  shared.node("Mul", {"y", "k"}, {"z"}, "scale");
  shared.node("Relu", {"y"}, {"r"}, "relu");
  Model kept = load(shared);
  CHECK(kept.find("scale")->kind == LayerKind::elementwise);
  CHECK(kept.find("scale")->const_params == 1);
  CHECK(kept.find("conv")->const_params == 0);

  OnnxGraph clip = one_conv();
  auto& c = clip.node("Clip", {"y"}, {"z"}, "clip");
  OnnxGraph::real(c, "min", -1.0f);
  CHECK(load(clip).find("clip")->op == "clip");  // any other range is an elementwise clip

  OnnxGraph order;
  order.input("x", {1, 2, 6, 6});
  order.init("w", {3, 2, 3, 3}, ramp(54));
  order.node("Relu", {"later"}, {"y"}, "early");
  order.node("Conv", {"x", "w"}, {"later"}, "conv");
  CHECK(error_of(order) == "m.onnx: node 0 'early' (Relu): expected input 0 ('later') to be produced by an earlier "
                           "node (nodes must be in topological order)");

  OnnxGraph bad_group = one_conv();
  OnnxGraph::integer(*bad_group.graph->mutable_node(0), "group", 2);
  CHECK(error_of(bad_group) == "m.onnx: node 0 'conv' (Conv): expected attribute group dividing the input channels (2) "
                               "and the weight's output channels (3), with weight input channels x group = input "
                               "channels, got group 2 and weight input channels 2");
}

TEST_CASE("onnx: a Concat of a scalar activation has no axis to join on (it once indexed the empty dims)") {
  OnnxGraph g;
  g.input("x", {1, 2, 6, 6});
  auto& mean = g.node("ReduceMean", {"x"}, {"m"}, "mean");
  OnnxGraph::integer(mean, "keepdims", 0);
  auto& cat = g.node("Concat", {"m"}, {"y"}, "cat");
  OnnxGraph::integer(cat, "axis", -1);
  g.output("y");
  CHECK(error_of(g) == "m.onnx: node 1 'cat' (Concat): expected a Concat axis within the rank of [], got -1");
}

TEST_CASE("onnx: shape arithmetic on an empty integer tensor is left to ONNX's inference (it once read a value of it)") {
  // The Shape of a scalar is an empty vector; adding a one-element constant broadcasts to empty. Both dkm's
  // constant folder and ONNX's data propagation once indexed the empty operand (fuzz_onnx).
  OnnxGraph g;
  g.input("x", {1, 2, 6, 6});
  auto& mean = g.node("ReduceMean", {"x"}, {"m"}, "mean");
  OnnxGraph::integer(mean, "keepdims", 0);
  g.node("Shape", {"m"}, {"s"}, "shape");
  g.init_ints("one", {1});
  g.init_ints("empty", {});
  g.node("Add", {"s", "one"}, {"t"}, "add");
  g.node("Add", {"empty", "one"}, {"u"}, "add_empty");
  g.node("Reshape", {"x", "t"}, {"y"}, "reshape");
  g.output("y");
  CHECK(error_of(g).find("m.onnx: node 4 'reshape' (Reshape): unsupported operator Reshape: ONNX shape inference gives "
                         "no fixed shape for its output 'y'") == 0);
}

TEST_CASE("onnx: an attribute given twice in a node is refused before ONNX's inference reads either copy") {
  OnnxGraph g = one_conv();
  auto& conv = *g.graph->mutable_node(0);
  auto* zero = conv.add_attribute();  // a typed-INT copy with no ints: ONNX's Conv rule divided by 0
  zero->set_name("strides");
  zero->set_type(onnx::AttributeProto::INT);
  zero->set_i(0);
  OnnxGraph::ints(conv, "strides", {1, 1});
  CHECK(error_of(g) == "m.onnx: node 0 'conv' (Conv): expected each attribute once, got 'strides' more than once");
}

TEST_CASE("onnx: truncated, garbage, empty and inconsistent files") {
  std::string good = one_conv().bytes();
  std::string cut = error_of_bytes(good.substr(0, good.size() - 20));
  CHECK(cut.rfind("m.onnx: byte ", 0) == 0);
  CHECK(cut.find("the file is truncated or not an ONNX model") != std::string::npos);
  CHECK(error_of_bytes("\xff\xff\xff\xff garbage").find("the file is truncated or not an ONNX model") !=
        std::string::npos);
  CHECK(error_of_bytes("") == "m.onnx: graph: expected an ONNX model with a graph of at least one node (0 bytes "
                              "parsed as a ModelProto without one: not an ONNX model?)");

  OnnxGraph short_raw = one_conv();
  short_raw.graph->mutable_initializer(0)->mutable_raw_data()->resize(100);
  CHECK(error_of(short_raw) == "m.onnx: tensor 'w': expected 216 bytes of raw_data (54 elements of 4 bytes), got 100");

  OnnxGraph external = one_conv();
  external.graph->mutable_initializer(0)->set_data_location(onnx::TensorProto::EXTERNAL);
  CHECK(error_of(external) == "m.onnx: tensor 'w': expected tensor data inside the file, got external data (not "
                              "supported)");

  OnnxGraph wrong_kernel = one_conv();
  OnnxGraph::ints(*wrong_kernel.graph->mutable_node(0), "kernel_shape", {5, 5});
  CHECK(error_of(wrong_kernel) == "m.onnx: node 0 'conv' (Conv): expected kernel_shape [3,3] as the weight says, "
                                  "got [5,5]");

  // No kernel_shape and a weight of rank 1: ONNX's own Conv rule would index an empty kernel (fuzz_onnx,
  // a SIGSEGV in libonnx); the import refuses the weight instead.
  for (const std::vector<int64_t>& dims : {std::vector<int64_t>{54}, std::vector<int64_t>{6, 9}}) {
    OnnxGraph flat_weight;
    flat_weight.input("x", {1, 2, 6, 6});
    flat_weight.init("w", dims, ramp(54));
    flat_weight.node("Conv", {"x", "w"}, {"y"}, "conv");
    flat_weight.output("y");
    CHECK(error_of(flat_weight) == fmt::format("m.onnx: node 0 'conv' (Conv): expected a float weight of rank 4 (O, "
                                               "I/group, kH, kW), none of them 0, got [{}]", fmt::join(dims, ",")));
  }

  OnnxGraph too_big = one_conv();
  OnnxGraph::ints(*too_big.graph->mutable_node(0), "strides", {1, 1});
  too_big.graph->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(2)->set_dim_value(2);
  CHECK(error_of(too_big).find("m.onnx: node 0 'conv' (Conv).kernel: expected a kernel height no larger than the "
                               "padded input height") == 0);

  CHECK_THROWS_WITH_AS(load_onnx("/nonexistent/m.onnx", {}), doctest::Contains("/nonexistent/m.onnx"), dkm::InputError);
}
#endif

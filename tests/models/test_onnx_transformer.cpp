// ONNX import of transformer and mobile-network operators: tokens, attention, layernorm, squeeze-and-
// excitation gates, hard-swish written out, learned constants; every count computed by hand.
#include <doctest/doctest.h>

#include "estimator/estimate.hpp"
#include "models/onnx.hpp"
#include "tests/support.hpp"

#ifdef DKM_HAVE_ONNX
#include "tests/models/test_onnx_graph.hpp"

using namespace dkm::models;
using dkm::test::OnnxGraph;
using dkm::test::ramp;

namespace {

Model load(const OnnxGraph& g) { return dkm::test::load_graph(g); }
std::string error_of(const OnnxGraph& g) { return dkm::test::graph_error(g); }

// A scalar Constant node (not an initializer, so not a parameter), as PyTorch writes literals.
void scalar(OnnxGraph& g, const std::string& name, float value) {
  auto& n = g.node("Constant", {}, {name});
  auto* a = n.add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  OnnxGraph::fill(*a->mutable_t(), "", {}, {value});
}

const Layer& only(const Model& m, LayerKind kind) {
  const Layer* found = nullptr;
  for (const auto& l : m.layers)
    if (l.kind == kind) {
      REQUIRE(found == nullptr);
      found = &l;
    }
  REQUIRE(found != nullptr);
  return *found;
}

// Patch embedding, layernorm, two projections, Q K^T, softmax, the product with V (= Q here), a position
// embedding, mean over tokens and a head: a ViT in miniature (4 tokens of 6 features).
OnnxGraph tiny_vit() {
  OnnxGraph g(17);
  g.input("x", {1, 3, 8, 8});
  g.init("wp", {6, 3, 4, 4}, ramp(288));
  g.init_ints("tokens", {1, 6, 4});
  g.init("ln_s", {6}, ramp(6));
  g.init("ln_b", {6}, ramp(6));
  g.init("wq", {6, 6}, ramp(36));
  g.init("wk", {6, 6}, ramp(36));
  g.init("pos", {1, 4, 6}, ramp(24));
  g.init("wh", {3, 6}, ramp(18));
  OnnxGraph::ints(g.node("Conv", {"x", "wp"}, {"p"}, "patch"), "strides", {4, 4});
  g.node("Reshape", {"p", "tokens"}, {"r"}, "flat");
  OnnxGraph::ints(g.node("Transpose", {"r"}, {"t"}, "tr"), "perm", {0, 2, 1});
  g.node("LayerNormalization", {"t", "ln_s", "ln_b"}, {"n"}, "ln");
  g.node("MatMul", {"n", "wq"}, {"q"}, "q");
  g.node("MatMul", {"n", "wk"}, {"k"}, "k");
  OnnxGraph::ints(g.node("Transpose", {"k"}, {"kt"}, "kt"), "perm", {0, 2, 1});
  g.node("MatMul", {"q", "kt"}, {"s"}, "scores");
  OnnxGraph::integer(g.node("Softmax", {"s"}, {"a"}, "softmax"), "axis", -1);
  g.node("MatMul", {"a", "q"}, {"o"}, "attend");
  g.node("Add", {"o", "pos"}, {"e"}, "pos");
  auto& mean = g.node("ReduceMean", {"e"}, {"m"}, "mean");  // axes an attribute up to opset 17
  OnnxGraph::ints(mean, "axes", {1});
  OnnxGraph::integer(mean, "keepdims", 0);
  OnnxGraph::integer(g.node("Gemm", {"m", "wh"}, {"y"}, "head"), "transB", 1);
  g.output("y");
  return g;
}

}  // namespace

TEST_CASE("onnx: a miniature ViT: tokens, layernorm, per-token linear layers, attention matmuls, learned constants") {
  Model m = load(tiny_vit());
  // MACs: patch conv 6x2x2 outputs x 3x4x4; q and k 4 tokens x 6 x 6; Q K^T 4x4 outputs x 6; A V 4x6 x 4; head 3x6.
  CHECK(m.total_macs() == 6 * 4 * 48 + 2 * 4 * 36 + 16 * 6 + 24 * 4 + 18);
  // Parameters: conv 288, layernorm 12, q and k 36 each, the position embedding 24, the head 18.
  CHECK(m.total_params() == 288 + 12 + 72 + 24 + 18);
  const Layer& ln = only(m, LayerKind::layernorm);
  CHECK(ln.output_shape == Shape{6, 4, 1});  // 4 tokens of 6 features
  CHECK(ln.bn_params == 12);
  CHECK(m.find("q")->per_position);
  CHECK(m.find("q")->output_shape == Shape{6, 4, 1});
  CHECK(m.find("scores")->kind == LayerKind::matmul);
  CHECK(m.find("scores")->output_shape == Shape{4, 4, 1});
  CHECK(m.find("attend")->output_shape == Shape{6, 4, 1});
  const Layer& pos = *m.find("pos");
  CHECK(pos.kind == LayerKind::elementwise);
  CHECK(pos.op == "add");
  CHECK(pos.constant == Shape{6, 4, 1});
  CHECK(pos.const_params == 24);
  CHECK(m.find("mean")->kind == LayerKind::reduce);
  CHECK(m.find("mean")->output_shape == Shape{6, 1, 1});
  // Element operations: layernorm 4 per value, softmax 3, the add 1, the mean 1 per input value.
  CHECK(m.total_element_ops() == 4 * 24 + 3 * 16 + 24 + 24);

  // The estimator prices the attention products as dot products and the rest as element operations.
  auto e = dkm::estimator::estimate(m, dkm::estimator::load_profile("eyeriss-65nm"));
  CHECK(e.totals.macs == m.total_macs());
  CHECK(e.totals.element_ops == m.total_element_ops());
  CHECK(e.totals.elementwise_energy > 0);
  bool priced = false;
  for (const auto& le : e.layers)
    if (le.name == "scores") priced = le.problem.macs() == 96 && le.paper.total_energy() > 0;
  CHECK(priced);
}

TEST_CASE("onnx: a squeeze-and-excitation gate and hard-swish written as x * Clip(x + 3, 0, 6) / 6") {
  OnnxGraph g(13);
  g.input("x", {1, 4, 4, 4});
  g.init("w", {4, 4, 1, 1}, ramp(16));
  g.node("Conv", {"x", "w"}, {"c"}, "conv");
  g.node("GlobalAveragePool", {"c"}, {"gp"}, "squeeze");
  g.node("HardSigmoid", {"gp"}, {"gate"}, "gate");
  g.node("Mul", {"c", "gate"}, {"se"}, "excite");
  scalar(g, "three", 3.0f);
  scalar(g, "zero", 0.0f);
  scalar(g, "six", 6.0f);
  g.node("Add", {"se", "three"}, {"a"}, "plus3");
  g.node("Clip", {"a", "zero", "six"}, {"r"}, "clip");
  g.node("Mul", {"se", "r"}, {"hm"}, "times");
  g.node("Div", {"hm", "six"}, {"y"}, "div6");
  g.output("y");
  Model m = load(g);
  CHECK(m.total_params() == 16);  // literals are not parameters
  const Layer& excite = *m.find("excite");
  CHECK(excite.kind == LayerKind::elementwise);
  CHECK(excite.inputs.size() == 2);  // the 4x4x4 activation times the 4x1x1 gate, broadcast
  CHECK(excite.output_shape == Shape{4, 4, 4});
  CHECK(m.find("plus3")->constant == Shape{1, 1, 1});
  CHECK(m.find("clip")->activation == "relu6");
  CHECK(m.find("div6")->op == "div");
  // Pool 16 adds per channel, the gate 4, then four elementwise layers of 64 values.
  CHECK(m.total_element_ops() == 64 + 4 + 4 * 64 + 64);
}

TEST_CASE("onnx: an operator with arithmetic dkm does not model is one line with the nearest alternative") {
  OnnxGraph g(13);
  g.input("x", {1, 4});
  g.init("w", {4, 4}, ramp(16));
  auto& n = g.node("Einsum", {"x", "w"}, {"y"}, "attn");
  OnnxGraph::text(n, "equation", "bi,ij->bj");
  g.output("y");
  CHECK(error_of(g) == "m.onnx: node 0 'attn' (Einsum): unsupported operator Einsum: expected an Einsum of two "
                       "activations that is a batched matrix product, got equation 'bi,ij->bj' on 2 operand(s) with a "
                       "constant; the nearest supported alternative is MatMul (docs/onnx.md)");

  // A reduction over a letter that appears in one operand only is no matrix product either.
  OnnxGraph sum(13);
  sum.input("x", {1, 3, 4, 5});
  sum.node("Transpose", {"x"}, {"xt"}, "t");
  auto& s = sum.node("Einsum", {"x", "xt"}, {"y"}, "attn");
  OnnxGraph::text(s, "equation", "bhij,bjhi->bh");
  sum.output("y");
  CHECK(error_of(sum).find("got equation 'bhij,bjhi->bh' on [1,3,4,5] and [5,4,3,1]") != std::string::npos);
}

TEST_CASE("onnx: a batch norm of an N,C,H,W tensor reshaped from tokens reads it through a rearrange") {
  // Tokens [1, 16, 3] -> Reshape [1, 4, 4, 3] -> Transpose to [1, 3, 4, 4] (maxvit's MBConv after attention).
  OnnxGraph g(13);
  g.input("x", {1, 3, 4, 4});
  g.init_ints("tokens", {1, 16, 3});
  g.init_ints("grid", {1, 4, 4, 3});
  g.node("Reshape", {"x", "tokens"}, {"t"}, "to_tokens");
  g.node("Reshape", {"t", "grid"}, {"h"}, "to_grid");
  auto& tr = g.node("Transpose", {"h"}, {"c"}, "to_nchw");
  auto* perm = tr.add_attribute();
  perm->set_name("perm");
  perm->set_type(onnx::AttributeProto::INTS);
  for (int64_t p : {0, 3, 1, 2}) perm->add_ints(p);
  for (const char* name : {"s", "b", "m", "v"}) g.init(name, {3}, {1, 0.5f, 2});
  g.node("BatchNormalization", {"c", "s", "b", "m", "v"}, {"y"}, "bn");
  g.output("y");
  Model m = load(g);
  const Layer& bn = *m.find("bn");
  CHECK(bn.kind == LayerKind::batchnorm);
  CHECK(bn.output_shape == Shape{3, 4, 4});
  CHECK(m.find(bn.inputs[0])->kind == LayerKind::rearrange);
  CHECK(bn.bn_params == 6);
}

TEST_CASE("onnx: an Einsum that is a batched matrix product is a matmul (maxvit's attention)") {
  // q, k, v [1, 2, 3, 4, 8]: "bghid,bghjd->bghij" (Q K^T: k transposed first), then "bghij,bghjd->bghid".
  OnnxGraph g(13);
  g.input("x", {1, 6, 4, 8});
  g.init_ints("five", {1, 2, 3, 4, 8});
  g.node("Reshape", {"x", "five"}, {"x5"}, "split_heads");
  g.node("Relu", {"x5"}, {"q"}, "q");
  g.node("Sigmoid", {"x5"}, {"k"}, "k");
  auto& qk = g.node("Einsum", {"q", "k"}, {"s"}, "qk");
  OnnxGraph::text(qk, "equation", "bghid,bghjd->bghij");
  g.node("Softmax", {"s"}, {"p"}, "softmax");
  auto& pv = g.node("Einsum", {"p", "k"}, {"y"}, "pv");
  OnnxGraph::text(pv, "equation", "bghij,bghjd->bghid");
  g.output("y");
  Model m = load(g);
  const Layer& t = *m.find("qk.transpose_b");
  CHECK(t.kind == LayerKind::rearrange);
  CHECK(t.output_shape == Shape{4, 8, 6});  // k^T: [.., 8, 4]
  CHECK(m.find("qk")->kind == LayerKind::matmul);
  CHECK(m.find("qk")->output_shape == Shape{4, 4, 6});
  CHECK(m.find("qk")->macs == 6 * 4 * 4 * 8);
  CHECK(m.find("pv")->macs == 6 * 4 * 8 * 4);
  CHECK(m.find("pv.transpose_a") == nullptr);
  CHECK(m.find("pv")->output_shape == Shape{8, 4, 6});
}

TEST_CASE("onnx: the new layer kinds survive a spec round trip") {
  Model m = load(tiny_vit());
  Model again = parse_model(to_json_spec(m), "again.json");
  REQUIRE(again.layers.size() == m.layers.size());
  for (size_t i = 0; i < m.layers.size(); ++i) {
    CHECK(again.layers[i].output_shape == m.layers[i].output_shape);
    CHECK(again.layers[i].params() == m.layers[i].params());
    CHECK(again.layers[i].element_ops == m.layers[i].element_ops);
    CHECK(again.layers[i].macs == m.layers[i].macs);
  }
}

#endif

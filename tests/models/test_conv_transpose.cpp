// conv_transpose2d (docs/model-spec.md): shapes, parameters and MACs of the spec layer computed by hand,
// its errors, and ONNX ConvTranspose import with every attribute checked as strictly as Conv's.
#include <doctest/doctest.h>

#include <string>

#include "models/error.hpp"
#include "models/model.hpp"
#include "models/onnx.hpp"
#include "tests/support.hpp"

using namespace dkm::models;

namespace {

Model parse(const std::string& layer, const std::string& input) {
  return parse_model(R"({"format": "dkm-model/1", "name": "t", "input": )" + input + R"(, "layers": [)" + layer + "]}",
                     "t.json");
}

std::string error_of(const std::string& layer, const std::string& input = "[4, 5, 5]") {
  return dkm::test::input_error([&] { parse(layer, input); });
}

}  // namespace

TEST_CASE("conv_transpose2d: output size, parameters and scatter-form MACs") {
  // (5 - 1) x 2 - 1 - 1 + 1 x (3 - 1) + 1 + 1 = 10 per axis; weight C_in x M/g x 3 x 3 = 4 x 3 x 9.
  Model m = parse(R"({"name": "up", "type": "conv_transpose2d", "out_channels": 6, "kernel": 3, "stride": 2,
                      "padding": 1, "output_padding": 1, "groups": 2})",
                  "[4, 5, 5]");
  const Layer& l = m.layers[0];
  CHECK(l.kind == LayerKind::conv_transpose2d);
  CHECK(l.has_weights());
  CHECK(l.output_shape == Shape{6, 10, 10});
  CHECK(l.weight_count == 4 * 3 * 3 * 3);
  CHECK(l.bias_count == 6);
  CHECK(l.macs == 4 * 3 * 3 * 3 * 5 * 5);  // every input pixel meets its group's M/g filters, 3 x 3 taps each
  CHECK(l.element_ops == 0);

  // Dilation widens the kernel: (5 - 1) + 2 x (3 - 1) + 1 + 1 = 10 (an output padding of 1 below the dilation
  // 2, though not below the stride 1); asymmetric kernel and stride per axis.
  Model d = parse(R"({"name": "d", "type": "conv_transpose2d", "out_channels": 2, "kernel": [3, 2], "stride": [1, 3],
                      "dilation": [2, 1], "output_padding": [1, 2], "bias": false})",
                  "[1, 5, 4]");
  CHECK(d.layers[0].output_shape == Shape{2, 10, (4 - 1) * 3 + 1 + 2 + 1});
  CHECK(d.layers[0].params() == 1 * 2 * 3 * 2);
  CHECK(d.layers[0].macs == 1 * 2 * 3 * 2 * 5 * 4);
}

TEST_CASE("conv_transpose2d: \"same\" padding makes the output input x stride, the odd pixel at the end") {
  Model m = parse(R"({"name": "up", "type": "conv_transpose2d", "out_channels": 3, "kernel": 3, "stride": 2,
                      "padding": "same"})",
                  "[2, 5, 7]");
  const Layer& l = m.layers[0];
  CHECK(l.output_shape == Shape{3, 10, 14});
  CHECK(l.pads == Pads{0, 0, 1, 1});  // (5 - 1) x 2 + 3 = 11 -> 10: one row off, at the bottom
}

TEST_CASE("conv_transpose2d: a spec round trip keeps every setting") {
  Model m = parse(R"({"name": "up", "type": "conv_transpose2d", "out_channels": 6, "kernel": [3, 4], "stride": [2, 3],
                      "padding": [1, 0, 2, 1], "output_padding": [1, 0], "dilation": [1, 2], "groups": 2,
                      "bias": false})",
                  "[4, 5, 6]");
  Model back = parse_model(to_json_spec(m), "back.json");
  const Layer& a = m.layers[0];
  const Layer& b = back.layers[0];
  CHECK(b.kind == LayerKind::conv_transpose2d);
  CHECK(b.output_shape == a.output_shape);
  CHECK(b.pads == a.pads);
  CHECK(b.output_padding_h == 1);
  CHECK(b.output_padding_w == 0);
  CHECK(b.stride_w == 3);
  CHECK(b.dilation_w == 2);
  CHECK(b.groups == 2);
  CHECK(!b.bias);
  CHECK(b.macs == a.macs);
}

TEST_CASE("conv_transpose2d: bad settings name the key and what was expected") {
  CHECK(error_of(R"({"name": "u", "type": "conv_transpose2d", "out_channels": 6, "kernel": 3, "stride": 2,
                     "output_padding": 2})") ==
        "t.json: layers[0].output_padding: expected an output padding height below the stride (2) or the dilation (1), "
        "got 2");
  CHECK(error_of(R"({"name": "u", "type": "conv_transpose2d", "out_channels": 6, "kernel": 3, "groups": 3})") ==
        "t.json: layers[0].groups: expected groups dividing both the input channels (4) and out_channels (6), got 3");
  CHECK(error_of(R"({"name": "u", "type": "conv_transpose2d", "out_channels": 2, "kernel": 1, "padding": 1})",
                 "[1, 2, 2]") ==
        "t.json: layers[0].padding: expected padding height below the unpadded output height ((input 2 - 1) x stride 1 "
        "+ dilated kernel 1 + output padding 0 = 2), got 1 + 1");
  CHECK(error_of(R"({"name": "u", "type": "conv_transpose2d", "out_channels": 2, "kernel": 1, "stride": 2,
                     "padding": "same"})") ==
        "t.json: layers[0].padding: expected a dilated kernel height plus output padding of at least the stride for "
        "\"same\" padding (output = input x stride), got kernel 1 (dilated: 1), output padding 0, stride 2");
  CHECK(error_of(R"({"name": "u", "type": "conv_transpose2d", "out_channels": 2, "kernel": 3, "output_padding": -1})") ==
        "t.json: layers[0].output_padding: expected a non-negative output padding or [height, width], got -1");
  CHECK(error_of(R"({"name": "u", "type": "conv_transpose2d", "kernel": 3})") ==
        "t.json: layers[0]: expected the key \"out_channels\"");
  CHECK(error_of(R"({"name": "u", "type": "conv2d", "out_channels": 2, "kernel": 3, "output_padding": 1})").find(
            "t.json: layers[0].output_padding: unknown key for a conv2d layer") == 0);
}

#ifdef DKM_HAVE_ONNX
#include "tests/models/test_onnx_graph.hpp"

using dkm::test::OnnxGraph;
using dkm::test::ramp;

namespace {

// x [1, 4, 5, 5] -> ConvTranspose (weight [4, 3, 3, 3], group 2, bias [6]) with `attrs` set by the caller.
OnnxGraph up_graph(const std::function<void(onnx::NodeProto&)>& attrs, std::vector<int64_t> weight = {4, 3, 3, 3}) {
  OnnxGraph g;
  g.input("x", {1, 4, 5, 5});
  int64_t n = 1;
  for (int64_t d : weight) n *= d;
  g.init("w", weight, ramp(n));
  g.init("b", {6}, ramp(6));
  auto& up = g.node("ConvTranspose", {"x", "w", "b"}, {"y"}, "up");
  OnnxGraph::integer(up, "group", 2);
  attrs(up);
  g.output("y");
  return g;
}

std::string onnx_error(const std::function<void(onnx::NodeProto&)>& attrs, std::vector<int64_t> weight = {4, 3, 3, 3}) {
  return dkm::test::graph_error(up_graph(attrs, std::move(weight)));
}

}  // namespace

TEST_CASE("onnx: ConvTranspose with strides, pads, output_padding and group is a conv_transpose2d layer") {
  Model m = dkm::test::load_graph(up_graph([](onnx::NodeProto& n) {
    OnnxGraph::ints(n, "strides", {2, 2});
    OnnxGraph::ints(n, "pads", {1, 1, 1, 1});
    OnnxGraph::ints(n, "output_padding", {1, 1});
  }));
  REQUIRE(m.layers.size() == 1);
  const Layer& l = m.layers[0];
  CHECK(l.kind == LayerKind::conv_transpose2d);
  CHECK(l.output_shape == Shape{6, 10, 10});  // as ONNX's shape inference gives it (the import checks both agree)
  CHECK(l.groups == 2);
  CHECK(l.params() == 4 * 3 * 9 + 6);
  CHECK(l.macs == 4 * 3 * 9 * 25);
  // The weight stays in ONNX's layout [C_in, M/group, kH, kW], values unchanged.
  CHECK(m.weights.at("up.weight").shape == std::vector<int64_t>{4, 3, 3, 3});
  CHECK(m.weights.at("up.weight").values == ramp(108));
  CHECK(m.weights.at("up.bias").values == ramp(6));
}

TEST_CASE("onnx: ConvTranspose pads from auto_pad SAME_* and from output_shape") {
  Model upper = dkm::test::load_graph(up_graph([](onnx::NodeProto& n) {
    OnnxGraph::ints(n, "strides", {2, 2});
    OnnxGraph::text(n, "auto_pad", "SAME_UPPER");
  }));
  // (5 - 1) x 2 + 3 = 11 -> 10: ONNX's SAME_UPPER crops the odd pixel at the end.
  CHECK(upper.layers[0].output_shape == Shape{6, 10, 10});
  CHECK(upper.layers[0].pads == Pads{0, 0, 1, 1});
  Model lower = dkm::test::load_graph(up_graph([](onnx::NodeProto& n) {
    OnnxGraph::ints(n, "strides", {2, 2});
    OnnxGraph::text(n, "auto_pad", "SAME_LOWER");
  }));
  CHECK(lower.layers[0].pads == Pads{1, 1, 0, 0});
  Model shaped = dkm::test::load_graph(up_graph([](onnx::NodeProto& n) {
    OnnxGraph::ints(n, "strides", {2, 2});
    OnnxGraph::ints(n, "output_shape", {9, 11});
  }));
  CHECK(shaped.layers[0].output_shape == Shape{6, 9, 11});
  CHECK(shaped.layers[0].pads == Pads{1, 0, 1, 0});  // total 2 on the height, split begin-first (ONNX's NOTSET rule)
}

TEST_CASE("onnx: a bad ConvTranspose gets one line naming the node and the attribute") {
  const std::string at = "m.onnx: node 0 'up' (ConvTranspose): ";
  CHECK(onnx_error([](onnx::NodeProto& n) { OnnxGraph::ints(n, "strides", {0, 2}); }) ==
        at + "expected attribute strides to hold values from 1 to 2^32, got [0,2]");
  CHECK(onnx_error([](onnx::NodeProto& n) { OnnxGraph::ints(n, "strides", {2, 2, 2}); }) ==
        at + "expected attribute strides to hold 2 values from 1 to 2^32 (height, width), got [2,2,2]");
  CHECK(onnx_error([](onnx::NodeProto& n) { OnnxGraph::ints(n, "output_padding", {-1, 0}); }) ==
        at + "expected attribute output_padding to hold values from 0 to 2^32, got [-1,0]");
  CHECK(onnx_error([](onnx::NodeProto& n) {
          OnnxGraph::ints(n, "strides", {2, 2});
          OnnxGraph::ints(n, "output_padding", {2, 0});
        }) == at + "expected attribute output_padding below the stride or the dilation of each axis (strides [2,2], "
                   "dilations [1,1]), got [2,0]");
  CHECK(onnx_error([](onnx::NodeProto& n) { OnnxGraph::ints(n, "output_padding", {0}); }) ==
        at + "expected attribute output_padding to hold 2 values from 0 to 2^32 (height, width), got [0]");
  CHECK(onnx_error([](onnx::NodeProto& n) { OnnxGraph::ints(n, "output_shape", {20, 20}); }) ==
        at + "expected an output size of at most 7 on axis 2 (stride x (input - 1) + output_padding + dilated kernel), "
             "got 20");
  CHECK(onnx_error([](onnx::NodeProto& n) {
          OnnxGraph::ints(n, "output_shape", {7, 7});
          OnnxGraph::ints(n, "pads", {0, 0, 0, 0});
        }) == at + "expected either pads or output_shape, not both (ONNX ignores pads)");
  CHECK(onnx_error([](onnx::NodeProto& n) {
          for (auto& a : *n.mutable_attribute())
            if (a.name() == "group") a.set_i(3);
        }) ==
        at + "expected attribute group dividing the input channels (4) and a weight of 4 input channels, got group 3 "
             "and a weight of [4,3,3,3]");
  CHECK(onnx_error([](onnx::NodeProto&) {}, {2, 3, 3, 3}) ==
        at + "expected attribute group dividing the input channels (4) and a weight of 4 input channels, got group 2 "
             "and a weight of [2,3,3,3]");
  // Weights of another rank stay out of ONNX's own inference (its rule reads the weight's second dim).
  CHECK(onnx_error([](onnx::NodeProto&) {}, {16}) ==
        at + "expected a float weight of rank 4 (C_in, M/group, kH, kW), none of them 0, got [16]");
  CHECK(onnx_error([](onnx::NodeProto&) {}, {4, 3, 9}) ==
        at + "expected a float weight of rank 4 (C_in, M/group, kH, kW), none of them 0, got [4,3,9]");
  CHECK(onnx_error([](onnx::NodeProto& n) { OnnxGraph::ints(n, "kernel_shape", {3, 2}); }) ==
        at + "expected kernel_shape [3,3] as the weight says, got [3,2]");
  // A rank-3 activation (after a Reshape) with a rank-4 weight: the kernel_shape the import adds from the
  // weight makes ONNX's own rule stop at its rank check instead of indexing past the input's dims.
  OnnxGraph tokens;
  tokens.input("x", {1, 32});
  tokens.init_ints("s", {1, 8, 4});
  tokens.node("Reshape", {"x", "s"}, {"r"}, "reshape");
  tokens.init("w", {8, 1, 3, 3}, ramp(72));
  tokens.node("ConvTranspose", {"r", "w"}, {"y"}, "up");
  tokens.output("y");
  CHECK(dkm::test::graph_error(tokens) ==
        "m.onnx: node 1 'up' (ConvTranspose): expected a 2-D transposed convolution of an N,C,H,W input, got [1,8,4]");
  CHECK(onnx_error([](onnx::NodeProto& n) { OnnxGraph::text(n, "auto_pad", "SAME"); }) ==
        at + "expected auto_pad NOTSET, VALID, SAME_UPPER or SAME_LOWER, got SAME");
}
#endif

// The JSON model spec reader and shape inference, on small layers whose sizes are computed by hand.
#include <doctest/doctest.h>

#include <string>

#include "models/model.hpp"
#include "tests/support.hpp"

using namespace dkm::models;

namespace {

// A spec around `layers` (JSON array elements) with an input of `input` ([C, H, W]).
std::string spec(const std::string& layers, const std::string& input = "[3, 8, 8]") {
  return R"({"format": "dkm-model/1", "name": "t", "input": )" + input + R"(, "layers": [)" + layers + "]}";
}

Model parse(const std::string& layers, const std::string& input = "[3, 8, 8]") {
  return parse_model(spec(layers, input), "t.json");
}

// By value: callers bind it to parse(...) results, temporaries that die at the end of the statement.
Layer only(const Model& m) { return m.layers.back(); }

}  // namespace

TEST_CASE("spec: top-level fields, defaults and per-layer bit widths") {
  Model m = parse_model(R"({"format": "dkm-model/1", "name": "tiny", "description": "d", "input": [1, 4, 4],
      "batch": 8, "weight_bits": 8, "act_bits": 12,
      "layers": [{"name": "c", "type": "conv2d", "out_channels": 2, "kernel": 3, "weight_bits": 4},
                 {"name": "r", "type": "relu", "act_bits": 6}]})",
                        "tiny.json");
  CHECK(m.name == "tiny");
  CHECK(m.description == "d");
  CHECK(m.input == Shape{1, 4, 4});
  CHECK(m.batch == 8);
  CHECK(m.weight_bits == 8);
  CHECK(m.act_bits == 12);
  const Layer& c = m.layers[0];
  CHECK(c.inputs == std::vector<std::string>{"input"});
  CHECK(c.bias);  // conv2d and linear default to a bias, as in PyTorch
  CHECK(m.layer_weight_bits(c) == 4);
  CHECK(m.layer_act_bits(c) == 12);
  const Layer& r = m.layers[1];
  CHECK(r.kind == LayerKind::activation);
  CHECK(r.activation == "relu");
  CHECK(r.inputs == std::vector<std::string>{"c"});
  CHECK(m.layer_weight_bits(r) == 8);
  CHECK(m.layer_act_bits(r) == 6);
  CHECK(m.find("r") == &m.layers[1]);
  CHECK(m.find("nope") == nullptr);

  Model d = parse(R"({"name": "x", "type": "flatten"})");
  CHECK(d.batch == 1);
  CHECK(d.weight_bits == 16);
  CHECK(d.act_bits == 16);
}

TEST_CASE("shape: conv2d with asymmetric pads [top, left, bottom, right] and stride") {
  // H: 7 + 1 + 2 = 10, (10 - 3) / 2 + 1 = 4; W: 7 + 0 + 1 = 8, floor(5 / 2) + 1 = 3.
  Model m = parse(R"({"name": "c", "type": "conv2d", "out_channels": 4, "kernel": 3, "stride": 2,
                      "padding": [1, 0, 2, 1]})",
                  "[3, 7, 7]");
  const Layer& c = only(m);
  CHECK(c.pads == Pads{1, 0, 2, 1});
  CHECK(c.output_shape == Shape{4, 4, 3});
  CHECK(c.weight_count == 4 * 3 * 3 * 3);
  CHECK(c.bias_count == 4);
  CHECK(c.macs == 4 * 4 * 3 * 27);
  CHECK(m.total_params() == 112);
  CHECK(m.total_macs() == 1296);
}

TEST_CASE("shape: conv2d padding forms N, [v, h] and valid") {
  CHECK(only(parse(R"({"name": "c", "type": "conv2d", "out_channels": 1, "kernel": 3, "padding": 2})")).pads ==
        Pads{2, 2, 2, 2});
  const Layer& c = only(parse(R"({"name": "c", "type": "conv2d", "out_channels": 1, "kernel": [3, 1],
                                  "padding": [1, 0]})"));
  CHECK(c.pads == Pads{1, 0, 1, 0});
  CHECK(c.output_shape == Shape{1, 8, 8});
  CHECK(c.weight_count == 9);
  const Layer& v = only(parse(R"({"name": "c", "type": "conv2d", "out_channels": 1, "kernel": 3, "padding": "valid"})"));
  CHECK(v.output_shape == Shape{1, 6, 6});
}

TEST_CASE("shape: same padding with stride puts the odd pixel at the bottom/right") {
  // H 7, stride 2: out ceil(7/2) = 4, total pad (4-1)*2 + 3 - 7 = 2 -> 1 + 1.
  // W 8, stride 2: out 4, total pad 3*2 + 3 - 8 = 1 -> 0 + 1.
  const Layer& c = only(parse(R"({"name": "c", "type": "conv2d", "out_channels": 2, "kernel": 3, "stride": 2,
                                  "padding": "same"})",
                              "[1, 7, 8]"));
  CHECK(c.pads == Pads{1, 0, 1, 1});
  CHECK(c.output_shape == Shape{2, 4, 4});
  // Even kernel, stride 1: total 3 -> 1 before, 2 after.
  const Layer& e = only(parse(R"({"name": "c", "type": "conv2d", "out_channels": 1, "kernel": 4, "padding": "same"})",
                              "[1, 5, 5]"));
  CHECK(e.pads == Pads{1, 1, 2, 2});
  CHECK(e.output_shape == Shape{1, 5, 5});
  // Same max pooling (TensorFlow style): 5 -> ceil(5/2) = 3, total pad (3-1)*2 + 2 - 5 = 1.
  const Layer& p = only(parse(R"({"name": "p", "type": "maxpool", "kernel": 2, "padding": "same"})", "[1, 5, 5]"));
  CHECK(p.pads == Pads{0, 0, 1, 1});
  CHECK(p.output_shape == Shape{1, 3, 3});
}

TEST_CASE("shape: dilation widens the kernel") {
  // 3x3 dilated by 2 covers 5x5: 10 - 5 + 1 = 6.
  const Layer& c = only(parse(R"({"name": "c", "type": "conv2d", "out_channels": 2, "kernel": 3, "dilation": 2})",
                              "[1, 10, 10]"));
  CHECK(c.output_shape == Shape{2, 6, 6});
  CHECK(c.weight_count == 18);
  CHECK(c.macs == 2 * 36 * 9);
  const Layer& s = only(parse(R"({"name": "c", "type": "conv2d", "out_channels": 1, "kernel": 3, "dilation": [2, 1],
                                  "padding": "same"})",
                              "[1, 10, 10]"));
  CHECK(s.pads == Pads{2, 1, 2, 1});
  CHECK(s.output_shape == Shape{1, 10, 10});
}

TEST_CASE("shape: grouped and depthwise conv2d") {
  const Layer& dw = only(parse(R"({"name": "dw", "type": "conv2d", "out_channels": 32, "kernel": 3, "padding": 1,
                                   "groups": 32, "bias": false})",
                               "[32, 16, 16]"));
  CHECK(dw.output_shape == Shape{32, 16, 16});
  CHECK(dw.weight_count == 32 * 9);
  CHECK(dw.bias_count == 0);
  CHECK(dw.macs == 32 * 256 * 9);
  // Depth multiplier 2: each input channel feeds two filters.
  const Layer& dm = only(parse(R"({"name": "dw", "type": "conv2d", "out_channels": 64, "kernel": 3, "groups": 32})",
                               "[32, 5, 5]"));
  CHECK(dm.weight_count == 64 * 9);
  CHECK(dm.macs == 64 * 9 * 9);
  // AlexNet conv2: 96 -> 256, 5x5, groups 2 on 27x27.
  const Layer& g = only(parse(R"({"name": "conv2", "type": "conv2d", "out_channels": 256, "kernel": 5, "padding": 2,
                                  "groups": 2})",
                              "[96, 27, 27]"));
  CHECK(g.weight_count + g.bias_count == 307456);
  CHECK(g.macs == 223948800);
}

TEST_CASE("shape: pooling, ceil mode and global") {
  CHECK(only(parse(R"({"name": "p", "type": "maxpool", "kernel": 3, "stride": 2})", "[1, 6, 6]")).output_shape ==
        Shape{1, 2, 2});
  CHECK(only(parse(R"({"name": "p", "type": "maxpool", "kernel": 3, "stride": 2, "ceil_mode": true})", "[1, 6, 6]"))
            .output_shape == Shape{1, 3, 3});
  // Ceil mode may not start a window in the trailing padding: 5 + 2 pad, k 2, s 2 gives 3, not 4.
  CHECK(only(parse(R"({"name": "p", "type": "avgpool", "kernel": 2, "padding": 1, "ceil_mode": true})", "[1, 5, 5]"))
            .output_shape == Shape{1, 3, 3});
  // SqueezeNet: 111 -> 55 (ceil), GoogLeNet: 112 -> 56 (ceil).
  CHECK(only(parse(R"({"name": "p", "type": "maxpool", "kernel": 3, "stride": 2, "ceil_mode": true})",
                   "[96, 111, 111]"))
            .output_shape == Shape{96, 55, 55});
  CHECK(only(parse(R"({"name": "p", "type": "maxpool", "kernel": 3, "stride": 2, "ceil_mode": true})",
                   "[64, 112, 112]"))
            .output_shape == Shape{64, 56, 56});
  const Layer& d = only(parse(R"({"name": "p", "type": "maxpool", "kernel": 2})", "[3, 9, 8]"));
  CHECK(d.stride_h == 2);  // pooling stride defaults to the kernel
  CHECK(d.output_shape == Shape{3, 4, 4});
  CHECK(d.macs == 0);
  const Layer& g = only(parse(R"({"name": "p", "type": "avgpool", "global": true})", "[64, 7, 5]"));
  CHECK(g.output_shape == Shape{64, 1, 1});
  CHECK(g.kernel_h == 7);
  CHECK(g.kernel_w == 5);
}

TEST_CASE("shape: linear, flatten, batchnorm, activation, dropout, upsample") {
  Model m = parse(R"({"name": "bn", "type": "batchnorm"},
                     {"name": "act", "type": "activation", "activation": "hardswish"},
                     {"name": "up", "type": "upsample", "scale": 2, "mode": "nearest"},
                     {"name": "drop", "type": "dropout", "rate": 0.25},
                     {"name": "flat", "type": "flatten"},
                     {"name": "fc", "type": "linear", "out_features": 5},
                     {"name": "fc2", "type": "linear", "out_features": 2, "bias": false, "inputs": "up"})",
                  "[2, 3, 4]");
  CHECK(m.find("bn")->bn_params == 4);
  CHECK(m.find("bn")->macs == 0);
  CHECK(m.find("act")->activation == "hardswish");
  CHECK(m.find("up")->output_shape == Shape{2, 6, 8});
  CHECK(m.find("drop")->rate == 0.25);
  CHECK(m.find("flat")->output_shape == Shape{96, 1, 1});
  const Layer& fc = *m.find("fc");
  CHECK(fc.output_shape == Shape{5, 1, 1});
  CHECK(fc.weight_count == 480);
  CHECK(fc.bias_count == 5);
  CHECK(fc.macs == 480);
  const Layer& fc2 = *m.find("fc2");  // a linear layer flattens its input
  CHECK(fc2.weight_count == 192);
  CHECK(fc2.bias_count == 0);
  CHECK(m.total_params() == 4 + 485 + 192);
  CHECK(m.total_macs() == 480 + 192);
}

TEST_CASE("graph: concat on channels, add, explicit inputs and topological order") {
  // Listed out of order on purpose: "sum" comes first in the file but needs both branches.
  Model m = parse(R"({"name": "sum", "type": "add", "inputs": ["b1", "b2"]},
                     {"name": "b1", "type": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1, "inputs": "input"},
                     {"name": "b2", "type": "conv2d", "out_channels": 4, "kernel": 1, "inputs": ["input"]},
                     {"name": "b3", "type": "maxpool", "kernel": 3, "stride": 1, "padding": 1, "inputs": ["input"]},
                     {"name": "cat", "type": "concat", "inputs": ["sum", "b3", "b1"]})");
  std::vector<std::string> order;
  for (const auto& l : m.layers) order.push_back(l.name);
  CHECK(order == std::vector<std::string>{"b1", "b2", "sum", "b3", "cat"});
  CHECK(m.find("sum")->output_shape == Shape{4, 8, 8});
  const Layer& cat = *m.find("cat");
  CHECK(cat.input_shapes.size() == 3);
  CHECK(cat.output_shape == Shape{11, 8, 8});
}

TEST_CASE("graph: an add with pad_channels takes the widest input's shape and round-trips") {
  Model m = parse(R"({"name": "wide", "type": "conv2d", "out_channels": 5, "kernel": 1},
                     {"name": "sum", "type": "add", "inputs": ["wide", "input"], "pad_channels": true})");
  const Layer& sum = *m.find("sum");
  CHECK(sum.pad_channels);
  CHECK(sum.output_shape == Shape{5, 8, 8});
  CHECK(sum.input_shapes[1] == Shape{3, 8, 8});
  CHECK(sum.element_ops == 5 * 8 * 8);
  const Model again = parse_model(to_json_spec(m), "again.json");
  CHECK(again.find("sum")->pad_channels);
  CHECK(again.find("sum")->output_shape == Shape{5, 8, 8});
}

TEST_CASE("round trip: to_json_spec reads back to an equal model") {
  std::string text = spec(R"({"name": "c", "type": "conv2d", "out_channels": 6, "kernel": [3, 5], "stride": [2, 1],
                               "padding": "same", "dilation": [1, 2], "weight_bits": 4},
                             {"name": "dw", "type": "conv2d", "out_channels": 6, "kernel": 3, "groups": 6,
                              "padding": [0, 1, 2, 1], "bias": false},
                             {"name": "p", "type": "maxpool", "kernel": 2, "stride": 1, "ceil_mode": true},
                             {"name": "u", "type": "upsample", "scale": 3, "act_bits": 8},
                             {"name": "a", "type": "add", "inputs": ["u", "u"]},
                             {"name": "g", "type": "avgpool", "global": true},
                             {"name": "d", "type": "dropout", "rate": 0.3},
                             {"name": "fc", "type": "linear", "out_features": 3, "inputs": "c"},
                             {"name": "s", "type": "activation", "activation": "leaky_relu"})",
                          "[3, 9, 11]");
  Model a = parse_model(text, "a.json");
  std::string written = to_json_spec(a);
  Model b = parse_model(written, "b.json");
  CHECK(to_json_spec(b) == written);
  REQUIRE(a.layers.size() == b.layers.size());
  for (size_t i = 0; i < a.layers.size(); ++i) {
    const Layer &x = a.layers[i], &y = b.layers[i];
    CAPTURE(x.name);
    CHECK(x.name == y.name);
    CHECK(x.kind == y.kind);
    CHECK(x.inputs == y.inputs);
    CHECK(x.kernel_h == y.kernel_h);
    CHECK(x.kernel_w == y.kernel_w);
    CHECK(x.stride_h == y.stride_h);
    CHECK(x.stride_w == y.stride_w);
    CHECK(x.dilation_h == y.dilation_h);
    CHECK(x.dilation_w == y.dilation_w);
    CHECK(x.pads == y.pads);
    CHECK(x.groups == y.groups);
    CHECK(x.bias == y.bias);
    CHECK(x.ceil_mode == y.ceil_mode);
    CHECK(x.global == y.global);
    CHECK(x.activation == y.activation);
    CHECK(x.scale == y.scale);
    CHECK(x.rate == y.rate);
    CHECK(x.weight_bits == y.weight_bits);
    CHECK(x.act_bits == y.act_bits);
    CHECK(x.output_shape == y.output_shape);
    CHECK(x.params() == y.params());
    CHECK(x.macs == y.macs);
  }
  CHECK(a.find("c")->pads == Pads{1, 4, 1, 4});  // H: 2 in total; W: dilated kernel 9 -> 8
  CHECK(written.find("\"same\"") == std::string::npos);  // pads are written resolved
}

TEST_CASE("docs/model-spec.md: the complete example parses to the numbers the text gives") {
  std::string doc = dkm::test::slurp(dkm::test::source_path("docs/model-spec.md"));
  size_t begin = doc.find("```json\n");
  REQUIRE(begin != std::string::npos);
  begin += 8;
  size_t end = doc.find("```", begin);
  Model m = parse_model(doc.substr(begin, end - begin), "docs/model-spec.md");
  CHECK(m.name == "tiny-resnet");
  const Layer& c = *m.find("block.conv1");
  CHECK(c.output_shape == Shape{32, 16, 16});
  CHECK(c.params() == 4608);
  CHECK(c.macs == 1179648);
  CHECK(m.find("block.add")->output_shape == Shape{32, 16, 16});
  CHECK(m.layer_weight_bits(*m.find("fc")) == 16);
  CHECK(m.layer_weight_bits(c) == 8);
}

// Every malformed spec gets one InputError naming the file, the JSON path and what was expected.
#include <doctest/doctest.h>

#include <string>

#include "models/error.hpp"
#include "models/model.hpp"
#include "tests/support.hpp"

using namespace dkm::models;

namespace {

std::string spec(const std::string& layers, const std::string& extra = R"("input": [3, 8, 8])") {
  return R"({"format": "dkm-model/1", "name": "t", )" + extra + R"(, "layers": [)" + layers + "]}";
}

// The full message of the error parse_model throws for `text` read from "bad.json".
std::string error_of(const std::string& text) {
  try {
    parse_model(text, "bad.json");
  } catch (const dkm::InputError& e) {
    CHECK(e.file() == "bad.json");
    return e.what();
  }
  return "no error";
}

std::string layer_error(const std::string& layers) { return error_of(spec(layers)); }

}  // namespace

TEST_CASE("bad spec: unknown layer type, keys and typos") {
  CHECK(layer_error(R"({"name": "a", "type": "relu"}, {"name": "b", "type": "conv3d"})") ==
        "bad.json: layers[1].type: expected a layer type (conv2d, conv_transpose2d, linear, maxpool, avgpool, batchnorm, "
        "activation, add, concat, flatten, dropout, upsample, matmul, elementwise, layernorm, reduce, rearrange, relu, relu6, sigmoid, "
        "hardswish, hardsigmoid, tanh, leaky_relu, elu, gelu, "
        "silu, softmax), got \"conv3d\"");
  CHECK(layer_error(R"({"name": "a", "type": "conv2d", "out_channels": 4, "kernal": 3})") ==
        "bad.json: layers[0].kernal: unknown key for a conv2d layer (did you mean \"kernel\"?); expected one of: name, "
        "type, inputs, weight_bits, act_bits, out_channels, kernel, stride, padding, dilation, groups, bias, params");
  CHECK(layer_error(R"({"name": "a", "type": "relu", "kernel": 3})") ==
        "bad.json: layers[0].kernel: unknown key for a relu layer; expected one of: name, type, inputs, weight_bits, "
        "act_bits");
  CHECK(error_of(R"({"format": "dkm-model/1", "name": "t", "input": [3, 8, 8], "layer": []})") ==
        "bad.json: layer: unknown key for a model spec (did you mean \"layers\"?); expected one of: format, name, "
        "description, input, batch, weight_bits, act_bits, layers");
  CHECK(layer_error(R"({"name": "a", "type": "activation", "activation": "swishy"})") ==
        "bad.json: layers[0].activation: expected an activation function (relu, relu6, sigmoid, hardswish, hardsigmoid, "
        "tanh, leaky_relu, elu, gelu, silu, softmax), got \"swishy\"");
  CHECK(layer_error(R"({"name": "a", "type": "conv2d", "kernel": 3})") ==
        "bad.json: layers[0]: expected the key \"out_channels\"");
  CHECK(layer_error(R"({"type": "relu"})") == "bad.json: layers[0]: expected the key \"name\"");
  CHECK(layer_error(R"({"name": "a", "type": "conv2d", "out_channels": 4, "kernel": 3, "kernel": 2})") ==
        "bad.json: layers[0].kernel: expected each key once in an object, got a duplicate key");
  CHECK(layer_error(R"({"name": "a", "type": "avgpool", "global": true, "kernel": 2})") ==
        "bad.json: layers[0].kernel: expected no window settings on a global pooling layer");
}

TEST_CASE("bad spec: graph errors (unknown input, cycle, duplicate names, arity)") {
  CHECK(layer_error(R"({"name": "a", "type": "relu", "inputs": ["nope"]})") ==
        "bad.json: layers[0].inputs: expected \"input\" or the name of a layer, got \"nope\"");
  CHECK(layer_error(R"({"name": "a", "type": "relu", "inputs": "c"}, {"name": "b", "type": "relu"},
                       {"name": "c", "type": "relu"})") ==
        "bad.json: layers[0].inputs: expected layers forming an acyclic graph, got the cycle a -> b -> c -> a");
  CHECK(layer_error(R"({"name": "a", "type": "relu", "inputs": "a"})") ==
        "bad.json: layers[0].inputs: expected layers forming an acyclic graph, got the cycle a -> a");
  CHECK(layer_error(R"({"name": "a", "type": "relu"}, {"name": "a", "type": "relu"})") ==
        "bad.json: layers[1].name: expected a unique layer name, got \"a\" again (first at layers[0])");
  CHECK(layer_error(R"({"name": "input", "type": "relu"})") ==
        "bad.json: layers[0].name: expected a non-empty layer name other than \"input\", got \"input\"");
  CHECK(layer_error(R"({"name": "a", "type": "add"})") ==
        "bad.json: layers[0].inputs: expected at least 2 input(s) for add, got 1");
  CHECK(layer_error(R"({"name": "a", "type": "relu", "inputs": ["input", "input"]})") ==
        "bad.json: layers[0].inputs: expected exactly 1 input(s) for activation, got 2");
}

TEST_CASE("bad spec: shape mismatches in add and concat") {
  CHECK(layer_error(R"({"name": "a", "type": "conv2d", "out_channels": 4, "kernel": 1},
                       {"name": "s", "type": "add", "inputs": ["a", "input"]})") ==
        "bad.json: layers[1].inputs: expected inputs of equal shape for add, got 4x8x8 (a) and 3x8x8 (input)");
  CHECK(layer_error(R"({"name": "a", "type": "maxpool", "kernel": 2},
                       {"name": "s", "type": "add", "inputs": ["a", "input"], "pad_channels": true})") ==
        "bad.json: layers[1].inputs: expected inputs of equal height and width for add, got 3x4x4 (a) and 3x8x8 (input)");
  CHECK(layer_error(R"({"name": "s", "type": "relu", "pad_channels": true})").find("pad_channels") != std::string::npos);
  CHECK(layer_error(R"({"name": "a", "type": "maxpool", "kernel": 2},
                       {"name": "s", "type": "concat", "inputs": ["a", "input"]})") ==
        "bad.json: layers[1].inputs: expected inputs of equal height and width for concat, got 3x4x4 (a) and 3x8x8 "
        "(input)");
}

TEST_CASE("bad spec: zero and negative sizes, kernels larger than the padded input, groups") {
  CHECK(layer_error(R"({"name": "a", "type": "conv2d", "out_channels": 0, "kernel": 1})") ==
        "bad.json: layers[0].out_channels: expected a positive integer, got 0");
  CHECK(error_of(spec(R"({"name": "a", "type": "relu"})", R"("input": [3, -8, 8])")) ==
        "bad.json: input[1]: expected a positive integer, got -8");
  CHECK(layer_error(R"({"name": "a", "type": "conv2d", "out_channels": 4, "kernel": [3, -1]})") ==
        "bad.json: layers[0].kernel[1]: expected a positive kernel size or [height, width], got -1");
  CHECK(layer_error(R"({"name": "a", "type": "conv2d", "out_channels": 4, "kernel": 3, "padding": [0, 0, -1, 0]})") ==
        "bad.json: layers[0].padding[2]: expected a padding: N, [vertical, horizontal], [top, left, bottom, right], "
        "\"same\" or \"valid\", got -1");
  CHECK(layer_error(R"({"name": "a", "type": "upsample", "scale": 0})") ==
        "bad.json: layers[0].scale: expected a positive integer, got 0");
  CHECK(layer_error(R"({"name": "a", "type": "conv2d", "out_channels": 4, "kernel": 11, "padding": 1})") ==
        "bad.json: layers[0].kernel: expected a kernel height no larger than the padded input height (8 + padding 1 + "
        "1 = 10), got 11");
  CHECK(layer_error(R"({"name": "a", "type": "conv2d", "out_channels": 4, "kernel": 3, "dilation": 4})") ==
        "bad.json: layers[0].kernel: expected a kernel height no larger than the padded input height (8 + padding 0 + "
        "0 = 8), got 3 (dilated: 9)");
  CHECK(layer_error(R"({"name": "a", "type": "maxpool", "kernel": [2, 9]})") ==
        "bad.json: layers[0].kernel: expected a kernel width no larger than the padded input width (8 + padding 0 + 0 "
        "= 8), got 9");
  CHECK(layer_error(R"({"name": "a", "type": "conv2d", "out_channels": 4, "kernel": 3, "groups": 2})") ==
        "bad.json: layers[0].groups: expected groups dividing both the input channels (3) and out_channels (4), got 2");
  CHECK(layer_error(R"({"name": "a", "type": "conv2d", "out_channels": 4, "kernel": 3, "groups": 3})") ==
        "bad.json: layers[0].groups: expected groups dividing both the input channels (3) and out_channels (4), got 3");
}

TEST_CASE("bad spec: wrong JSON types") {
  CHECK(layer_error(R"({"name": "a", "type": "conv2d", "out_channels": 4, "kernel": "3"})") ==
        "bad.json: layers[0].kernel: expected a positive kernel size or [height, width], got a string (\"3\")");
  CHECK(layer_error(R"({"name": "a", "type": "conv2d", "out_channels": 4.5, "kernel": 3})") ==
        "bad.json: layers[0].out_channels: expected a positive integer, got a non-integer number (4.5)");
  CHECK(layer_error(R"({"name": "a", "type": "conv2d", "out_channels": 4, "kernel": 3, "bias": 1})") ==
        "bad.json: layers[0].bias: expected true or false, got a number (1)");
  CHECK(layer_error(R"({"name": "a", "type": "relu", "weight_bits": 64})") ==
        "bad.json: layers[0].weight_bits: expected a bit width from 1 to 32, got 64");
  CHECK(layer_error(R"({"name": "a", "type": "conv2d", "out_channels": 4, "kernel": 3, "padding": "full"})") ==
        "bad.json: layers[0].padding: expected a padding: N, [vertical, horizontal], [top, left, bottom, right], "
        "\"same\" or \"valid\", got \"full\"");
  CHECK(layer_error(R"([1, 2])") == "bad.json: layers[0]: expected a layer object, got an array ([1,2])");
  CHECK(layer_error(R"({"name": 7, "type": "relu"})") ==
        "bad.json: layers[0].name: expected a layer name (a non-empty string), got a number (7)");
  CHECK(error_of(R"({"format": "dkm-model/1", "name": "t", "input": [3, 8], "layers": []})") ==
        "bad.json: input: expected the input shape [channels, height, width], got [3,8]");
  CHECK(error_of(R"({"format": "dkm-model/1", "name": "t", "input": [3, 8, 8], "layers": {}})") ==
        "bad.json: layers: expected a non-empty array of layers, got {}");
  CHECK(error_of("[1, 2]") == "bad.json: expected a JSON object at the top level, got an array");
}

TEST_CASE("bad spec: format version checked at the boundary") {
  CHECK(error_of(R"({"format": "dkm-model/2", "name": "t", "input": [3, 8, 8], "layers": []})") ==
        "bad.json: format: expected the format version \"dkm-model/1\", got \"dkm-model/2\"");
  CHECK(error_of(R"({"name": "t", "input": [3, 8, 8], "layers": []})") == "bad.json: expected the key \"format\"");
}

TEST_CASE("bad spec: empty file, invalid JSON with line and column, trailing garbage") {
  CHECK(error_of("") == "bad.json: expected a JSON model spec, got an empty file");
  CHECK(error_of(" \n\t\n") == "bad.json: expected a JSON model spec, got an empty file");
  // The column is that of the last character read: the end of the offending token.
  CHECK(error_of("{\n  \"format\": \"dkm-model/1\",\n  \"name\" \"t\"\n}") ==
        "bad.json: line 3, column 12: expected valid JSON: syntax error while parsing object separator - unexpected "
        "string literal; expected ':'");
  CHECK(error_of(spec(R"({"name": "a", "type": "relu"})") + "\n]") ==
        "bad.json: line 2, column 1: expected the end of the file after the top-level JSON value, got trailing "
        "characters");
  CHECK(error_of("[1, 2") ==
        "bad.json: line 1, column 6: expected valid JSON: syntax error while parsing array - unexpected end of input; "
        "expected ']'");
}

TEST_CASE("bad spec: sizes whose counts overflow 64 bits") {
  // 1e5 x 1e5 pixels, 1e5 -> 1e5 channels: 1e20 MACs.
  CHECK(error_of(spec(R"({"name": "a", "type": "conv2d", "out_channels": 100000, "kernel": 1},
                         {"name": "b", "type": "conv2d", "out_channels": 100000, "kernel": 1})",
                      R"("input": [3, 100000, 100000])")) ==
        "bad.json: layers[1]: expected sizes whose MAC count fits in 64 bits, got 1000000000000000 x 100000");
  CHECK(layer_error(R"({"name": "a", "type": "linear", "out_features": 9223372036854775807})") ==
        "bad.json: layers[0].out_features: expected sizes whose weight count fits in 64 bits, got 9223372036854775807 x "
        "192");
  CHECK(layer_error(R"({"name": "a", "type": "conv2d", "out_channels": 18446744073709551615, "kernel": 1})") ==
        "bad.json: layers[0].out_channels: expected a positive integer, got 18446744073709551615 (larger than 64 bits "
        "allow)");
  CHECK(error_of(spec(R"({"name": "a", "type": "relu"})", R"("input": [3, 8, 8], "batch": 4611686018427387904)")) ==
        "bad.json: batch: expected sizes whose input size per batch fits in 64 bits, got 192 x 4611686018427387904");
  CHECK(error_of(spec(R"({"name": "a", "type": "relu"})", R"("input": [4294967296, 4294967296, 1])")) ==
        "bad.json: input: expected sizes whose input size fits in 64 bits, got 4294967296 x 4294967296");
}

TEST_CASE("load_model: files, zoo names and what is neither") {
  dkm::test::TempDir dir;
  std::string path = dir / "m.json";
  {
    std::ofstream(path) << spec(R"({"name": "a", "type": "relu"})");
  }
  CHECK(load_model(path).layers.size() == 1);
  CHECK(load_model("lenet5").name == "lenet5");
  auto message = [](const std::string& arg) {
    try {
      load_model(arg);
    } catch (const dkm::InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(message(dir / "missing.json") == dir / "missing.json" + ": no such file; expected a model spec file (.json)");
  CHECK(message("resnet51") ==
        "resnet51: no such file or zoo model; expected a model spec file (.json), an ONNX file (.onnx), a TF.js "
        "model.json or a zoo name (alexnet, googlenet, lenet5, mobilenet_v2, resnet18, resnet50, squeezenet1_0, vgg16, wrn-16-4)");
  {
    std::ofstream(dir / "bad.json") << "{\"format\": \"dkm-model/1\",";
  }
  CHECK(message(dir / "bad.json") == dir / "bad.json" +
                                         ": line 1, column 26: expected valid JSON: syntax error while parsing object "
                                         "key - unexpected end of input; expected string literal");
}

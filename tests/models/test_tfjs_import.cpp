// TF.js layers models written here, one per layer class and weight encoding, with expectations worked out
// by hand: Keras layouts (HWIO, depthwise HW C M, dense in x out, NHWC flatten order) become dkm's.
#include <doctest/doctest.h>

#include "models/tfjs.hpp"
#include "tests/models/tfjs_fixture.hpp"

using namespace dkm::models;
using dkm::test::TempDir;
using dkm::test::TfjsModel;
using json = nlohmann::ordered_json;

namespace {

Model load(const TfjsModel& m) {
  TempDir dir;
  return load_tfjs(m.write(dir));
}

std::string le16(std::initializer_list<uint16_t> values) {
  std::string s;
  for (uint16_t v : values) s += {static_cast<char>(v & 0xff), static_cast<char>(v >> 8)};
  return s;
}

}  // namespace

TEST_CASE("tfjs: Conv2D kernels go from HWIO to OIHW, 'same' padding and a fused activation") {
  // kernel [kh=2, kw=2, in=1, out=2] holding 0..7: Keras index ((y * 2 + x) * 1 + i) * 2 + o.
  TfjsModel t({4, 4, 1});
  t.layer("Conv2D", "c", {"x"},
          {{"filters", 2}, {"kernel_size", {2, 2}}, {"strides", {2, 2}}, {"padding", "same"}, {"activation", "relu"}});
  t.f32("c/kernel", {2, 2, 1, 2}, {0, 1, 2, 3, 4, 5, 6, 7}).f32("c/bias", {2}, {0.5f, -0.5f});
  Model m = load(t);
  REQUIRE(m.layers.size() == 2);
  const Layer& c = m.layers[0];
  CHECK(m.input == Shape{1, 4, 4});
  CHECK(c.kind == LayerKind::conv2d);
  CHECK(c.output_shape == Shape{2, 2, 2});
  CHECK(c.pads == Pads{0, 0, 0, 0});  // 4 / 2: SAME needs no padding
  CHECK(c.macs == 2 * 2 * 2 * 4);
  CHECK(m.layers[1].name == "c/relu");
  CHECK(m.layers[1].activation == "relu");
  // OIHW: o = 0 takes the even Keras values (y, x) = (0,0),(0,1),(1,0),(1,1), o = 1 the odd ones.
  CHECK(m.weights.at("c.weight").shape == std::vector<int64_t>{2, 1, 2, 2});
  CHECK(m.weights.at("c.weight").values == std::vector<float>{0, 2, 4, 6, 1, 3, 5, 7});
  CHECK(m.weights.at("c.bias").values == std::vector<float>{0.5f, -0.5f});
}

TEST_CASE("tfjs: uint8 and uint16 weights are stored * scale + min, float16 widens exactly") {
  TfjsModel t({1, 1, 1});
  t.layer("Conv2D", "a", {"x"}, {{"filters", 3}, {"kernel_size", 1}, {"use_bias", false}});
  t.layer("Conv2D", "b", {"a"}, {{"filters", 2}, {"kernel_size", 1}, {"use_bias", false}});
  t.layer("Conv2D", "h", {"b"}, {{"filters", 4}, {"kernel_size", 1}, {"use_bias", false}});
  t.quantised("a/kernel", {1, 1, 1, 3}, "uint8", std::string("\x00\x01\xff", 3), 0.5, -1.0);
  t.quantised("b/kernel", {1, 1, 3, 2}, "uint16", le16({0, 1, 256, 65535, 2, 3}), 0.25, 1.0);
  // 1.0, -2.0, the smallest subnormal 2^-24, the largest finite 65504
  t.quantised("h/kernel", {1, 1, 2, 4}, "float16", le16({0x3c00, 0xc000, 0x0001, 0x7bff, 0, 0x8000, 0x3555, 0x0400}));
  Model m = load(t);
  CHECK(m.weights.at("a.weight").values == std::vector<float>{-1.0f, -0.5f, 126.5f});
  // b: Keras [in=3][out=2] -> OIHW [2][3]: (0,1,256 | 65535,2,3) reordered by output
  const auto& b = m.weights.at("b.weight").values;
  CHECK(b == std::vector<float>{0 * 0.25f + 1, 256 * 0.25f + 1, 2 * 0.25f + 1, 1 * 0.25f + 1, 65535 * 0.25f + 1,
                                3 * 0.25f + 1});
  const auto& h = m.weights.at("h.weight").values;  // [in=2][out=4] -> [4][2]
  CHECK(h == std::vector<float>{1.0f, 0.0f, -2.0f, -0.0f, 0x1p-24f, 0x1.554p-2f, 65504.0f, 0x1p-14f});
}

TEST_CASE("tfjs: DepthwiseConv2D with a depth multiplier puts channel c's filters at c * M + m") {
  TfjsModel t({5, 5, 2});
  t.layer("DepthwiseConv2D", "d", {"x"}, {{"kernel_size", {1, 1}}, {"depth_multiplier", 2}, {"use_bias", true}});
  t.f32("d/depthwise_kernel", {1, 1, 2, 2}, {10, 11, 20, 21}).f32("d/bias", {4}, {1, 2, 3, 4});
  Model m = load(t);
  const Layer& d = m.layers.at(0);
  CHECK(d.groups == 2);
  CHECK(d.out_channels == 4);
  CHECK(d.output_shape == Shape{4, 5, 5});
  CHECK(d.weight_count == 4);
  CHECK(m.weights.at("d.weight").shape == std::vector<int64_t>{4, 1, 1, 1});
  CHECK(m.weights.at("d.weight").values == std::vector<float>{10, 11, 20, 21});
  CHECK(m.weights.at("d.bias").values.size() == 4);
}

TEST_CASE("tfjs: SeparableConv2D is a depthwise layer then a pointwise one that carries the bias") {
  TfjsModel t({8, 8, 3});
  t.layer("SeparableConv2D", "s", {"x"},
          {{"filters", 4}, {"kernel_size", 3}, {"strides", 2}, {"padding", "same"}, {"activation", "relu6"}});
  t.counting("s/depthwise_kernel", {3, 3, 3, 1}).counting("s/pointwise_kernel", {1, 1, 3, 4}).counting("s/bias", {4});
  Model m = load(t);
  REQUIRE(m.layers.size() == 3);
  const Layer& dw = m.layers[0];
  const Layer& pw = m.layers[1];
  CHECK(dw.name == "s/depthwise");
  CHECK(dw.groups == 3);
  CHECK(!dw.bias);
  CHECK(dw.pads == Pads{0, 0, 1, 1});  // SAME, stride 2 on 8: total 1, at the end
  CHECK(dw.output_shape == Shape{3, 4, 4});
  CHECK(pw.name == "s");
  CHECK(pw.kernel_h == 1);
  CHECK(pw.bias);
  CHECK(pw.output_shape == Shape{4, 4, 4});
  CHECK(m.layers[2].activation == "relu6");
  CHECK(m.total_params() == 27 + 12 + 4);
  CHECK(m.total_macs() == 4 * 4 * 3 * 9 + 4 * 4 * 4 * 3);
  CHECK(!m.weights.contains("s/depthwise.bias"));
  // depthwise [3,3,3,1]: channel 1's 3x3 filter is every third value starting at 2 (counting from 1)
  const auto& k = m.weights.at("s/depthwise.weight").values;
  CHECK(k[9] == 2.0f);
  CHECK(k[10] == 5.0f);
}

TEST_CASE("tfjs: Dense after Flatten takes its columns in dkm's CHW order; Dense on an image is a 1x1 conv") {
  TfjsModel t({1, 2, 2});  // H 1, W 2, C 2
  t.layer("Dense", "pix", {"x"}, {{"units", 2}, {"use_bias", false}});
  t.layer("Flatten", "f", {"pix"});
  t.layer("Dense", "fc", {"f"}, {{"units", 1}, {"activation", "softmax"}});
  t.f32("pix/kernel", {2, 2}, {1, 2, 3, 4});
  t.f32("fc/kernel", {4, 1}, {10, 11, 12, 13}).f32("fc/bias", {1}, {0});
  Model m = load(t);
  const Layer& pix = *m.find("pix");
  CHECK(pix.kind == LayerKind::conv2d);
  CHECK(pix.output_shape == Shape{2, 1, 2});
  CHECK(m.weights.at("pix.weight").values == std::vector<float>{1, 3, 2, 4});
  const Layer& fc = *m.find("fc");
  CHECK(fc.kind == LayerKind::linear);
  // Keras feature (w, c) = w * 2 + c; dkm feature c * 2 + w: dkm order is Keras 0, 2, 1, 3.
  CHECK(m.weights.at("fc.weight").values == std::vector<float>{10, 12, 11, 13});
  CHECK(m.find("fc/softmax") != nullptr);
}

TEST_CASE("tfjs: BatchNormalization reads all four weights and counts a scale and shift per channel") {
  TfjsModel t({2, 2, 3});
  t.layer("BatchNormalization", "bn", {"x"}, {{"axis", -1}});
  for (const char* w : {"gamma", "beta", "moving_mean", "moving_variance"}) t.counting(std::string("bn/") + w, {3});
  Model m = load(t);
  CHECK(m.layers.at(0).kind == LayerKind::batchnorm);
  CHECK(m.bn_params() == 6);
}

TEST_CASE("tfjs: a functional graph with padding, pooling, merges, upsampling and activations") {
  TfjsModel t({8, 8, 2});
  t.layer("ZeroPadding2D", "pad", {"x"}, {{"padding", {{1, 1}, {0, 2}}}});
  t.layer("Conv2D", "c", {"pad"}, {{"filters", 2}, {"kernel_size", 3}, {"use_bias", false}});
  t.layer("MaxPooling2D", "mp", {"c"}, {{"pool_size", {2, 2}}, {"padding", "same"}});
  t.layer("AveragePooling2D", "ap", {"c"}, {{"pool_size", {2, 2}}, {"strides", {2, 2}}});
  t.layer("Add", "sum", {"mp", "ap"});
  t.layer("Concatenate", "cat", {"sum", "mp"}, {{"axis", -1}});
  t.layer("UpSampling2D", "up", {"cat"}, {{"size", {2, 2}}});
  t.layer("MaxPooling2D", "odd", {"up"}, {{"pool_size", 3}, {"strides", 2}, {"padding", "same"}});
  t.layer("ReLU", "r6", {"odd"}, {{"max_value", 6.0}});
  t.layer("LeakyReLU", "lr", {"r6"}, {{"alpha", 0.1}});
  t.layer("Dropout", "drop", {"lr"}, {{"rate", 0.25}});
  t.layer("GlobalAveragePooling2D", "gap", {"drop"});
  t.layer("Activation", "id", {"gap"}, {{"activation", "linear"}});
  t.layer("Dense", "out", {"id"}, {{"units", 3}});
  t.counting("c/kernel", {3, 3, 2, 2}).counting("out/kernel", {4, 3}).counting("out/bias", {3});
  Model m = load(t);
  CHECK(m.find("pad") == nullptr);  // folded into the convolution
  const Layer& c = *m.find("c");
  CHECK(c.pads == Pads{1, 0, 1, 2});
  CHECK(c.output_shape == Shape{2, 8, 8});
  CHECK(m.find("mp")->output_shape == Shape{2, 4, 4});
  CHECK(m.find("ap")->output_shape == Shape{2, 4, 4});
  CHECK(m.find("sum")->inputs == std::vector<std::string>{"mp", "ap"});
  CHECK(m.find("cat")->output_shape == Shape{4, 4, 4});
  CHECK(m.find("up")->output_shape == Shape{4, 8, 8});
  CHECK(m.find("odd")->pads == Pads{0, 0, 1, 1});  // SAME, kernel 3, stride 2 on 8: total 1, at the end
  CHECK(m.find("odd")->output_shape == Shape{4, 4, 4});
  CHECK(m.find("r6")->activation == "relu6");
  CHECK(m.find("lr")->activation == "leaky_relu");
  CHECK(m.find("drop")->rate == 0.25);
  CHECK(m.find("gap")->global);
  CHECK(m.find("id") == nullptr);  // linear: nothing to model
  CHECK(m.find("out")->inputs == std::vector<std::string>{"gap"});
  CHECK(m.find("out")->kind == LayerKind::linear);
  CHECK(m.total_params() == 36 + 15);
}

TEST_CASE("tfjs: Sequential models and Keras 3 inbound nodes read the same graph") {
  json conv = {{"class_name", "Conv2D"},
               {"config", {{"name", "c"}, {"filters", 1}, {"kernel_size", 1}, {"batch_input_shape", {nullptr, 2, 2, 1}}}}};
  json flatten = {{"class_name", "Flatten"}, {"config", {{"name", "f"}}}};
  TfjsModel t({2, 2, 1});
  t.counting("c/kernel", {1, 1, 1, 1}).counting("c/bias", {1});
  json doc = t.document();
  doc["modelTopology"] = {{"class_name", "Sequential"}, {"config", {{"name", "seq"}, {"layers", {conv, flatten}}}}};
  TempDir dir;
  Model seq = load_tfjs(t.write(dir, doc.dump()));
  CHECK(seq.name == "seq");
  CHECK(seq.input == Shape{1, 2, 2});
  CHECK(seq.layers.size() == 2);
  CHECK(seq.layers[1].output_shape == Shape{4, 1, 1});

  json keras3 = t.document();
  json& layers = keras3["modelTopology"]["model_config"]["config"]["layers"];
  layers.push_back({{"class_name", "Conv2D"},
                    {"name", "c"},
                    {"config", {{"name", "c"}, {"filters", 1}, {"kernel_size", 1}}},
                    {"inbound_nodes", {{{"args", {{{"class_name", "__keras_tensor__"},
                                                   {"config", {{"keras_history", {"x", 0, 0}}}}}}},
                                        {"kwargs", json::object()}}}}});
  TempDir dir3;
  Model k3 = load_tfjs(t.write(dir3, keras3.dump()));
  CHECK(k3.layers.size() == 1);
  CHECK(k3.layers[0].inputs == std::vector<std::string>{"input"});
}

TEST_CASE("tfjs: load_model reads a model.json path or its folder, and the spec round trip keeps it") {
  TfjsModel t({4, 4, 3});
  t.layer("Conv2D", "c", {"x"}, {{"filters", 8}, {"kernel_size", 3}}).counting("c/kernel", {3, 3, 3, 8}).counting("c/bias", {8});
  TempDir dir;
  std::string path = t.write(dir);
  Model a = load_model(path);
  Model b = load_model(dir.path.string());
  CHECK(a.total_params() == 3 * 3 * 3 * 8 + 8);
  CHECK(b.total_params() == a.total_params());
  CHECK(a.weights.at("c.weight").values == b.weights.at("c.weight").values);
  Model again = parse_model(to_json_spec(a), "spec");
  CHECK(again.total_macs() == a.total_macs());
  CHECK(a.description.find("1 float32") == std::string::npos);
  CHECK(a.description.find("2 float32") != std::string::npos);
}

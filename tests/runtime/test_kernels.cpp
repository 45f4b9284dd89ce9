// The inference engine's layers against direct double-precision loops written from the definitions in
// docs/inference.md, and its determinism across thread counts.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "models/error.hpp"
#include "models/model.hpp"
#include "models/runtime/runtime.hpp"

namespace {

using dkm::Tensor;
using dkm::Weights;
using dkm::models::Model;
using dkm::runtime::Activations;

Tensor random_tensor(std::vector<int64_t> shape, std::mt19937& rng, float lo = -1, float hi = 1) {
  Tensor t{std::move(shape), {}};
  std::uniform_real_distribution<float> u(lo, hi);
  t.values.resize(static_cast<size_t>(t.numel()));
  for (float& v : t.values) v = u(rng);
  return t;
}

Activations random_input(const Model& m, int64_t batch, std::mt19937& rng) {
  Tensor t = random_tensor({batch, m.input.c, m.input.h, m.input.w}, rng);
  return dkm::runtime::to_activations(m, t, "test input");
}

// Random weights of the right shapes for every conv, linear and batchnorm layer.
Weights random_weights(const Model& m, std::mt19937& rng) {
  Weights w;
  for (const auto& l : m.layers) {
    if (l.kind == dkm::models::LayerKind::conv2d) {
      w[l.name + ".weight"] = random_tensor({l.out_channels, l.input_shapes[0].c / l.groups, l.kernel_h, l.kernel_w}, rng);
      if (l.bias) w[l.name + ".bias"] = random_tensor({l.out_channels}, rng);
    } else if (l.kind == dkm::models::LayerKind::conv_transpose2d) {
      w[l.name + ".weight"] = random_tensor({l.input_shapes[0].c, l.out_channels / l.groups, l.kernel_h, l.kernel_w}, rng);
      if (l.bias) w[l.name + ".bias"] = random_tensor({l.out_channels}, rng);
    } else if (l.kind == dkm::models::LayerKind::linear) {
      w[l.name + ".weight"] = random_tensor({l.out_features, l.input_shapes[0].numel()}, rng);
      if (l.bias) w[l.name + ".bias"] = random_tensor({l.out_features}, rng);
    } else if (l.kind == dkm::models::LayerKind::batchnorm) {
      const int64_t c = l.input_shapes[0].c;
      w[l.name + ".weight"] = random_tensor({c}, rng);
      w[l.name + ".bias"] = random_tensor({c}, rng);
      w[l.name + ".running_mean"] = random_tensor({c}, rng);
      w[l.name + ".running_var"] = random_tensor({c}, rng, 0.5f, 2.0f);
    }
  }
  return w;
}

Model spec(const std::string& input, const std::string& layers) {
  return dkm::models::parse_model(
      R"({"format": "dkm-model/1", "name": "t", "input": )" + input + R"(, "layers": [)" + layers + "]}", "test.json");
}

// The direct definition of a 2-D convolution, in double.
std::vector<double> reference_conv(const dkm::models::Layer& l, const Activations& in, const Tensor& w, const Tensor* b) {
  const auto is = in.shape, os = l.output_shape;
  const int64_t cin_g = is.c / l.groups, cout_g = os.c / l.groups;
  std::vector<double> out(static_cast<size_t>(in.batch * os.numel()));
  for (int64_t n = 0; n < in.batch; ++n)
    for (int64_t oc = 0; oc < os.c; ++oc)
      for (int64_t oy = 0; oy < os.h; ++oy)
        for (int64_t ox = 0; ox < os.w; ++ox) {
          double s = b ? b->values[oc] : 0.0;
          const int64_t g = oc / cout_g;
          for (int64_t ci = 0; ci < cin_g; ++ci)
            for (int64_t ky = 0; ky < l.kernel_h; ++ky)
              for (int64_t kx = 0; kx < l.kernel_w; ++kx) {
                const int64_t iy = oy * l.stride_h - l.pads.top + ky * l.dilation_h;
                const int64_t ix = ox * l.stride_w - l.pads.left + kx * l.dilation_w;
                if (iy < 0 || iy >= is.h || ix < 0 || ix >= is.w) continue;
                s += static_cast<double>(w.values[((oc * cin_g + ci) * l.kernel_h + ky) * l.kernel_w + kx]) *
                     in.plane(n, g * cin_g + ci)[iy * is.w + ix];
              }
          out[((n * os.c + oc) * os.h + oy) * os.w + ox] = s;
        }
  return out;
}

// The scatter definition of a transposed convolution (PyTorch's ConvTranspose2d), in double: every input
// pixel adds its products with the weights [C_in, M/g, kH, kW] at oy = iy * stride - pad + ky * dilation.
std::vector<double> reference_conv_transpose(const dkm::models::Layer& l, const Activations& in, const Tensor& w,
                                             const Tensor* b) {
  const auto is = in.shape, os = l.output_shape;
  const int64_t cin_g = is.c / l.groups, cout_g = os.c / l.groups;
  std::vector<double> out(static_cast<size_t>(in.batch * os.numel()));
  for (int64_t n = 0; n < in.batch; ++n) {
    for (int64_t oc = 0; oc < os.c; ++oc)
      for (int64_t p = 0; p < os.h * os.w; ++p) out[(n * os.c + oc) * os.h * os.w + p] = b ? b->values[oc] : 0.0;
    for (int64_t ci = 0; ci < is.c; ++ci)
      for (int64_t iy = 0; iy < is.h; ++iy)
        for (int64_t ix = 0; ix < is.w; ++ix)
          for (int64_t m = 0; m < cout_g; ++m)
            for (int64_t ky = 0; ky < l.kernel_h; ++ky)
              for (int64_t kx = 0; kx < l.kernel_w; ++kx) {
                const int64_t oy = iy * l.stride_h - l.pads.top + ky * l.dilation_h;
                const int64_t ox = ix * l.stride_w - l.pads.left + kx * l.dilation_w;
                if (oy < 0 || oy >= os.h || ox < 0 || ox >= os.w) continue;
                const int64_t oc = (ci / cin_g) * cout_g + m;
                out[((n * os.c + oc) * os.h + oy) * os.w + ox] +=
                    static_cast<double>(w.values[((ci * cout_g + m) * l.kernel_h + ky) * l.kernel_w + kx]) *
                    in.plane(n, ci)[iy * is.w + ix];
              }
  }
  return out;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

}  // namespace

TEST_CASE("runtime: conv2d with groups, dilation, stride and asymmetric pads equals the direct sum") {
  std::mt19937 rng(1);
  // 600 output pixels: more than one column block of the GEMM, so block edges are exercised.
  Model m = spec("[6, 30, 40]",
                 R"({"name": "c", "type": "conv2d", "out_channels": 4, "kernel": [3, 2], "stride": [1, 2],
                     "dilation": [2, 1], "padding": [1, 0, 2, 1], "groups": 2, "bias": true},
                    {"name": "dw", "type": "conv2d", "out_channels": 8, "kernel": 3, "padding": 1, "groups": 4,
                     "bias": false})");
  Weights w = random_weights(m, rng);
  Activations in = random_input(m, 2, rng);
  dkm::runtime::RunOptions o;
  o.keep = {"c"};
  auto out = dkm::runtime::run(m, w, in, o);
  const auto& c = m.layers[0];
  CHECK(max_abs_diff(out.at("c").values, reference_conv(c, in, w.at("c.weight"), &w.at("c.bias"))) < 1e-5);
  const auto& dw = m.layers[1];
  Activations mid = out.at("c");
  CHECK(max_abs_diff(out.at("dw").values, reference_conv(dw, mid, w.at("dw.weight"), nullptr)) < 1e-5);
}

TEST_CASE("runtime: conv_transpose2d with groups, dilation, stride, pads and output padding equals the scatter sum") {
  std::mt19937 rng(5);
  Model m = spec("[4, 6, 7]",
                 R"({"name": "up", "type": "conv_transpose2d", "out_channels": 6, "kernel": [3, 2], "stride": [2, 3],
                     "dilation": [2, 1], "padding": [1, 0, 2, 1], "output_padding": [1, 2], "groups": 2},
                    {"name": "same", "type": "conv_transpose2d", "out_channels": 3, "kernel": 4, "stride": 2,
                     "padding": "same", "bias": false})");
  Weights w = random_weights(m, rng);
  Activations in = random_input(m, 2, rng);
  dkm::runtime::RunOptions o;
  o.keep = {"up"};
  auto out = dkm::runtime::run(m, w, in, o);
  const auto& up = m.layers[0];
  CHECK(max_abs_diff(out.at("up").values, reference_conv_transpose(up, in, w.at("up.weight"), &w.at("up.bias"))) < 1e-5);
  const auto& same = m.layers[1];
  Activations mid = out.at("up");
  CHECK(max_abs_diff(out.at("same").values, reference_conv_transpose(same, mid, w.at("same.weight"), nullptr)) < 1e-5);
  // One fixed order of sums per output value: any thread count gives the same bits.
  o.threads = 1;
  auto one = dkm::runtime::run(m, w, in, o);
  o.threads = 3;
  CHECK(dkm::runtime::run(m, w, in, o).at("same").values == one.at("same").values);
}

TEST_CASE("runtime: linear, pooling (ceil mode, padding, global), batchnorm, upsample, concat and add") {
  std::mt19937 rng(2);
  Model m = spec("[3, 7, 9]",
                 R"({"name": "mp", "type": "maxpool", "kernel": 3, "stride": 2, "padding": 1, "ceil_mode": true},
                    {"name": "ap", "type": "avgpool", "kernel": 2, "stride": 1, "padding": [1, 0, 0, 1], "inputs": "input"},
                    {"name": "bn", "type": "batchnorm", "inputs": "ap"},
                    {"name": "up", "type": "upsample", "scale": 2, "inputs": "mp"},
                    {"name": "gap", "type": "avgpool", "global": true, "inputs": "bn"},
                    {"name": "gmp", "type": "maxpool", "global": true, "inputs": "bn"},
                    {"name": "cat", "type": "concat", "inputs": ["gap", "gmp"]},
                    {"name": "sum", "type": "add", "inputs": ["gap", "gmp", "gap"]},
                    {"name": "flat", "type": "flatten", "inputs": "up"},
                    {"name": "fc", "type": "linear", "out_features": 5})");
  Weights w = random_weights(m, rng);
  Activations in = random_input(m, 2, rng);
  dkm::runtime::RunOptions o;
  o.keep = {"mp", "ap", "bn", "up", "gap", "gmp"};
  auto out = dkm::runtime::run(m, w, in, o);
  const auto& mp = out.at("mp");
  REQUIRE(mp.shape == dkm::models::Shape{3, 4, 5});
  // Windows start at -1 with stride 2: output (1, 2) covers rows 1..3, columns 3..5.
  {
    float best = -1e9f;
    for (int y = 1; y <= 3; ++y)
      for (int x = 3; x <= 5; ++x) best = std::max(best, in.plane(1, 2)[y * 9 + x]);
    CHECK(mp.plane(1, 2)[1 * 5 + 2] == best);
  }
  const auto& ap = out.at("ap");
  REQUIRE(ap.shape == dkm::models::Shape{3, 7, 9});  // (7 + 1 - 2) + 1 by (9 + 1 - 2) + 1
  // Output (0, 8): rows -1..0 and columns 8..9 clipped to row 0, column 8: padding is not counted.
  CHECK(ap.plane(0, 1)[8] == doctest::Approx(in.plane(0, 1)[8]));
  // Output (3, 4): rows 2..3, columns 4..5.
  CHECK(ap.plane(0, 0)[3 * 9 + 4] ==
        doctest::Approx((in.plane(0, 0)[2 * 9 + 4] + in.plane(0, 0)[2 * 9 + 5] + in.plane(0, 0)[3 * 9 + 4] +
                         in.plane(0, 0)[3 * 9 + 5]) / 4));
  const auto& bn = out.at("bn");
  const double scale = w.at("bn.weight").values[1] / std::sqrt(w.at("bn.running_var").values[1] + 1e-5);
  CHECK(bn.plane(1, 1)[10] == doctest::Approx((ap.plane(1, 1)[10] - w.at("bn.running_mean").values[1]) * scale +
                                              w.at("bn.bias").values[1]));
  CHECK(out.at("up").plane(0, 2)[3 * 10 + 7] == mp.plane(0, 2)[1 * 5 + 3]);
  double mean = 0, top = -1e9;
  for (int i = 0; i < 63; ++i) mean += bn.plane(1, 0)[i] / 63.0, top = std::max<double>(top, bn.plane(1, 0)[i]);
  CHECK(out.at("gap").plane(1, 0)[0] == doctest::Approx(mean));
  CHECK(out.at("gmp").plane(1, 0)[0] == top);
  const auto& cat = out.at("cat");
  REQUIRE(cat.shape.c == 6);
  CHECK(cat.plane(1, 3)[0] == out.at("gmp").plane(1, 0)[0]);
  CHECK(out.at("sum").plane(1, 0)[0] == (out.at("gap").plane(1, 0)[0] + out.at("gmp").plane(1, 0)[0]) + out.at("gap").plane(1, 0)[0]);
  // linear on the flattened upsample: out = W x + b, in double.
  const auto& up = out.at("up");
  const auto& fc = out.at("fc");
  CHECK(fc.flat);
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t o2 = 0; o2 < 5; ++o2) {
      double s = w.at("fc.bias").values[o2];
      for (int64_t i = 0; i < up.shape.numel(); ++i)
        s += static_cast<double>(w.at("fc.weight").values[o2 * up.shape.numel() + i]) * up.values[n * up.shape.numel() + i];
      CHECK(fc.values[n * 5 + o2] == doctest::Approx(s).epsilon(1e-5));
    }
}

TEST_CASE("runtime: every activation function of the spec") {
  const std::vector<std::pair<std::string, double (*)(double)>> cases = {
      {"relu", [](double x) { return std::max(x, 0.0); }},
      {"relu6", [](double x) { return std::min(std::max(x, 0.0), 6.0); }},
      {"sigmoid", [](double x) { return 1 / (1 + std::exp(-x)); }},
      {"tanh", [](double x) { return std::tanh(x); }},
      {"hardsigmoid", [](double x) { return std::min(std::max(x / 6 + 0.5, 0.0), 1.0); }},
      {"hardswish", [](double x) { return x * std::min(std::max(x + 3, 0.0), 6.0) / 6; }},
      {"leaky_relu", [](double x) { return x > 0 ? x : 0.01 * x; }},
      {"elu", [](double x) { return x > 0 ? x : std::exp(x) - 1; }},
      {"gelu", [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }},
      {"silu", [](double x) { return x / (1 + std::exp(-x)); }},
  };
  for (const auto& [name, f] : cases) {
    CAPTURE(name);
    Model m = spec("[1, 1, 9]", R"({"name": "a", "type": ")" + name + R"("})");
    Tensor t{{1, 1, 1, 9}, {-7.f, -3.f, -1.5f, -0.2f, 0.f, 0.3f, 1.f, 3.5f, 8.f}};
    auto out = dkm::runtime::run(m, {}, dkm::runtime::to_activations(m, t, "t"));
    for (size_t i = 0; i < 9; ++i) CHECK(out.at("a").values[i] == doctest::Approx(f(t.values[i])).epsilon(1e-6));
  }
  Model m = spec("[3, 1, 2]", R"({"name": "s", "type": "softmax"})");
  Tensor t{{1, 3, 1, 2}, {1.f, 50.f, 2.f, 50.f, 3.f, -50.f}};
  auto out = dkm::runtime::run(m, {}, dkm::runtime::to_activations(m, t, "t")).at("s").values;
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  CHECK(out[0] == doctest::Approx(std::exp(1.0) / z));
  CHECK(out[4] == doctest::Approx(std::exp(3.0) / z));
  CHECK(out[1] == doctest::Approx(0.5));
  CHECK(out[5] == doctest::Approx(0.0));
}

TEST_CASE("runtime: outputs are bit-identical for 1, 2, 3 and 8 threads and for any batch") {
  std::mt19937 rng(3);
  Model m = dkm::models::load_model("wrn-16-4");
  Weights w = random_weights(m, rng);
  Activations in = random_input(m, 2, rng);
  std::vector<float> first;
  for (int threads : {1, 2, 3, 8}) {
    dkm::runtime::RunOptions o;
    o.threads = threads;
    auto out = dkm::runtime::run(m, w, in, o);
    REQUIRE(out.size() == 1);
    if (first.empty()) first = out.begin()->second.values;
    else CHECK(out.begin()->second.values == first);
  }
  // Image 1 alone gives the bits it had in the batch of 2.
  auto alone = dkm::runtime::run(m, w, dkm::runtime::slice(in, 1, 2)).begin()->second.values;
  CHECK(alone == std::vector<float>(first.begin() + 10, first.end()));
}

TEST_CASE("runtime: missing or misshapen weights, a wrong input shape and non-finite input are input errors") {
  std::mt19937 rng(4);
  Model m = spec("[2, 5, 5]", R"({"name": "c", "type": "conv2d", "out_channels": 3, "kernel": 3},
                                  {"name": "bn", "type": "batchnorm"})");
  Weights w = random_weights(m, rng);
  Activations in = random_input(m, 1, rng);
  dkm::runtime::RunOptions o;
  o.weights_source = "w.npz";
  Weights missing = w;
  missing.erase("bn.running_var");
  CHECK_THROWS_WITH_AS(dkm::runtime::run(m, missing, in, o),
                       doctest::Contains("w.npz: tensor 'bn.running_var': expected the batchnorm layer 'bn' to have"),
                       dkm::InputError);
  Weights bad = w;
  bad["c.weight"].shape = {3, 2, 9};
  CHECK_THROWS_WITH_AS(dkm::runtime::run(m, bad, in, o),
                       "w.npz: tensor 'c.weight': expected shape (3, 2, 3, 3) for the conv2d layer 'c', got (3, 2, 9)",
                       dkm::InputError);
  CHECK_THROWS_WITH_AS(dkm::runtime::to_activations(m, Tensor{{1, 2, 5, 4}, std::vector<float>(40)}, "x.npy"),
                       "x.npy: shape: expected an array of shape (N, 2, 5, 5) (N images, NCHW) for model 't', got (1, 2, 5, 4)",
                       dkm::InputError);
  Tensor nan{{1, 2, 5, 5}, std::vector<float>(50)};
  nan.values[37] = std::nanf("");
  CHECK_THROWS_WITH_AS(dkm::runtime::to_activations(m, nan, "x.npy"),
                       "x.npy: element [0, 1, 2, 2] (flat index 37): expected finite values, got nan", dkm::InputError);
}

TEST_CASE("runtime: an add with pad_channels reads a narrower input as zero in its missing trailing channels") {
  std::mt19937 rng(5);
  Model m = spec("[2, 3, 3]",
                 R"({"name": "wide", "type": "conv2d", "out_channels": 5, "kernel": 1},
                    {"name": "sum", "type": "add", "inputs": ["wide", "input"], "pad_channels": true},
                    {"name": "sum2", "type": "add", "inputs": ["input", "wide"], "pad_channels": true})");
  REQUIRE(m.find("sum")->output_shape == dkm::models::Shape{5, 3, 3});
  Weights w = random_weights(m, rng);
  Activations in = random_input(m, 2, rng);
  dkm::runtime::RunOptions o;
  o.keep = {"wide"};
  auto out = dkm::runtime::run(m, w, in, o);
  const auto& wide = out.at("wide");
  for (const char* name : {"sum", "sum2"}) {
    const auto& sum = out.at(name);
    REQUIRE(sum.shape == dkm::models::Shape{5, 3, 3});
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t c = 0; c < 5; ++c)
        for (int64_t p = 0; p < 9; ++p)
          CHECK(sum.plane(n, c)[p] == wide.plane(n, c)[p] + (c < 2 ? in.plane(n, c)[p] : 0.0f));
  }
}

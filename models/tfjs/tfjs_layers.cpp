// The Keras layer classes a TF.js layers model is made of, each as dkm layers with its weights converted
// from Keras's layouts (conv HWIO, depthwise HW C M, dense in x out, activations NHWC) to dkm's (OIHW,
// out x in, CHW).
#include <fmt/core.h>

#include <map>

#include "models/error.hpp"
#include "models/tfjs/tfjs_converter.hpp"

namespace dkm::models::tfjs {

namespace {

// Keras [kh, kw, in, out] to dkm [out, in, kh, kw].
Tensor hwio_to_oihw(const Tensor& t) {
  const int64_t kh = t.shape[0], kw = t.shape[1], in = t.shape[2], out = t.shape[3];
  Tensor r{{out, in, kh, kw}, std::vector<float>(t.values.size())};
  for (int64_t y = 0; y < kh; ++y)
    for (int64_t x = 0; x < kw; ++x)
      for (int64_t i = 0; i < in; ++i)
        for (int64_t o = 0; o < out; ++o) r.values[((o * in + i) * kh + y) * kw + x] = t.values[((y * kw + x) * in + i) * out + o];
  return r;
}

// Keras depthwise [kh, kw, channels, multiplier] to dkm [channels * multiplier, 1, kh, kw]: output channel
// c * multiplier + m filters input channel c, as in TensorFlow.
Tensor depthwise_to_oihw(const Tensor& t) {
  Tensor r = hwio_to_oihw({{t.shape[0], t.shape[1], 1, t.shape[2] * t.shape[3]}, t.values});
  return r;
}

// Keras activation names (Python and TF.js spellings) to dkm's; "" is the identity.
const std::map<std::string, std::string, std::less<>>& activations() {
  static const std::map<std::string, std::string, std::less<>> m = {
      {"linear", ""},          {"relu", "relu"},         {"relu6", "relu6"},           {"sigmoid", "sigmoid"},
      {"tanh", "tanh"},        {"softmax", "softmax"},   {"elu", "elu"},               {"hard_sigmoid", "hardsigmoid"},
      {"hardSigmoid", "hardsigmoid"}, {"swish", "silu"}, {"silu", "silu"},             {"gelu", "gelu"},
      {"hard_swish", "hardswish"},    {"hard_silu", "hardswish"}, {"leaky_relu", "leaky_relu"}};
  return m;
}

std::string activation_names() {
  std::string s;
  for (const auto& [k, v] : activations()) s += (s.empty() ? "" : ", ") + k;
  return s;
}

// Layer classes dkm does not model, with the nearest supported way to express them.
const std::map<std::string, std::string, std::less<>> kAlternatives = {
    {"Conv2DTranspose", "UpSampling2D followed by Conv2D"},
    {"PReLU", "LeakyReLU (a fixed slope)"},
    {"Conv1D", "Conv2D with a kernel of height 1"},
    {"Multiply", "Add (same shapes and traffic, no learned weights)"},
    {"Cropping2D", "a Conv2D or pooling layer with \"valid\" padding"},
    {"LayerNormalization", "BatchNormalization"},
    {"GlobalAveragePooling1D", "GlobalAveragePooling2D"},
};

const char* kSupported =
    "InputLayer, Conv2D, DepthwiseConv2D, SeparableConv2D, Dense, BatchNormalization, Activation, ReLU, LeakyReLU, "
    "ELU, Softmax, Add, Concatenate, UpSampling2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, "
    "GlobalMaxPooling2D, Flatten, Reshape, Dropout, SpatialDropout2D, ZeroPadding2D";

}  // namespace

void Converter::convert(const Json&, const std::string&, bool) {
  const std::string& c = class_;
  if (c == "InputLayer") {
    const char* key = config_->contains("batch_input_shape") ? "batch_input_shape" : "batch_shape";
    if (!config_->contains(key)) fail_at("batch_input_shape", "expected the input shape [batch, height, width, channels]");
    setup_input((*config_)[key], at_ + ".config." + key);
    set_output(values_.at("\x01"));
  } else if (c == "Conv2D" || c == "Convolution2D") {
    conv(false, false);
  } else if (c == "DepthwiseConv2D") {
    conv(true, false);
  } else if (c == "SeparableConv2D" || c == "SeparableConvolution2D") {
    conv(false, true);
  } else if (c == "Dense") {
    dense();
  } else if (c == "BatchNormalization") {
    batchnorm();
  } else if (c == "MaxPooling2D" || c == "MaxPool2D" || c == "AveragePooling2D" || c == "AvgPool2D") {
    pool(c.starts_with("Max"), false);
  } else if (c == "GlobalAveragePooling2D" || c == "GlobalAvgPool2D" || c == "GlobalMaxPooling2D" ||
             c == "GlobalMaxPool2D") {
    pool(c.starts_with("GlobalMax"), true);
  } else if (c == "Activation" || c == "ReLU" || c == "LeakyReLU" || c == "ELU" || c == "Softmax") {
    activation_layer();
  } else if (c == "Add") {
    merge(LayerKind::add);
  } else if (c == "Concatenate") {
    merge(LayerKind::concat);
  } else if (c == "Flatten" || c == "Reshape") {
    flatten(c == "Reshape");
  } else if (c == "ZeroPadding2D") {
    zero_padding();
  } else if (c == "UpSampling2D") {
    upsample();
  } else if (c == "Dropout" || c == "SpatialDropout2D") {
    dropout();
  } else if (auto alt = kAlternatives.find(c); alt != kAlternatives.end()) {
    fail(fmt::format("unsupported layer class \"{}\"; the nearest supported: {}", c, alt->second));
  } else {
    fail(fmt::format("unsupported layer class \"{}\"; expected one of: {}", c, kSupported));
  }
}

Pads Converter::window_pads(const Value& x, bool same, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t dh,
                            int64_t dw) const {
  // A pending ZeroPadding2D, then TensorFlow's SAME on the padded input: output = ceil(in / stride), the odd
  // pixel at the end.
  Pads p = x.pad;
  auto axis = [same](int64_t in, int64_t k, int64_t s, int64_t d, int64_t& begin, int64_t& end) {
    int64_t out = (in + s - 1) / s;
    int64_t total = same ? std::max<int64_t>((out - 1) * s + (k - 1) * d + 1 - in, 0) : 0;
    begin += total / 2;
    end += total - total / 2;
  };
  axis(x.shape.h + x.pad.top + x.pad.bottom, kh, sh, dh, p.top, p.bottom);
  axis(x.shape.w + x.pad.left + x.pad.right, kw, sw, dw, p.left, p.right);
  return p;
}

void Converter::conv(bool depthwise, bool separable) {
  channels_last();
  Value x = input();
  if (x.flat) fail("expected a 4-D (NHWC) input, got a flat one");
  auto [kh, kw] = config_pair("kernel_size", {0, 0});
  auto [sh, sw] = config_pair("strides", {1, 1});
  auto [dh, dw] = config_pair("dilation_rate", {1, 1});
  std::string padding = config_string("padding", "valid");
  if (padding != "valid" && padding != "same")
    fail_at("padding", fmt::format("expected \"valid\" or \"same\", got \"{}\"", padding));
  bool bias = config_bool("use_bias", true);
  const int64_t c = x.shape.c;
  Layer l;
  l.kind = LayerKind::conv2d;
  l.kernel_h = kh;
  l.kernel_w = kw;
  l.stride_h = sh;
  l.stride_w = sw;
  l.dilation_h = dh;
  l.dilation_w = dw;
  l.pads = window_pads(x, padding == "same", kh, kw, sh, sw, dh, dw);
  x.pad = {};
  Tensor kernel;
  if (depthwise || separable) {
    int64_t m = config_int("depth_multiplier", 1, 1);
    kernel = depthwise_to_oihw(weight("depthwise_kernel", {kh, kw, c, m}));
    l.groups = c;
    l.out_channels = c * m;
    l.bias = depthwise && bias;
  } else {
    int64_t groups = config_int("groups", 1, 1);
    l.out_channels = config_int("filters", 0, 1);
    if (c % groups != 0) fail_at("groups", fmt::format("expected groups dividing the input channels ({}), got {}", c, groups));
    l.groups = groups;
    l.bias = bias;
    kernel = hwio_to_oihw(weight("kernel", {kh, kw, c / groups, l.out_channels}));
  }
  std::string name = separable ? name_ + "/depthwise" : name_;
  l.name = name;
  Layer& first = emit(l, {&x});
  Value out{first.name, first.output_shape};
  model_.weights[name + ".weight"] = std::move(kernel);
  if (separable) {
    Layer p;
    p.kind = LayerKind::conv2d;
    p.name = name_;
    p.out_channels = config_int("filters", 0, 1);
    p.bias = bias;
    Tensor pointwise = hwio_to_oihw(weight("pointwise_kernel", {1, 1, out.shape.c, p.out_channels}));
    Layer& second = emit(p, {&out});
    out = Value{second.name, second.output_shape};
    model_.weights[name_ + ".weight"] = std::move(pointwise);
  }
  if (bias) model_.weights[name_ + ".bias"] = weight("bias", {model_.layers.back().out_channels});
  set_output(out);
  fused_activation();
}

void Converter::dense() {
  const Value& x = input();
  const int64_t units = config_int("units", 0, 1);
  const bool bias = config_bool("use_bias", true);
  Layer l;
  l.name = name_;
  l.bias = bias;
  Value out;
  if (!x.flat && x.shape.h * x.shape.w > 1) {  // Keras applies Dense to the last axis: a 1x1 convolution
    l.kind = LayerKind::conv2d;
    l.out_channels = units;
    Tensor k = weight("kernel", {x.shape.c, units});
    k.shape = {1, 1, x.shape.c, units};
    model_.weights[name_ + ".weight"] = hwio_to_oihw(k);
  } else {
    l.kind = LayerKind::linear;
    l.out_features = units;
    const int64_t in = x.shape.numel();
    Tensor k = weight("kernel", {in, units});
    Tensor w{{units, in}, std::vector<float>(k.values.size())};
    // Column j of dkm's weight is CHW feature j; Keras's row for it is the HWC index of the same element.
    const Shape s = x.flattened_from.value_or(Shape{in, 1, 1});
    for (int64_t ch = 0; ch < s.c; ++ch)
      for (int64_t y = 0; y < s.h; ++y)
        for (int64_t xx = 0; xx < s.w; ++xx) {
          int64_t dkm_in = (ch * s.h + y) * s.w + xx, keras_in = (y * s.w + xx) * s.c + ch;
          for (int64_t o = 0; o < units; ++o) w.values[o * in + dkm_in] = k.values[keras_in * units + o];
        }
    model_.weights[name_ + ".weight"] = std::move(w);
  }
  Layer& e = emit(l, {&x});
  out = Value{e.name, e.output_shape, x.flat || e.kind == LayerKind::linear};
  if (bias) model_.weights[name_ + ".bias"] = weight("bias", {units});
  set_output(out);
  fused_activation();
}

void Converter::batchnorm() {
  const Value& x = input();
  const Json* axis = config("axis");
  const Json* a = axis && axis->is_array() && axis->size() == 1 ? &(*axis)[0] : axis;
  bool channel_axis = !a || *a == -1 || (!x.flat && *a == 3) || (x.flat && *a == 1);
  if (!channel_axis)
    fail_at("axis", fmt::format("expected the channel axis (-1{}), got {}", x.flat ? " or 1" : " or 3", json_shown(*axis)));
  const int64_t c = x.shape.c;
  // Keras stores what it learned and tracked; dkm counts a folded scale and shift per channel.
  if (config_bool("scale", true)) weight("gamma", {c});
  if (config_bool("center", true)) weight("beta", {c});
  weight("moving_mean", {c});
  weight("moving_variance", {c});
  Layer l;
  l.name = name_;
  l.kind = LayerKind::batchnorm;
  Layer& e = emit(l, {&x});
  Value out = x;
  out.layer = e.name;
  set_output(out);
}

void Converter::pool(bool max, bool global) {
  channels_last();
  Value x = input();
  if (x.flat) fail("expected a 4-D (NHWC) input, got a flat one");
  Layer l;
  l.name = name_;
  l.kind = max ? LayerKind::maxpool : LayerKind::avgpool;
  if (global) {
    l.global = true;
  } else {
    auto [kh, kw] = config_pair("pool_size", {2, 2});
    auto [sh, sw] = config_pair("strides", {kh, kw});
    std::string padding = config_string("padding", "valid");
    if (padding != "valid" && padding != "same")
      fail_at("padding", fmt::format("expected \"valid\" or \"same\", got \"{}\"", padding));
    l.kernel_h = kh;
    l.kernel_w = kw;
    l.stride_h = sh;
    l.stride_w = sw;
    l.pads = window_pads(x, padding == "same", kh, kw, sh, sw, 1, 1);
    x.pad = {};
  }
  Layer& e = emit(l, {&x});
  set_output(Value{e.name, e.output_shape, global && !config_bool("keepdims", false)});
}

void Converter::emit_activation(const std::string& keras_name, const std::string& name) {
  auto it = activations().find(keras_name);
  if (it == activations().end())
    fail(fmt::format("expected an activation dkm models ({}), got \"{}\"", activation_names(), keras_name));
  if (it->second.empty()) return;  // linear
  Value x = values_.at(name_);
  Layer l;
  l.name = name;
  l.kind = LayerKind::activation;
  l.activation = it->second;
  Layer& e = emit(l, {&x});
  x.layer = e.name;
  set_output(x);
}

void Converter::fused_activation() {
  const Json* a = config("activation");
  if (!a) return;
  if (!a->is_string()) fail_at("activation", fmt::format("expected an activation name, got {}", json_shown(*a)));
  emit_activation(a->get<std::string>(), name_ + "/" + a->get<std::string>());
}

void Converter::activation_layer() {
  set_output(input());  // the activation reads this layer's input through values_[name_]
  std::string f;
  if (class_ == "Activation") {
    const Json* a = config("activation");
    if (!a || !a->is_string()) fail_at("activation", "expected an activation name (a string)");
    f = a->get<std::string>();
  } else if (class_ == "ReLU") {
    double max_value = config_number("max_value", -1), slope = config_number("negative_slope", 0);
    if (config_number("threshold", 0) != 0) fail_at("threshold", "expected 0 (a thresholded ReLU is not modelled)");
    if (max_value >= 0 && (max_value != 6 || slope != 0))
      fail_at("max_value", "expected no cap or a cap of 6 without a negative slope (relu6)");
    f = max_value == 6 ? "relu6" : slope != 0 ? "leaky_relu" : "relu";
  } else if (class_ == "LeakyReLU") {
    f = "leaky_relu";
  } else if (class_ == "ELU") {
    f = "elu";
  } else {  // Softmax
    const Json* axis = config("axis");
    if (axis && *axis != -1) fail_at("axis", fmt::format("expected -1 (the channels), got {}", json_shown(*axis)));
    f = "softmax";
  }
  if (f == "linear") return;
  emit_activation(f, name_);
}

void Converter::merge(LayerKind kind) {
  if (inputs_.size() < 2) fail(fmt::format("expected at least 2 inputs, got {}", inputs_.size()));
  std::vector<Value> xs;
  for (size_t i = 0; i < inputs_.size(); ++i) xs.push_back(input(i));
  for (const Value& v : xs)
    if (v.flat != xs[0].flat) fail("expected inputs of the same rank (all flat or all NHWC)");
  if (kind == LayerKind::concat) {
    const Json* axis = config("axis");
    bool channels = !axis || *axis == -1 || *axis == (xs[0].flat ? 1 : 3);
    if (!channels) fail_at("axis", fmt::format("expected the channel axis (-1), got {}", json_shown(*axis)));
    for (const Value& v : xs)
      if (v.flattened_from && v.flattened_from->h * v.flattened_from->w > 1)
        fail("expected no flattened NHWC tensor among the inputs (their feature order is not dkm's)");
  }
  Layer l;
  l.name = name_;
  l.kind = kind;
  std::vector<const Value*> ptrs;
  for (const Value& v : xs) ptrs.push_back(&v);
  Layer& e = emit(l, ptrs);
  Value out{e.name, e.output_shape, xs[0].flat};
  if (kind == LayerKind::add) out.flattened_from = xs[0].flattened_from;
  set_output(out);
}

void Converter::flatten(bool reshape) {
  const Value& x = input();
  if (reshape) {
    const Json* t = config("target_shape");
    if (!t || !t->is_array() || t->empty() || t->size() > 3)
      fail_at("target_shape", "expected the target shape (an array of 1 to 3 sizes)");
    std::vector<int64_t> dims;
    for (const Json& d : *t) {
      if (!d.is_number_integer() || d.get<int64_t>() < -1 || d.get<int64_t>() == 0)
        fail_at("target_shape", fmt::format("expected positive sizes (or -1), got {}", json_shown(*t)));
      dims.push_back(d.get<int64_t>());
    }
    int64_t n = x.shape.numel();
    bool to_flat = dims.size() == 1 && (dims[0] == -1 || dims[0] == n);
    bool to_1x1 = dims.size() == 3 && dims[0] == 1 && dims[1] == 1 && (dims[2] == -1 || dims[2] == n);
    if (!to_flat && !to_1x1)
      fail_at("target_shape", fmt::format("expected [{}] or [1, 1, {}] (a flatten, or features as a 1x1 image), got {}",
                                          n, n, json_shown(*t)));
    if (to_1x1) {  // no data moves: features become channels of a 1x1 image
      if (x.flattened_from && x.flattened_from->h * x.flattened_from->w > 1)
        fail_at("target_shape", "expected features in channel order, got a flattened NHWC tensor");
      set_output(Value{x.layer, {n, 1, 1}, false});
      return;
    }
  }
  if (x.flat) {
    set_output(x);
    return;
  }
  Layer l;
  l.name = name_;
  l.kind = LayerKind::flatten;
  Layer& e = emit(l, {&x});
  Value out{e.name, e.output_shape, true};
  if (x.shape.h * x.shape.w > 1 && x.shape.c > 1) out.flattened_from = x.shape;
  set_output(out);
}

void Converter::zero_padding() {
  channels_last();
  Value x = input();
  if (x.flat) fail("expected a 4-D (NHWC) input, got a flat one");
  const Json* p = config("padding");
  Pads add;
  auto size = [&](const Json& v) {
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > (int64_t{1} << 31))
      fail_at("padding", fmt::format("expected N, [vertical, horizontal] or [[top, bottom], [left, right]], got {}",
                                     p ? json_shown(*p) : "nothing"));
    return v.get<int64_t>();
  };
  if (!p) {
    add = {1, 1, 1, 1};
  } else if (p->is_array() && p->size() == 2 && (*p)[0].is_array()) {
    if ((*p)[0].size() != 2 || !(*p)[1].is_array() || (*p)[1].size() != 2) size(Json());
    add = {size((*p)[0][0]), size((*p)[1][0]), size((*p)[0][1]), size((*p)[1][1])};
  } else if (p->is_array() && p->size() == 2) {
    int64_t v = size((*p)[0]), h = size((*p)[1]);
    add = {v, h, v, h};
  } else {
    int64_t v = size(*p);
    add = {v, v, v, v};
  }
  x.pad = {x.pad.top + add.top, x.pad.left + add.left, x.pad.bottom + add.bottom, x.pad.right + add.right};
  set_output(x);
}

void Converter::upsample() {
  channels_last();
  const Value& x = input();
  auto [sh, sw] = config_pair("size", {2, 2});
  if (sh != sw) fail_at("size", fmt::format("expected equal factors for height and width, got [{}, {}]", sh, sw));
  std::string mode = config_string("interpolation", "nearest");
  if (mode != "nearest") fail_at("interpolation", fmt::format("expected \"nearest\", got \"{}\"", mode));
  Layer l;
  l.name = name_;
  l.kind = LayerKind::upsample;
  l.scale = sh;
  Layer& e = emit(l, {&x});
  set_output(Value{e.name, e.output_shape});
}

void Converter::dropout() {
  const Value& x = input();
  double rate = config_number("rate", 0.5);
  if (rate < 0 || rate >= 1) fail_at("rate", fmt::format("expected a drop probability in [0, 1), got {}", rate));
  Layer l;
  l.name = name_;
  l.kind = LayerKind::dropout;
  l.rate = rate;
  Layer& e = emit(l, {&x});
  Value out = x;
  out.layer = e.name;
  set_output(out);
}

}  // namespace dkm::models::tfjs

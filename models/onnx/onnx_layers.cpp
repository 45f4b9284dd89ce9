// ONNX import: the operators that become dkm layers, with their weights.
#include <fmt/core.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "models/error.hpp"
#include "models/onnx/onnx_importer.hpp"

namespace dkm::models::onnx_detail {

namespace {

bool is_nchw(const Value& v) { return v.dims.size() == 4 && v.perm == std::vector<int>{0, 1, 2, 3}; }
bool is_flat(const Value& v) { return v.dims.size() == 2 && v.perm == std::vector<int>{0, 1}; }
bool unpadded(const Value& v) { return v.pad == Pads{} && v.zero_channels == 0; }

// Same-padding begin/end for one axis; SAME_LOWER puts the odd pixel first.
std::pair<int64_t, int64_t> same_pads(int64_t in, int64_t k, int64_t s, int64_t d, bool lower) {
  int64_t out = (in + s - 1) / s;
  int64_t total = std::max<int64_t>((out - 1) * s + (k - 1) * d + 1 - in, 0);
  int64_t small = total / 2, large = total - total / 2;
  return lower ? std::pair{large, small} : std::pair{small, large};
}

Tensor to_tensor(const Constant& c) { return {c.dims, c.floats}; }

}  // namespace

Pads Importer::window_pads(const Value& x, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t dh, int64_t dw) {
  std::string auto_pad = attr_string("auto_pad", "NOTSET");
  Pads p;
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    bool lower = auto_pad == "SAME_LOWER";
    std::tie(p.top, p.bottom) = same_pads(x.dims[2], kh, sh, dh, lower);
    std::tie(p.left, p.right) = same_pads(x.dims[3], kw, sw, dw, lower);
  } else if (auto_pad == "NOTSET") {
    std::vector<int64_t> pads = attr_ints("pads");
    if (!pads.empty()) {
      if (pads.size() != 4 || std::any_of(pads.begin(), pads.end(), [](int64_t v) { return v < 0; }))
        fail(fmt::format("expected 4 non-negative pads [top, left, bottom, right], got [{}]", fmt::join(pads, ",")));
      p = {pads[0], pads[1], pads[2], pads[3]};
    }
  } else if (auto_pad != "VALID") {
    fail(fmt::format("expected auto_pad NOTSET, VALID, SAME_UPPER or SAME_LOWER, got {}", auto_pad));
  }
  // A preceding zero Pad node adds to the window's own padding.
  return {p.top + x.pad.top, p.left + x.pad.left, p.bottom + x.pad.bottom, p.right + x.pad.right};
}

void Importer::conv() {
  const Value& x = value_input(0);
  if (!is_nchw(x) || x.zero_channels) fail("expected a 2-D convolution of an N,C,H,W input");
  const Constant& w = const_input(1);
  if (w.dims.size() != 4 || w.is_int)
    fail(fmt::format("expected a float weight of rank 4 (O, I/groups, kH, kW), got [{}]", fmt::join(w.dims, ",")));
  std::vector<int64_t> kernel = attr_ints("kernel_shape");
  if (!kernel.empty() && kernel != std::vector<int64_t>{w.dims[2], w.dims[3]})
    fail(fmt::format("expected kernel_shape [{}, {}] as the weight says, got [{}]", w.dims[2], w.dims[3], fmt::join(kernel, ",")));
  std::vector<int64_t> strides = attr_ints("strides"), dilations = attr_ints("dilations");
  if (strides.empty()) strides = {1, 1};
  if (dilations.empty()) dilations = {1, 1};
  if (strides.size() != 2 || dilations.size() != 2) fail("expected 2 strides and 2 dilations");
  Layer l;
  l.kind = LayerKind::conv2d;
  l.out_channels = w.dims[0];
  l.kernel_h = w.dims[2];
  l.kernel_w = w.dims[3];
  l.stride_h = strides[0];
  l.stride_w = strides[1];
  l.dilation_h = dilations[0];
  l.dilation_w = dilations[1];
  l.groups = attr_int("group", 1);
  l.pads = window_pads(x, l.kernel_h, l.kernel_w, l.stride_h, l.stride_w, l.dilation_h, l.dilation_w);
  if (l.groups < 1 || w.dims[1] * l.groups != x.dims[1])
    fail(fmt::format("expected weight input channels x group = input channels, got {} x {} != {}", w.dims[1], l.groups,
                     x.dims[1]));
  l.bias = has_input(2);
  if (l.bias) {
    const Constant& b = const_input(2);
    if (b.numel() != l.out_channels || b.is_int)
      fail(fmt::format("expected a float bias of {} values, got [{}]", l.out_channels, fmt::join(b.dims, ",")));
  }
  Layer& made = emit(std::move(l), {x.layer});
  attach(made.name, "weight", to_tensor(w), {input_name(1)});
  if (made.bias) attach(made.name, "bias", Tensor{{made.out_channels}, const_input(2).floats}, {input_name(2)});
  set_output(value_of(made));
}

void Importer::gemm() {
  const Value& a = value_input(0);
  if (!is_flat(a)) fail(fmt::format("expected a 2-D (N, features) input, got [{}]", fmt::join(a.dims, ",")));
  if (attr_int("transA", 0)) fail("expected transA = 0");
  const Constant& b = const_input(1);
  if (b.dims.size() != 2 || b.is_int) fail("expected a constant float 2-D weight");
  bool trans_b = attr_int("transB", 0) != 0;
  int64_t in = trans_b ? b.dims[1] : b.dims[0], out_features = trans_b ? b.dims[0] : b.dims[1];
  if (in != a.dims[1]) fail(fmt::format("expected a weight for {} input features, got [{}]", a.dims[1], fmt::join(b.dims, ",")));
  float alpha = attr_float("alpha", 1.0f), beta = attr_float("beta", 1.0f);
  Tensor w{{out_features, in}, std::vector<float>(b.floats.size())};
  for (int64_t o = 0; o < out_features; ++o)
    for (int64_t i = 0; i < in; ++i)
      w.values[o * in + i] = alpha * (trans_b ? b.floats[o * in + i] : b.floats[i * out_features + o]);
  Layer l;
  l.kind = LayerKind::linear;
  l.out_features = out_features;
  l.bias = has_input(2) && beta != 0.0f;
  Tensor bias;
  if (l.bias) {
    const Constant& c = const_input(2);
    if (c.is_int || (c.numel() != out_features && c.numel() != 1))
      fail(fmt::format("expected a bias of {} values, got [{}]", out_features, fmt::join(c.dims, ",")));
    bias = {{out_features}, std::vector<float>(out_features)};
    for (int64_t o = 0; o < out_features; ++o) bias.values[o] = beta * c.floats[c.numel() == 1 ? 0 : o];
  }
  Layer& made = emit(std::move(l), {a.layer});
  attach(made.name, "weight", std::move(w), {input_name(1), !trans_b, alpha});
  if (made.bias)
    attach(made.name, "bias", std::move(bias),
           {input_name(2), false, beta, const_input(2).numel() == 1 ? "the Gemm bias is a broadcast scalar" : ""});
  set_output(value_of(made));
}

void Importer::matmul() {
  const Value& a = value_input(0);
  if (!is_flat(a)) fail(fmt::format("expected a 2-D (N, features) first input, got [{}]", fmt::join(a.dims, ",")));
  const Constant& b = const_input(1);
  if (b.dims.size() != 2 || b.is_int || b.dims[0] != a.dims[1])
    fail(fmt::format("expected a constant float weight [{}, out], got [{}]", a.dims[1], fmt::join(b.dims, ",")));
  int64_t in = b.dims[0], out_features = b.dims[1];
  Tensor w{{out_features, in}, std::vector<float>(b.floats.size())};
  for (int64_t o = 0; o < out_features; ++o)
    for (int64_t i = 0; i < in; ++i) w.values[o * in + i] = b.floats[i * out_features + o];
  Layer l;
  l.kind = LayerKind::linear;
  l.out_features = out_features;
  Layer& made = emit(std::move(l), {a.layer});
  attach(made.name, "weight", std::move(w), {input_name(1), true});
  set_output(value_of(made));
}

void Importer::pool(bool max, bool global) {
  const Value& x = value_input(0);
  if (!is_nchw(x) || x.zero_channels) fail("expected a 2-D pool of an N,C,H,W input");
  Layer l;
  l.kind = max ? LayerKind::maxpool : LayerKind::avgpool;
  l.global = global;
  if (!global) {
    std::vector<int64_t> k = attr_ints("kernel_shape"), s = attr_ints("strides"), d = attr_ints("dilations");
    if (k.size() != 2) fail("expected a kernel_shape of 2 values");
    if (s.empty()) s = {1, 1};
    if (s.size() != 2) fail("expected 2 strides");
    if (!d.empty() && d != std::vector<int64_t>{1, 1}) fail("expected pool dilations of 1 (dilated pooling is not supported)");
    l.kernel_h = k[0];
    l.kernel_w = k[1];
    l.stride_h = s[0];
    l.stride_w = s[1];
    l.ceil_mode = attr_int("ceil_mode", 0) != 0;
    l.pads = window_pads(x, k[0], k[1], s[0], s[1], 1, 1);
  } else if (!unpadded(x)) {
    fail("expected no pending Pad before a global pool");
  }
  set_output(value_of(emit(std::move(l), {x.layer})));
}

void Importer::batchnorm() {
  const Value& x = value_input(0);
  if (!(is_nchw(x) || is_flat(x)) || !unpadded(x)) fail("expected a batch norm of an N,C,H,W or N,F input");
  for (int i = 1; i <= 4; ++i)
    if (const_input(i).numel() != x.dims[1])
      fail(fmt::format("expected input {} to hold {} per-channel values", i, x.dims[1]));
  Layer l;
  l.kind = LayerKind::batchnorm;
  Layer& made = emit(std::move(l), {x.layer});
  set_output(Value{made.name, x.dims, x.perm});
}

// Add(x, c) right after a Conv/Gemm/MatMul with c one value per channel: the layer's bias.
bool Importer::fold_bias(const Value& x, const Constant& c, const std::string& const_name) {
  if (x.layer == "input" || !unpadded(x) || uses_[node_->input(0) == const_name ? node_->input(1) : node_->input(0)] != 1)
    return false;
  Layer& l = layer_named(x.layer);
  int64_t channels = l.kind == LayerKind::conv2d ? l.out_channels : l.kind == LayerKind::linear ? l.out_features : 0;
  if (channels == 0 || c.is_int || c.numel() != channels || !(is_nchw(x) || is_flat(x))) return false;
  // The constant must broadcast along the channel axis: [C], [1,C] for features, [C,1,1] or [1,C,1,1] for images.
  std::vector<int64_t> d = c.dims;
  while (!d.empty() && d.front() == 1 && static_cast<int64_t>(d.size()) > (is_nchw(x) ? 3 : 1)) d.erase(d.begin());
  bool channel_axis = is_nchw(x) ? d == std::vector<int64_t>{channels, 1, 1} : d == std::vector<int64_t>{channels};
  if (!channel_axis) return false;
  std::string bias_name = l.name + ".bias";
  if (l.bias) {
    auto& b = out_.model.weights[bias_name].values;
    for (int64_t k = 0; k < channels; ++k) b[k] += c.floats[k];
    out_.origins[bias_name].not_exportable = "the bias combines the layer's own bias and a following Add";
  } else {
    l.bias = true;
    l.bias_count = channels;
    attach(l.name, "bias", Tensor{{channels}, c.floats}, {const_name});
  }
  skip("Add folded into the preceding layer's bias");
  return true;
}

void Importer::add() {
  std::vector<const Value*> xs;
  for (int i = 0; i < node_->input_size(); ++i) {
    if (input_is_constant(i)) {
      if (node_->input_size() != 2) fail("expected an Add with at most one constant operand");
      const Value& x = value_input(1 - i);
      const Constant& c = const_input(i);
      if (fold_bias(x, c, input_name(i))) return set_output(x);
      bool zero = std::all_of(c.floats.begin(), c.floats.end(), [](float f) { return f == 0.0f; }) &&
                  std::all_of(c.ints.begin(), c.ints.end(), [](int64_t v) { return v == 0; });
      if (!zero) fail("expected a constant operand that is a per-channel bias of the preceding Conv/Gemm/MatMul or zero");
      skip("Add of zero");
      return set_output(x);
    }
    xs.push_back(&value_input(i));
  }
  // A residual Add whose skip operand was zero-padded on the channel axis: dkm's add needs equal shapes and
  // the spec has no channel-pad layer, so the skip edge is dropped (no weights or MACs are lost).
  std::vector<const Value*> kept;
  for (const Value* x : xs)
    if (x->zero_channels == 0) kept.push_back(x);
  for (const Value* x : xs)
    if (x->dims != xs[0]->dims || x->pad != Pads{} || x->perm != xs[0]->perm)
      fail("expected operands of equal shape and layout (broadcasting between activations is not supported)");
  if (kept.empty()) fail("expected at least one operand that is not zero-padded on channels");
  if (kept.size() < xs.size()) skip("Add skip edge from a zero channel pad (dropped)");
  if (kept.size() == 1) return set_output(*kept[0]);
  Layer l;
  l.kind = LayerKind::add;
  std::vector<std::string> names;
  for (const Value* x : kept) names.push_back(x->layer);
  Layer& made = emit(std::move(l), names);
  set_output(Value{made.name, kept[0]->dims, kept[0]->perm});
}

void Importer::mul() {
  if (node_->input_size() != 2) fail("expected two operands");
  for (int i = 0; i < 2; ++i)
    if (input_is_constant(i)) {
      const Constant& c = const_input(i);
      bool ones = std::all_of(c.floats.begin(), c.floats.end(), [](float f) { return f == 1.0f; }) &&
                  std::all_of(c.ints.begin(), c.ints.end(), [](int64_t v) { return v == 1; });
      if (!ones) fail("expected a Mul by the constant 1; fold other scales into the weights before export");
      skip("Mul by one");
      return set_output(value_input(1 - i));
    }
  // x * HardSigmoid(x) is HardSwish, x * Sigmoid(x) is SiLU (how older exporters write them).
  for (int i = 0; i < 2; ++i) {
    const Value& x = value_input(i);
    const Value& g = value_input(1 - i);
    if (g.layer == "input" || uses_[node_->input(1 - i)] != 1) continue;
    Layer& gate = layer_named(g.layer);
    if (gate.kind != LayerKind::activation || gate.inputs != std::vector<std::string>{x.layer} || g.dims != x.dims) continue;
    if (gate.activation == "hardsigmoid") gate.activation = "hardswish";
    else if (gate.activation == "sigmoid") gate.activation = "silu";
    else continue;
    skip("Mul fused into " + gate.activation);
    return set_output(g);
  }
  fail("expected a Mul by 1 or x * HardSigmoid(x) / x * Sigmoid(x) (elementwise products of activations are not supported)");
}

void Importer::concat() {
  int64_t axis = attr_int("axis", 1);
  std::vector<const Value*> xs;
  int64_t zero_channels = 0;
  for (int i = 0; i < node_->input_size(); ++i) {
    if (!input_is_constant(i)) {
      xs.push_back(&value_input(i));
      continue;
    }
    // Concat with zeros on the channel axis after the activations: a channel zero-pad (TensorFlow's Pad).
    const Constant& c = const_input(i);
    bool zero = std::all_of(c.floats.begin(), c.floats.end(), [](float f) { return f == 0.0f; }) && !c.is_int;
    if (!zero || c.dims.size() != 4 || xs.empty()) fail("expected constant Concat operands only as trailing zero channels");
    zero_channels += c.dims[1];
  }
  if (xs.empty()) fail("expected at least one operand computed from the input");
  const Value& first = *xs[0];
  if (axis < 0) axis += static_cast<int64_t>(first.dims.size());
  if (zero_channels) {
    if (xs.size() != 1 || axis != 1 || !is_nchw(first) || !unpadded(first))
      fail("expected zero channels appended to a single N,C,H,W activation");
    Value r = first;
    r.zero_channels = zero_channels;
    r.dims[1] += zero_channels;
    return set_output(r);
  }
  bool channel_concat = std::all_of(xs.begin(), xs.end(), [&](const Value* v) {
    return axis == 1 && unpadded(*v) && (is_nchw(*v) || is_flat(*v)) && v->dims.size() == first.dims.size();
  });
  Layer l;
  l.kind = LayerKind::concat;
  std::vector<std::string> names;
  std::vector<int64_t> dims = first.dims;
  dims[axis] = 0;
  for (size_t k = 0; k < xs.size(); ++k) {
    const Value& v = *xs[k];
    if (v.dims.size() != first.dims.size()) fail("expected operands of equal rank");
    for (size_t a = 0; a < dims.size(); ++a)
      if (static_cast<int64_t>(a) != axis && v.dims[a] != first.dims[a])
        fail(fmt::format("expected operands that differ only on axis {}, got [{}] and [{}]", axis,
                         fmt::join(first.dims, ","), fmt::join(v.dims, ",")));
    dims[axis] += v.dims[axis];
    // Joining along another axis than channels (detection heads): flatten each operand and join the features.
    names.push_back(channel_concat ? v.layer : flat_layer(v, fmt::format(".flatten{}", k)));
  }
  if (xs.size() == 1) return set_output(Value{names[0], dims, channel_concat ? first.perm : std::vector<int>{}});
  Layer& made = emit(std::move(l), names);
  set_output(Value{made.name, dims, channel_concat ? first.perm : std::vector<int>{}});
}

void Importer::activation(const std::string& name) {
  const Value& x = value_input(0);
  if (!unpadded(x)) fail("expected no pending Pad before an activation");
  Layer l;
  l.kind = LayerKind::activation;
  l.activation = name;
  Layer& made = emit(std::move(l), {x.layer});
  set_output(Value{made.name, x.dims, x.perm});
}

void Importer::clip() {
  float lo = -INFINITY, hi = INFINITY;
  if (opset_ < 11) {
    lo = attr_float("min", lo);
    hi = attr_float("max", hi);
  } else {
    for (int i : {1, 2})
      if (has_input(i) && const_input(i).numel() != 1)
        fail(fmt::format("expected a one-element Clip bound in input {}, got {} elements", i, const_input(i).numel()));
    if (has_input(1)) lo = static_cast<float>(const_input(1).at(0));
    if (has_input(2)) hi = static_cast<float>(const_input(2).at(0));
  }
  if (lo == 0.0f && hi == 6.0f) return activation("relu6");
  if (lo == 0.0f && std::isinf(hi)) return activation("relu");
  fail(fmt::format("expected Clip(0, 6) (relu6) or Clip(0, inf) (relu), got Clip({}, {})", lo, hi));
}

void Importer::resize() {
  const Value& x = value_input(0);
  if (!is_nchw(x) || !unpadded(x)) fail("expected a resize of an N,C,H,W input");
  std::vector<double> scale(4, 0.0);
  const bool upsample = node_->op_type() == "Upsample";
  int scales_input = upsample || opset_ < 11 ? 1 : 2;
  if (has_input(scales_input) && const_input(scales_input).numel() == 4) {
    const Constant& s = const_input(scales_input);
    for (int i = 0; i < 4; ++i) scale[i] = s.at(i);
  } else if (!upsample && opset_ >= 11 && has_input(3) && const_input(3).numel() == 4) {
    const Constant& s = const_input(3);
    for (int i = 0; i < 4; ++i) scale[i] = s.at(i) / static_cast<double>(x.dims[i]);
  } else if (const auto* a = attr("scales"); a && a->floats_size() == 4) {
    for (int i = 0; i < 4; ++i) scale[i] = a->floats(i);
  } else {
    fail("expected 4 constant scales or sizes");
  }
  if (scale[0] != 1.0 || scale[1] != 1.0 || scale[2] != scale[3] || scale[2] < 1.0 || scale[2] != std::floor(scale[2]))
    fail(fmt::format("expected the same integer scale for height and width and 1 for batch and channels, got [{}]",
                     fmt::join(scale, ",")));
  Layer l;
  l.kind = LayerKind::upsample;
  l.scale = to_int(scale[2]);
  set_output(value_of(emit(std::move(l), {x.layer})));
}

}  // namespace dkm::models::onnx_detail

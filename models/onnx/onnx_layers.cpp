// ONNX import: the operators that become dkm layers, with their weights.
#include <fmt/core.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "models/error.hpp"
#include "models/onnx/onnx_importer.hpp"

namespace dkm::models::onnx_detail {

namespace {

bool is_nchw(const Value& v) { return v.dims.size() == 4 && v.perm == std::vector<int>{0, 1, 2, 3}; }
// A rank-4 value whose layout is not tracked as an image (after a Reshape or Transpose of tokens): a
// Conv, pool or resize reads it as N,C,H,W, through a rearrange layer when the producer's shape differs.
bool image_like(const Value& v) { return is_nchw(v) || (v.dims.size() == 4 && v.perm.empty()); }
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

// Kernel, strides, dilations and pads of a Conv or pool node, each checked as strictly as the spec
// reader checks its keys: the count (two spatial axes), the sign, and pads only with auto_pad NOTSET.
// `kernel` is the weight's (Conv) or empty (pools, which must give kernel_shape).
Window Importer::window(const Value& x, std::vector<int64_t> kernel) {
  // 2^32 bounds every setting so that the window arithmetic (kernel x dilation, input + pads) cannot overflow.
  constexpr int64_t kMax = int64_t{1} << 32;
  auto two = [&](const char* name, std::vector<int64_t> fallback, int64_t min) {
    std::vector<int64_t> v = attr_ints(name);
    if (!attr(name)) v = std::move(fallback);
    if (v.size() != 2 || std::any_of(v.begin(), v.end(), [&](int64_t e) { return e < min || e > kMax; }))
      fail(fmt::format("expected attribute {} to hold 2 values from {} to 2^32 (height, width), got [{}]", name, min,
                       fmt::join(v, ",")));
    return v;
  };
  std::vector<int64_t> k = two("kernel_shape", kernel, 1);
  if (!kernel.empty() && k != kernel)
    fail(fmt::format("expected kernel_shape [{}] as the weight says, got [{}]", fmt::join(kernel, ","), fmt::join(k, ",")));
  std::vector<int64_t> s = two("strides", {1, 1}, 1), d = two("dilations", {1, 1}, 1);
  Window w{k[0], k[1], s[0], s[1], d[0], d[1], {}};
  std::string auto_pad = attr_string("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET" && attr("pads"))
    fail(fmt::format("expected either pads or auto_pad {}, not both", auto_pad));
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    bool lower = auto_pad == "SAME_LOWER";
    std::tie(w.pads.top, w.pads.bottom) = same_pads(x.dims[2], w.kh, w.sh, w.dh, lower);
    std::tie(w.pads.left, w.pads.right) = same_pads(x.dims[3], w.kw, w.sw, w.dw, lower);
  } else if (auto_pad == "NOTSET") {
    if (attr("pads")) {
      std::vector<int64_t> pads = attr_ints("pads");
      if (pads.size() != 4 || std::any_of(pads.begin(), pads.end(), [&](int64_t v) { return v < 0 || v > kMax; }))
        fail(fmt::format("expected attribute pads to hold 4 values from 0 to 2^32 [top, left, bottom, right], got [{}]",
                         fmt::join(pads, ",")));
      w.pads = {pads[0], pads[1], pads[2], pads[3]};
    }
  } else if (auto_pad != "VALID") {
    fail(fmt::format("expected auto_pad NOTSET, VALID, SAME_UPPER or SAME_LOWER, got {}", auto_pad));
  }
  // A preceding zero Pad node adds to the window's own padding.
  w.pads = {w.pads.top + x.pad.top, w.pads.left + x.pad.left, w.pads.bottom + x.pad.bottom, w.pads.right + x.pad.right};
  return w;
}

std::string Importer::image_layer(const Value& x) {
  return is_nchw(x) ? x.layer : operand(x, shape_in(x.dims, true));
}

void Importer::conv() {
  const Value& x = value_input(0);
  if (!image_like(x) || x.zero_channels) fail("expected a 2-D convolution of an N,C,H,W input");
  const Constant& w = const_input(1);
  if (w.dims.size() != 4 || w.is_int || std::any_of(w.dims.begin(), w.dims.end(), [](int64_t d) { return d < 1; }))
    fail(fmt::format("expected a float weight of rank 4 (O, I/group, kH, kW), none of them 0, got [{}]",
                     fmt::join(w.dims, ",")));
  const int64_t groups = attr_int("group", 1);
  if (groups < 1 || x.dims[1] % groups != 0 || w.dims[0] % groups != 0 || w.dims[1] * groups != x.dims[1])
    fail(fmt::format("expected attribute group dividing the input channels ({}) and the weight's output channels ({}), "
                     "with weight input channels x group = input channels, got group {} and weight input channels {}",
                     x.dims[1], w.dims[0], groups, w.dims[1]));
  Layer l;
  l.kind = LayerKind::conv2d;
  l.out_channels = w.dims[0];
  l.groups = groups;
  emit_conv(std::move(l), window(x, {w.dims[2], w.dims[3]}), x, w);
}

// The sliding window, the bias (input 2, one value per output channel) and the weight of a Conv or
// ConvTranspose layer, kept in ONNX's layout so that the exporter writes it back where it was.
void Importer::emit_conv(Layer l, const Window& win, const Value& x, const Constant& w) {
  l.kernel_h = win.kh;
  l.kernel_w = win.kw;
  l.stride_h = win.sh;
  l.stride_w = win.sw;
  l.dilation_h = win.dh;
  l.dilation_w = win.dw;
  l.pads = win.pads;
  l.bias = has_input(2);
  if (l.bias) {
    const Constant& b = const_input(2);
    if (b.numel() != l.out_channels || b.is_int)
      fail(fmt::format("expected a float bias of {} values, got [{}]", l.out_channels, fmt::join(b.dims, ",")));
  }
  count_weights(1, 2);
  Layer& made = emit(std::move(l), {image_layer(x)});
  attach(made.name, "weight", to_tensor(w), {origin(1)});
  if (made.bias) attach(made.name, "bias", Tensor{{made.out_channels}, const_input(2).floats}, {origin(2)});
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
  // Rows that are not the batch (tokens after a Reshape in attention) each get the weights.
  l.per_position = a.dims[0] != out_.model.batch;
  l.bias = has_input(2) && beta != 0.0f;
  Tensor bias;
  if (l.bias) {
    const Constant& c = const_input(2);
    if (c.is_int || (c.numel() != out_features && c.numel() != 1))
      fail(fmt::format("expected a bias of {} values, got [{}]", out_features, fmt::join(c.dims, ",")));
    bias = {{out_features}, std::vector<float>(out_features)};
    for (int64_t o = 0; o < out_features; ++o) bias.values[o] = beta * c.floats[c.numel() == 1 ? 0 : o];
  }
  count_weights(1, 2);
  const std::string source = l.per_position ? operand(a, shape_in(a.dims, false)) : a.layer;
  Layer& made = emit(std::move(l), {source});
  attach(made.name, "weight", std::move(w), {origin(1), !trans_b, alpha});
  if (made.bias)
    attach(made.name, "bias", std::move(bias),
           {origin(2), false, beta, const_input(2).numel() == 1 ? "the Gemm bias is a broadcast scalar" : ""});
  set_output(made.per_position ? Value{made.name, {a.dims[0], out_features}, {0, 1}} : value_of(made));
}

// MatMul by a constant: a linear layer, per position (token) when the input has more than two axes.
void Importer::matmul() {
  const Value& a = value_input(0);
  if (a.dims.size() < 2) fail(fmt::format("expected a first input of rank 2 or more, got [{}]", fmt::join(a.dims, ",")));
  const Constant& b = const_input(1);
  if (b.dims.size() != 2 || b.is_int || b.dims[0] != a.dims.back())
    fail(fmt::format("expected a constant float weight [{}, out], got [{}]", a.dims.back(), fmt::join(b.dims, ",")));
  int64_t in = b.dims[0], out_features = b.dims[1];
  Tensor w{{out_features, in}, std::vector<float>(b.floats.size())};
  for (int64_t o = 0; o < out_features; ++o)
    for (int64_t i = 0; i < in; ++i) w.values[o * in + i] = b.floats[i * out_features + o];
  Layer l;
  l.kind = LayerKind::linear;
  l.out_features = out_features;
  l.per_position = !is_flat(a) || a.dims[0] != out_.model.batch;
  count_weights(1, 1);
  const std::string source = l.per_position ? operand(a, shape_in(a.dims, false)) : a.layer;
  Layer& made = emit(std::move(l), {source});
  // PyTorch without constant folding writes F.linear as MatMul(x, Transpose(W)): the weight is W itself.
  std::string stored = origin(1);
  bool transposed = true;
  if (!tensor_protos_.count(stored))
    for (const auto& n : graph_.node())
      if (n.op_type() == "Transpose" && n.output_size() == 1 && n.output(0) == stored && n.input_size() == 1 &&
          tensor_protos_.count(n.input(0)) && tensor_protos_.at(n.input(0))->dims_size() == 2 &&
          std::none_of(n.attribute().begin(), n.attribute().end(), [](const onnx::AttributeProto& a) {
            return a.name() == "perm" && a.ints_size() == 2 && a.ints(0) == 0;
          })) {
        stored = n.input(0);
        transposed = false;
      }
  attach(made.name, "weight", std::move(w), {stored, transposed});
  if (!made.per_position) return set_output(value_of(made));
  std::vector<int64_t> dims = a.dims;
  dims.back() = out_features;
  set_output(Value{made.name, dims, dims.size() == 2 ? std::vector<int>{0, 1} : std::vector<int>{}});
}

void Importer::pool(bool max, bool global) {
  const Value& x = value_input(0);
  if (!image_like(x) || x.zero_channels) fail("expected a 2-D pool of an N,C,H,W input");
  Layer l;
  l.kind = max ? LayerKind::maxpool : LayerKind::avgpool;
  l.global = global;
  if (!global) {
    if (!attr("kernel_shape")) fail("expected attribute kernel_shape");
    Window w = window(x, {});
    if (w.dh != 1 || w.dw != 1) fail("expected pool dilations of 1 (dilated pooling is not supported)");
    const int64_t ceil_mode = attr_int("ceil_mode", 0);
    if (ceil_mode != 0 && ceil_mode != 1) fail(fmt::format("expected attribute ceil_mode 0 or 1, got {}", ceil_mode));
    l.kernel_h = w.kh;
    l.kernel_w = w.kw;
    l.stride_h = w.sh;
    l.stride_w = w.sw;
    l.ceil_mode = ceil_mode == 1;
    l.pads = w.pads;
  } else if (!unpadded(x)) {
    fail("expected no pending Pad before a global pool");
  }
  set_output(value_of(emit(std::move(l), {image_layer(x)})));
}

void Importer::batchnorm() {
  const Value& x = value_input(0);
  if (!(image_like(x) || is_flat(x)) || !unpadded(x)) fail("expected a batch norm of an N,C,H,W or N,F input");
  for (int i = 1; i <= 4; ++i)
    if (const_input(i).numel() != x.dims[1])
      fail(fmt::format("expected input {} to hold {} per-channel values", i, x.dims[1]));
  Layer l;
  l.kind = LayerKind::batchnorm;
  count_weights(1, 4);  // scale and shift are the parameters; the running mean and variance are not
  // A rank-4 value of another layout (maxvit's MBConv after its window attention) is read as N,C,H,W,
  // through a rearrange layer where the producer's shape differs (as Conv reads it).
  if (is_flat(x) || is_nchw(x)) {
    Layer& made = emit(std::move(l), {x.layer});
    return set_output(Value{made.name, x.dims, x.perm});
  }
  set_output(value_of(emit(std::move(l), {image_layer(x)})));
}

// Add(x, c) right after a Conv/Gemm/MatMul with c one value per channel: the layer's bias.
bool Importer::fold_bias(const Value& x, const Constant& c, const std::string& const_name) {
  if (x.layer == "input" || !unpadded(x) || uses_[node_->input(0) == const_name ? node_->input(1) : node_->input(0)] != 1)
    return false;
  Layer& l = layer_named(x.layer);
  int64_t channels = l.kind == LayerKind::conv2d ? l.out_channels : l.kind == LayerKind::linear ? l.out_features : 0;
  if (channels == 0 || c.is_int || !c.known || c.numel() != channels || !(is_nchw(x) || is_flat(x) || l.per_position))
    return false;
  // The constant must broadcast along the channel axis: [C], [1,C] for features (and tokens, whose features
  // are the last axis), [C,1,1] or [1,C,1,1] for images.
  std::vector<int64_t> d = c.dims;
  while (!d.empty() && d.front() == 1 && static_cast<int64_t>(d.size()) > (is_nchw(x) ? 3 : 1)) d.erase(d.begin());
  bool channel_axis = is_nchw(x) ? d == std::vector<int64_t>{channels, 1, 1} : d == std::vector<int64_t>{channels};
  if (!channel_axis) return false;
  std::string bias_name = l.name + ".bias";
  take_params(c);
  if (l.bias) {
    auto& b = out_.model.weights[bias_name].values;
    for (int64_t k = 0; k < channels; ++k) b[k] += c.floats[k];
    out_.origins[bias_name].not_exportable = "the bias combines the layer's own bias and a following Add";
  } else {
    l.bias = true;
    l.bias_count = channels;
    attach(l.name, "bias", Tensor{{channels}, c.floats}, {origin(node_->input(0) == const_name ? 0 : 1)});
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
      const Constant& c = constant(input_name(i));
      if (fold_bias(x, c, input_name(i))) return set_output(x);
      bool zero = c.known && c.sources.empty() &&
                  std::all_of(c.floats.begin(), c.floats.end(), [](float f) { return f == 0.0f; }) &&
                  std::all_of(c.ints.begin(), c.ints.end(), [](int64_t v) { return v == 0; });
      if (!zero) return generic();
      skip("Add of zero");
      return set_output(x);
    }
    xs.push_back(&value_input(i));
  }
  // A residual Add whose skip operand was zero-padded on the channel axis (ONNX axis 1) reads that operand at
  // its own width: an add with pad_channels zero-extends it, so the skip edge stays in the graph and is priced.
  for (const Value* x : xs)
    if (x->dims != xs[0]->dims || x->pad != Pads{} || x->perm != xs[0]->perm) return generic();
  if (std::all_of(xs.begin(), xs.end(), [](const Value* x) { return x->zero_channels > 0; }))
    fail("expected at least one operand that is not zero-padded on channels");
  Layer l;
  l.kind = LayerKind::add;
  std::vector<std::string> names;
  for (const Value* x : xs) {
    Value narrow = *x;
    if (x->zero_channels) {
      if (x->dims.size() < 2 || x->perm.size() < 2 || x->perm[1] != 1)
        fail("expected a channel pad on the channel axis of an N,C,H,W or N,F operand");
      narrow.dims[1] -= x->zero_channels;
      narrow.zero_channels = 0;
      l.pad_channels = true;
    }
    names.push_back(operand(narrow, shape_of(narrow)));
  }
  Layer& made = emit(std::move(l), names);
  set_output(Value{made.name, xs[0]->dims, xs[0]->perm});
}

// Mul(x, c) or Div(x, c) right after a Conv/Gemm/MatMul (or its folded bias Add or scale), read by nothing
// else, with c a scalar or one value per output channel: the layer's weights and bias are scaled. The
// constant's values stay counted as the layer's parameters (PyTorch counts them), and the exporter divides
// the scale out again because the Mul stays in the written graph.
bool Importer::fold_scale(const Value& x, const Constant& c, const std::string& const_name, bool divide) {
  const std::string& x_name = node_->input(0) == const_name ? node_->input(1) : node_->input(0);
  static const std::set<std::string> kDirect = {"Conv", "Gemm", "MatMul", "Add", "Mul", "Div"};
  auto producer = producer_op_.find(x_name);
  if (x.layer == "input" || !unpadded(x) || uses_[x_name] != 1 || c.is_int || !c.known ||
      producer == producer_op_.end() || !kDirect.count(producer->second))
    return false;
  Layer& l = layer_named(x.layer);
  const int64_t channels = l.kind == LayerKind::conv2d ? l.out_channels : l.kind == LayerKind::linear ? l.out_features : 0;
  if (channels == 0 || c.dims.size() > x.dims.size()) return false;
  // The value must be the layer's own output: channels on axis 1 of an image, features last otherwise.
  const bool image = is_nchw(x);
  if (!(image || is_flat(x) || (l.per_position && x.perm.empty() && x.dims.back() == channels))) return false;
  std::vector<int64_t> d = c.dims;
  while (!d.empty() && d.front() == 1 && static_cast<int64_t>(d.size()) > (image ? 3 : 1)) d.erase(d.begin());
  const bool scalar = c.numel() == 1;
  const bool per_channel = image ? d == std::vector<int64_t>{channels, 1, 1} : d == std::vector<int64_t>{channels};
  if (!scalar && !per_channel) return false;
  std::vector<float> s(channels);
  for (int64_t k = 0; k < channels; ++k) {
    const float v = c.floats[scalar ? 0 : k];
    s[k] = divide ? 1.0f / v : v;
    if (v == 0.0f || !std::isfinite(s[k])) return false;  // a zero scale could not be divided out on export
  }
  for (const char* what : {"weight", "bias"}) {
    auto t = out_.model.weights.find(l.name + "." + what);
    if (t == out_.model.weights.end()) continue;
    const size_t per_row = t->second.values.size() / static_cast<size_t>(channels);
    for (size_t k = 0; k < t->second.values.size(); ++k) t->second.values[k] *= s[k / per_row];
    std::vector<float>& rows = out_.origins[t->first].row_scale;
    if (rows.empty()) rows.assign(channels, 1.0f);
    for (int64_t k = 0; k < channels; ++k) rows[k] *= s[k];
  }
  l.const_params += take_params(c);
  skip(node_->op_type() + " by a constant folded into the preceding layer's weights");
  return true;
}

void Importer::div() {
  if (node_->input_size() == 2 && input_is_constant(1) && !input_is_constant(0) &&
      fold_scale(value_input(0), constant(input_name(1)), input_name(1), true))
    return set_output(value_input(0));
  generic();
}

void Importer::mul() {
  if (node_->input_size() != 2) fail("expected two operands");
  for (int i = 0; i < 2; ++i)
    if (input_is_constant(i)) {
      const Constant& c = constant(input_name(i));
      bool ones = c.known && c.sources.empty() &&
                  std::all_of(c.floats.begin(), c.floats.end(), [](float f) { return f == 1.0f; }) &&
                  std::all_of(c.ints.begin(), c.ints.end(), [](int64_t v) { return v == 1; });
      if (ones) {
        skip("Mul by one");
        return set_output(value_input(1 - i));
      }
      if (fold_scale(value_input(1 - i), c, input_name(i), false)) return set_output(value_input(1 - i));
      return generic();
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
  generic();
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
    const Constant& c = constant(input_name(i));
    bool zero = c.known && std::all_of(c.floats.begin(), c.floats.end(), [](float f) { return f == 0.0f; }) && !c.is_int;
    // Anything else joined with a constant (a class token, a learned embedding) is data movement.
    if (!zero || c.dims.size() != 4 || xs.empty()) return generic();
    zero_channels += c.dims[1];
  }
  if (xs.empty()) fail("expected at least one operand computed from the input");
  const Value& first = *xs[0];
  if (axis < 0) axis += static_cast<int64_t>(first.dims.size());
  if (axis < 0 || axis >= static_cast<int64_t>(first.dims.size()))
    fail(fmt::format("expected a Concat axis within the rank of [{}], got {}", fmt::join(first.dims, ","),
                     attr_int("axis", 1)));
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
  // Tokens joined along their features (the last axis) are a concat of the channels of their matrix shapes.
  bool feature_concat = std::all_of(xs.begin(), xs.end(), [&](const Value* v) {
    return !is_nchw(*v) && unpadded(*v) && v->dims.size() == first.dims.size() &&
           axis == static_cast<int64_t>(first.dims.size()) - 1;
  });
  if (feature_concat && !channel_concat && xs.size() > 1) {
    std::vector<int64_t> dims = first.dims;
    dims[axis] = 0;
    std::vector<std::string> names;
    for (const Value* v : xs) {
      dims[axis] += v->dims[axis];
      names.push_back(operand(*v, shape_of(*v)));
    }
    Layer l;
    l.kind = LayerKind::concat;
    Layer& made = emit(std::move(l), names);
    return set_output(Value{made.name, dims, dims.size() == 2 ? std::vector<int>{0, 1} : std::vector<int>{}});
  }
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
  generic();
}

void Importer::resize() {
  const Value& x = value_input(0);
  if (!image_like(x) || !unpadded(x)) return generic();
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
    return generic();
  }
  // Other scales (fractional, per axis, with another mode) are data movement of the size shape inference gives.
  if (scale[0] != 1.0 || scale[1] != 1.0 || scale[2] != scale[3] || scale[2] < 1.0 || scale[2] != std::floor(scale[2]) ||
      scale[2] > 1e6 || attr_string("mode", "nearest") != "nearest")
    return generic();
  Layer l;
  l.kind = LayerKind::upsample;
  l.scale = to_int(scale[2]);
  set_output(value_of(emit(std::move(l), {image_layer(x)})));
}

}  // namespace dkm::models::onnx_detail

#include "models/shape_inference.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <utility>

#include "models/error.hpp"

namespace dkm::models {

namespace {

std::string shape_text(const Shape& s) { return fmt::format("{}x{}x{}", s.c, s.h, s.w); }

[[noreturn]] void fail(const LayerSite& site, const std::string& field, const std::string& expected) {
  throw InputError(site.source, field.empty() ? site.path : site.field(field), expected);
}

// One spatial axis of a sliding window (conv or pool).
struct Axis {
  int64_t in, kernel, stride, dilation;
  int64_t* pad_begin;
  int64_t* pad_end;
};

// Every importer fills these from untrusted files: a zero stride would divide by zero and a huge kernel
// or dilation would overflow, so each window setting is checked here, whoever built the layer.
void check_window(const Layer& l, const LayerSite& site) {
  auto positive = [&](int64_t h, int64_t w, const char* field, const char* what) {
    if (h < 1 || w < 1) fail(site, field, fmt::format("expected a positive {} for height and width, got [{}, {}]", what, h, w));
  };
  positive(l.kernel_h, l.kernel_w, "kernel", "kernel size");
  positive(l.stride_h, l.stride_w, "stride", "stride");
  positive(l.dilation_h, l.dilation_w, "dilation", "dilation");
  const Pads& p = l.pads;
  if (p.top < 0 || p.left < 0 || p.bottom < 0 || p.right < 0)
    fail(site, "padding", fmt::format("expected non-negative padding, got [{}, {}, {}, {}] (top, left, bottom, right)",
                                      p.top, p.left, p.bottom, p.right));
}

// ONNX SAME_UPPER: the output is ceil(in / stride); the odd pixel of padding goes at the end.
void resolve_same(const Axis& a, const LayerSite& site) {
  int64_t out = (a.in + a.stride - 1) / a.stride;
  int64_t effective = checked_add(checked_mul(a.kernel - 1, a.dilation, site, "kernel", "dilated kernel"), 1, site,
                                  "kernel", "dilated kernel");
  int64_t total = std::max<int64_t>((out - 1) * a.stride + effective - a.in, 0);
  *a.pad_begin = total / 2;
  *a.pad_end = total - total / 2;
}

// Output length of a window sliding along one axis; PyTorch's rule for ceil mode (the last window
// must start inside the input or the leading padding).
int64_t window_output(const Axis& a, bool ceil_mode, const LayerSite& site, const char* axis_name) {
  int64_t padded = checked_add(checked_add(a.in, *a.pad_begin, site, "padding", "padded input"), *a.pad_end, site,
                               "padding", "padded input");
  int64_t effective = checked_add(checked_mul(a.kernel - 1, a.dilation, site, "kernel", "dilated kernel"), 1, site,
                                  "kernel", "dilated kernel");
  if (effective > padded) {
    std::string dilated = a.dilation > 1 ? fmt::format(" (dilated: {})", effective) : "";
    fail(site, "kernel",
         fmt::format("expected a kernel {} no larger than the padded input {} ({} + padding {} + {} = {}), got {}{}",
                     axis_name, axis_name, a.in, *a.pad_begin, *a.pad_end, padded, a.kernel, dilated));
  }
  int64_t span = padded - effective;
  int64_t out = (ceil_mode ? span / a.stride + (span % a.stride != 0) : span / a.stride) + 1;
  if (ceil_mode && (out - 1) * a.stride >= a.in + *a.pad_begin) --out;
  return out;
}

// conv2d and conv_transpose2d: the window and the groups checked (each group joins in.c / groups input and
// out_channels / groups output channels), then one Axis per spatial dimension.
std::pair<Axis, Axis> conv_axes(Layer& l, const LayerSite& site) {
  const Shape& in = l.input_shapes[0];
  check_window(l, site);
  if (l.groups < 1 || in.c % l.groups != 0 || l.out_channels % l.groups != 0)
    fail(site, "groups",
         fmt::format("expected groups dividing both the input channels ({}) and out_channels ({}), got {}", in.c,
                     l.out_channels, l.groups));
  return {Axis{in.h, l.kernel_h, l.stride_h, l.dilation_h, &l.pads.top, &l.pads.bottom},
          Axis{in.w, l.kernel_w, l.stride_w, l.dilation_w, &l.pads.left, &l.pads.right}};
}

void expect_inputs(const Layer& layer, size_t at_least, size_t at_most, const LayerSite& site) {
  size_t n = layer.input_shapes.size();
  if (n < at_least || n > at_most) {
    std::string want = at_least == at_most ? fmt::format("exactly {}", at_least)
                       : at_most == SIZE_MAX ? fmt::format("at least {}", at_least)
                                             : fmt::format("{} to {}", at_least, at_most);
    fail(site, "inputs", fmt::format("expected {} input(s) for {}, got {}", want, to_string(layer.kind), n));
  }
}

void infer_conv(Layer& l, bool same, const LayerSite& site) {
  const Shape& in = l.input_shapes[0];
  auto [h, w] = conv_axes(l, site);
  if (same) {
    resolve_same(h, site);
    resolve_same(w, site);
  }
  int64_t out_h = window_output(h, false, site, "height");
  int64_t out_w = window_output(w, false, site, "width");
  l.output_shape = {l.out_channels, out_h, out_w};
  int64_t per_output = checked_mul(checked_mul(in.c / l.groups, l.kernel_h, site, "kernel", "weight count"),
                                   l.kernel_w, site, "kernel", "weight count");
  l.weight_count = checked_mul(l.out_channels, per_output, site, "out_channels", "weight count");
  l.bias_count = l.bias ? l.out_channels : 0;
  int64_t outputs = checked_mul(checked_mul(l.out_channels, out_h, site, "", "output size"), out_w, site, "",
                                "output size");
  l.macs = checked_mul(outputs, per_output, site, "", "MAC count");
}

// One axis of a transposed convolution: out = (in - 1) * stride - pads + dilation * (kernel - 1) +
// output_padding + 1. With `same` (ONNX SAME_UPPER) the output is in * stride and the pads follow from it,
// the odd pixel at the end. PyTorch and ONNX accept an output padding below the stride or the dilation.
int64_t transposed_output(const Axis& a, int64_t output_padding, bool same, const LayerSite& site, const char* axis_name) {
  if (output_padding < 0 || (output_padding >= a.stride && output_padding >= a.dilation))
    fail(site, "output_padding",
         fmt::format("expected an output padding {} below the stride ({}) or the dilation ({}), got {}", axis_name,
                     a.stride, a.dilation, output_padding));
  int64_t effective = checked_add(checked_mul(a.kernel - 1, a.dilation, site, "kernel", "dilated kernel"), 1, site,
                                  "kernel", "dilated kernel");
  int64_t full = checked_add(checked_add(checked_mul(a.in - 1, a.stride, site, "stride", "output size"), effective, site,
                                         "kernel", "output size"),
                             output_padding, site, "output_padding", "output size");
  if (same) {
    int64_t out = checked_mul(a.in, a.stride, site, "stride", "output size");
    if (full < out)
      fail(site, "padding",
           fmt::format("expected a dilated kernel {} plus output padding of at least the stride for \"same\" padding "
                       "(output = input x stride), got kernel {} (dilated: {}), output padding {}, stride {}",
                       axis_name, a.kernel, effective, output_padding, a.stride));
    *a.pad_begin = (full - out) / 2;
    *a.pad_end = full - out - (full - out) / 2;
  }
  int64_t pads = checked_add(*a.pad_begin, *a.pad_end, site, "padding", "padding");
  if (pads >= full)
    fail(site, "padding",
         fmt::format("expected padding {} below the unpadded output {} ((input {} - 1) x stride {} + dilated kernel {} + "
                     "output padding {} = {}), got {} + {}",
                     axis_name, axis_name, a.in, a.stride, effective, output_padding, full, *a.pad_begin, *a.pad_end));
  return full - pads;
}

// The direct (scatter) form: every input pixel of every input channel meets the M/groups filters of its
// group, kh x kw taps each. Its MACs are C_in x M/groups x kh x kw x H_in x W_in per image, the products a
// framework computes (PyTorch's col2im form), not the zero-inserted stride-1 form (docs/model-spec.md).
void infer_conv_transpose(Layer& l, bool same, const LayerSite& site) {
  const Shape& in = l.input_shapes[0];
  auto [h, w] = conv_axes(l, site);
  int64_t out_h = transposed_output(h, l.output_padding_h, same, site, "height");
  int64_t out_w = transposed_output(w, l.output_padding_w, same, site, "width");
  l.output_shape = {l.out_channels, out_h, out_w};
  int64_t per_input = checked_mul(checked_mul(l.out_channels / l.groups, l.kernel_h, site, "kernel", "weight count"),
                                  l.kernel_w, site, "kernel", "weight count");
  l.weight_count = checked_mul(in.c, per_input, site, "out_channels", "weight count");
  l.bias_count = l.bias ? l.out_channels : 0;
  l.macs = checked_mul(l.weight_count, checked_mul(in.h, in.w, site, "", "MAC count"), site, "", "MAC count");
}

void infer_pool(Layer& l, bool same, const LayerSite& site) {
  const Shape& in = l.input_shapes[0];
  if (l.global) {
    l.kernel_h = in.h;
    l.kernel_w = in.w;
    l.stride_h = l.stride_w = 1;
    l.pads = {};
    l.output_shape = {in.c, 1, 1};
    return;
  }
  check_window(l, site);
  Axis h{in.h, l.kernel_h, l.stride_h, 1, &l.pads.top, &l.pads.bottom};
  Axis w{in.w, l.kernel_w, l.stride_w, 1, &l.pads.left, &l.pads.right};
  if (same) {
    resolve_same(h, site);
    resolve_same(w, site);
  }
  l.output_shape = {in.c, window_output(h, l.ceil_mode, site, "height"), window_output(w, l.ceil_mode, site, "width")};
}

void infer_add(Layer& l, const LayerSite& site) {
  Shape out = l.input_shapes[0];
  for (const Shape& s : l.input_shapes) out.c = std::max(out.c, s.c);
  for (size_t i = 0; i < l.input_shapes.size(); ++i) {
    const Shape& s = l.input_shapes[i];
    // pad_channels: a narrower input is zero-extended on the channel axis; height and width still match.
    bool fits = l.pad_channels ? s.h == out.h && s.w == out.w : s == l.input_shapes[0];
    if (!fits)
      fail(site, "inputs",
           fmt::format("expected inputs of equal {} for add, got {} ({}) and {} ({})",
                       l.pad_channels ? "height and width" : "shape", shape_text(l.input_shapes[0]), l.inputs[0],
                       shape_text(s), l.inputs[i]));
  }
  l.output_shape = out;
}

void infer_concat(Layer& l, const LayerSite& site) {
  Shape out = l.input_shapes[0];
  for (size_t i = 1; i < l.input_shapes.size(); ++i) {
    const Shape& s = l.input_shapes[i];
    if (s.h != out.h || s.w != out.w)
      fail(site, "inputs",
           fmt::format("expected inputs of equal height and width for concat, got {} ({}) and {} ({})",
                       shape_text(l.input_shapes[0]), l.inputs[0], shape_text(s), l.inputs[i]));
    out.c = checked_add(out.c, s.c, site, "inputs", "channel count");
  }
  l.output_shape = out;
}

// Per-axis broadcasting of two shapes (equal, or 1 on one side), ONNX/NumPy style.
Shape broadcast(const Shape& a, const Shape& b, const LayerSite& site, const std::string& what) {
  auto axis = [&](int64_t x, int64_t y) {
    if (x != y && x != 1 && y != 1)
      fail(site, "inputs", fmt::format("expected {} that broadcast (equal sizes or 1 per axis), got {} and {}", what,
                                       shape_text(a), shape_text(b)));
    return std::max(x, y);
  };
  return {axis(a.c, b.c), axis(a.h, b.h), axis(a.w, b.w)};
}

// A batch of matrices (docs/model-spec.md, "Shapes"): A is w x (h rows, c columns), B is w x (c rows, N
// columns), broadcast over w.
void infer_matmul(Layer& l, const LayerSite& site) {
  const Shape& a = l.input_shapes[0];
  const Shape& b = l.input_shapes[1];
  if (a.c != b.h)
    fail(site, "inputs", fmt::format("expected the first operand's columns ({}) to equal the second's rows ({}) for "
                                     "matmul, got {} ({}) and {} ({})",
                                     a.c, b.h, shape_text(a), l.inputs[0], shape_text(b), l.inputs[1]));
  if (a.w != b.w && a.w != 1 && b.w != 1)
    fail(site, "inputs", fmt::format("expected equal matrix counts (or 1) for matmul, got {} ({}) and {} ({})",
                                     shape_text(a), l.inputs[0], shape_text(b), l.inputs[1]));
  l.output_shape = {b.c, a.h, std::max(a.w, b.w)};
  l.macs = checked_mul(checked_mul(l.output_shape.c, l.output_shape.h, site, "", "MAC count"),
                       checked_mul(l.output_shape.w, a.c, site, "", "MAC count"), site, "", "MAC count");
}

int64_t numel(const Shape& s, const LayerSite& site) {
  return checked_mul(checked_mul(s.c, s.h, site, "", "output size"), s.w, site, "", "output size");
}

// Element operations per output element (docs/model-spec.md, "Element operations"): the steps of the
// textbook algorithm, the same for every profile.
int64_t ops_per_element(const Layer& l) {
  switch (l.kind) {
    case LayerKind::batchnorm: return 2;  // scale, shift
    case LayerKind::layernorm: return 4;  // subtract the mean, square for the variance, normalise, scale-shift
    case LayerKind::activation: return l.activation == "softmax" ? 3 : 1;  // softmax: exp, sum, divide
    case LayerKind::elementwise: return 1;
    case LayerKind::add: return static_cast<int64_t>(l.input_shapes.size()) - 1;
    default: return 0;
  }
}

}  // namespace

int64_t checked_mul(int64_t a, int64_t b, const LayerSite& site, const std::string& field, const char* what) {
  int64_t r = 0;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &r))
    fail(site, field, fmt::format("expected sizes whose {} fits in 64 bits, got {} x {}", what, a, b));
  return r;
}

int64_t checked_add(int64_t a, int64_t b, const LayerSite& site, const std::string& field, const char* what) {
  int64_t r = 0;
  if (a < 0 || b < 0 || __builtin_add_overflow(a, b, &r))
    fail(site, field, fmt::format("expected sizes whose {} fits in 64 bits, got {} + {}", what, a, b));
  return r;
}

void infer_layer(Layer& l, bool same_padding, const LayerSite& site) {
  const bool two_or_more = l.kind == LayerKind::add || l.kind == LayerKind::concat || l.kind == LayerKind::matmul;
  size_t at_most = l.kind == LayerKind::add || l.kind == LayerKind::concat || l.kind == LayerKind::rearrange ? SIZE_MAX
                   : l.kind == LayerKind::matmul || (l.kind == LayerKind::elementwise && !l.constant) ? 2
                                                                                                          : 1;
  expect_inputs(l, two_or_more ? 2 : 1, at_most, site);
  l.weight_count = l.bias_count = l.bn_params = l.macs = l.element_ops = 0;
  const Shape& in = l.input_shapes[0];
  switch (l.kind) {
    case LayerKind::conv2d:
      infer_conv(l, same_padding, site);
      break;
    case LayerKind::conv_transpose2d:
      infer_conv_transpose(l, same_padding, site);
      break;
    case LayerKind::maxpool:
    case LayerKind::avgpool:
      infer_pool(l, same_padding, site);
      break;
    case LayerKind::linear: {
      // A linear layer flattens its input, or with per_position applies to the features of each position.
      int64_t in_features = l.per_position ? in.c : in.numel();
      l.output_shape = l.per_position ? Shape{l.out_features, in.h, in.w} : Shape{l.out_features, 1, 1};
      l.weight_count = checked_mul(l.out_features, in_features, site, "out_features", "weight count");
      l.bias_count = l.bias ? l.out_features : 0;
      l.macs = checked_mul(l.weight_count, l.per_position ? in.h * in.w : 1, site, "", "MAC count");
      break;
    }
    case LayerKind::matmul:
      infer_matmul(l, site);
      break;
    case LayerKind::elementwise:
      l.output_shape = l.constant ? broadcast(in, *l.constant, site, "an input and a constant")
                       : l.input_shapes.size() == 2 ? broadcast(in, l.input_shapes[1], site, "inputs")
                                                    : in;
      break;
    case LayerKind::layernorm:
      l.output_shape = in;
      l.bn_params = checked_mul(l.bias ? 2 : 1, in.c, site, "", "parameter count");
      break;
    case LayerKind::reduce:
      if (numel(in, site) % numel(l.target, site) != 0)
        fail(site, "shape", fmt::format("expected an output shape whose size divides the input's ({}), got {}",
                                        shape_text(in), shape_text(l.target)));
      l.output_shape = l.target;
      l.element_ops = numel(in, site);
      break;
    case LayerKind::rearrange:
      l.output_shape = l.target;
      break;
    case LayerKind::batchnorm:
      l.output_shape = in;
      l.bn_params = checked_mul(2, in.c, site, "", "parameter count");
      break;
    case LayerKind::activation:
    case LayerKind::dropout:
      l.output_shape = in;
      break;
    case LayerKind::add:
      infer_add(l, site);
      break;
    case LayerKind::concat:
      infer_concat(l, site);
      break;
    case LayerKind::flatten:
      l.output_shape = {in.numel(), 1, 1};
      break;
    case LayerKind::upsample:
      l.output_shape = {in.c, checked_mul(in.h, l.scale, site, "scale", "output size"),
                        checked_mul(in.w, l.scale, site, "scale", "output size")};
      break;
  }
  const Shape& o = l.output_shape;
  const int64_t outputs = numel(o, site);
  if (l.kind == LayerKind::maxpool || l.kind == LayerKind::avgpool)  // one compare or add per window element
    l.element_ops = checked_mul(outputs, checked_mul(l.kernel_h, l.kernel_w, site, "kernel", "element operations"), site,
                                "", "element operations");
  else if (l.kind != LayerKind::reduce)
    l.element_ops = checked_mul(outputs, ops_per_element(l), site, "", "element operations");
  checked_add(checked_add(checked_add(l.weight_count, l.bias_count, site, "", "parameter count"), l.bn_params, site, "",
                          "parameter count"),
              l.const_params, site, "", "parameter count");
}

}  // namespace dkm::models

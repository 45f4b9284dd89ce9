#include "models/shape_inference.hpp"

#include <fmt/core.h>

#include <algorithm>

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

// ONNX SAME_UPPER: the output is ceil(in / stride); the odd pixel of padding goes at the end.
void resolve_same(const Axis& a) {
  int64_t out = (a.in + a.stride - 1) / a.stride;
  int64_t effective = (a.kernel - 1) * a.dilation + 1;
  int64_t total = std::max<int64_t>((out - 1) * a.stride + effective - a.in, 0);
  *a.pad_begin = total / 2;
  *a.pad_end = total - total / 2;
}

// Output length of a window sliding along one axis; PyTorch's rule for ceil mode (the last window
// must start inside the input or the leading padding).
int64_t window_output(const Axis& a, bool ceil_mode, const LayerSite& site, const char* axis_name) {
  int64_t padded = a.in + *a.pad_begin + *a.pad_end;
  int64_t effective = (a.kernel - 1) * a.dilation + 1;
  if (effective > padded) {
    std::string dilated = a.dilation > 1 ? fmt::format(" (dilated: {})", effective) : "";
    fail(site, "kernel",
         fmt::format("expected a kernel {} no larger than the padded input {} ({} + padding {} + {} = {}), got {}{}",
                     axis_name, axis_name, a.in, *a.pad_begin, *a.pad_end, padded, a.kernel, dilated));
  }
  int64_t span = padded - effective;
  int64_t out = (ceil_mode ? (span + a.stride - 1) / a.stride : span / a.stride) + 1;
  if (ceil_mode && (out - 1) * a.stride >= a.in + *a.pad_begin) --out;
  return out;
}

void expect_inputs(const Layer& layer, size_t at_least, size_t at_most, const LayerSite& site) {
  size_t n = layer.input_shapes.size();
  if (n < at_least || n > at_most) {
    std::string want = at_least == at_most ? fmt::format("exactly {}", at_least) : fmt::format("at least {}", at_least);
    fail(site, "inputs", fmt::format("expected {} input(s) for {}, got {}", want, to_string(layer.kind), n));
  }
}

void infer_conv(Layer& l, bool same, const LayerSite& site) {
  const Shape& in = l.input_shapes[0];
  if (l.groups < 1 || in.c % l.groups != 0 || l.out_channels % l.groups != 0)
    fail(site, "groups",
         fmt::format("expected groups dividing both the input channels ({}) and out_channels ({}), got {}", in.c,
                     l.out_channels, l.groups));
  Axis h{in.h, l.kernel_h, l.stride_h, l.dilation_h, &l.pads.top, &l.pads.bottom};
  Axis w{in.w, l.kernel_w, l.stride_w, l.dilation_w, &l.pads.left, &l.pads.right};
  if (same) {
    resolve_same(h);
    resolve_same(w);
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
  Axis h{in.h, l.kernel_h, l.stride_h, 1, &l.pads.top, &l.pads.bottom};
  Axis w{in.w, l.kernel_w, l.stride_w, 1, &l.pads.left, &l.pads.right};
  if (same) {
    resolve_same(h);
    resolve_same(w);
  }
  l.output_shape = {in.c, window_output(h, l.ceil_mode, site, "height"), window_output(w, l.ceil_mode, site, "width")};
}

void infer_add(Layer& l, const LayerSite& site) {
  for (size_t i = 1; i < l.input_shapes.size(); ++i)
    if (!(l.input_shapes[i] == l.input_shapes[0]))
      fail(site, "inputs",
           fmt::format("expected inputs of equal shape for add, got {} ({}) and {} ({})", shape_text(l.input_shapes[0]),
                       l.inputs[0], shape_text(l.input_shapes[i]), l.inputs[i]));
  l.output_shape = l.input_shapes[0];
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
  bool multi = l.kind == LayerKind::add || l.kind == LayerKind::concat;
  expect_inputs(l, multi ? 2 : 1, multi ? SIZE_MAX : 1, site);
  l.weight_count = l.bias_count = l.bn_params = l.macs = 0;
  const Shape& in = l.input_shapes[0];
  switch (l.kind) {
    case LayerKind::conv2d:
      infer_conv(l, same_padding, site);
      break;
    case LayerKind::maxpool:
    case LayerKind::avgpool:
      infer_pool(l, same_padding, site);
      break;
    case LayerKind::linear: {
      int64_t in_features = in.numel();  // a linear layer flattens its input
      l.output_shape = {l.out_features, 1, 1};
      l.weight_count = checked_mul(l.out_features, in_features, site, "out_features", "weight count");
      l.bias_count = l.bias ? l.out_features : 0;
      l.macs = l.weight_count;
      break;
    }
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
  checked_mul(checked_mul(o.c, o.h, site, "", "output size"), o.w, site, "", "output size");
  checked_add(checked_add(l.weight_count, l.bias_count, site, "", "parameter count"), l.bn_params, site, "",
              "parameter count");
}

}  // namespace dkm::models

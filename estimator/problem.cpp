#include "estimator/problem.hpp"

#include <fmt/core.h>

#include "models/error.hpp"

namespace dkm::estimator {

int64_t checked_mul(int64_t a, int64_t b, const char* what) {
  int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) throw InputError(what, "", "a count below 2^63 (64-bit overflow)");
  return r;
}

int64_t checked_add(int64_t a, int64_t b, const char* what) {
  int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) throw InputError(what, "", "a count below 2^63 (64-bit overflow)");
  return r;
}

int index_bits_for(int64_t k) {
  int bits = 0;
  while (bits < 63 && (int64_t{1} << bits) < k) ++bits;
  return bits;
}

int64_t vector_dim(const ConvProblem& p, kmeans::Granularity g, int64_t group_size) {
  switch (g) {
    case kmeans::Granularity::group:
      if (group_size < 1 || (p.in_channels * p.kernel_h * p.kernel_w) % group_size != 0)
        throw InputError("compression settings", "group_size",
                         fmt::format("a length dividing the {} weights per output channel, got {}",
                                     p.in_channels * p.kernel_h * p.kernel_w, group_size));
      return group_size;
    case kmeans::Granularity::row: return p.kernel_w;
    case kmeans::Granularity::kernel: return p.kernel_h * p.kernel_w;
    case kmeans::Granularity::filter: return p.in_channels * p.kernel_h * p.kernel_w;
    case kmeans::Granularity::scalar: return 1;
  }
  return 1;
}

int64_t vector_count(const ConvProblem& p, kmeans::Granularity g, int64_t group_size) {
  return p.weights() / vector_dim(p, g, group_size);
}

int64_t ConvProblem::dot_products() const {
  const char* what = "conv problem: dot products";
  return checked_mul(checked_mul(checked_mul(batch, groups, what), out_channels, what),
                     checked_mul(out_h, out_w, what), what);
}

int64_t ConvProblem::macs() const {
  return checked_mul(dot_products(), checked_mul(in_channels, kernel_h * kernel_w, "conv problem: D"),
                     "conv problem: MACs");
}

int64_t ConvProblem::weights() const {
  const char* what = "conv problem: weights";
  return checked_mul(checked_mul(groups, out_channels, what), checked_mul(in_channels, kernel_h * kernel_w, what),
                     what);
}

int64_t ConvProblem::inputs() const {
  const char* what = "conv problem: inputs";
  return checked_mul(checked_mul(checked_mul(batch, groups, what), in_channels, what),
                     checked_mul(in_h, in_w, what), what);
}

int64_t ConvProblem::outputs() const { return dot_products(); }

ConvProblem conv_problem(const models::Model& model, const models::Layer& layer, int64_t batch) {
  if (batch < 1) throw UsageError(fmt::format("batch must be >= 1 (got {})", batch));
  ConvProblem p;
  p.batch = batch;
  p.weight_bits = model.layer_weight_bits(layer);
  p.act_bits = model.layer_act_bits(layer);
  const std::string where = fmt::format("layer '{}'", layer.name);
  if (layer.input_shapes.empty()) throw InputError(model.name, where, "a layer with a resolved input shape");
  const models::Shape in = layer.input_shapes.front();
  if (layer.kind == models::LayerKind::conv2d || layer.kind == models::LayerKind::conv_transpose2d) {
    // A transposed conv is priced as the convolution it transposes (docs/hwprofile.md, "Transposed
    // convolutions"): its scatter loop nest N, M, C, P = H_in, Q = W_in, R, S writes output p*stride +
    // r*dilation - pad, the strided conv's input projection. So the layer's output (M channels) stands where
    // a conv's input is and its input (C channels) where a conv's output is: the same loops, MACs, tiles and
    // footprints, and the weight [C_in, M/g, kH, kW] is this problem's OIHW.
    const bool transposed = layer.kind == models::LayerKind::conv_transpose2d;
    const models::Shape& x = transposed ? layer.output_shape : in;
    const models::Shape& y = transposed ? in : layer.output_shape;
    if (layer.groups < 1 || x.c % layer.groups != 0 || y.c % layer.groups != 0)
      throw InputError(model.name, where, "groups dividing the input and output channels");
    p.groups = layer.groups;
    p.in_channels = x.c / layer.groups;
    p.out_channels = y.c / layer.groups;
    p.in_h = x.h;
    p.in_w = x.w;
    p.out_h = y.h;
    p.out_w = y.w;
    p.kernel_h = layer.kernel_h;
    p.kernel_w = layer.kernel_w;
    p.stride_h = layer.stride_h;
    p.stride_w = layer.stride_w;
    p.dilation_h = layer.dilation_h;
    p.dilation_w = layer.dilation_w;
    p.pad_top = layer.pads.top;
    p.pad_left = layer.pads.left;
  } else if (layer.kind == models::LayerKind::linear) {
    // Per position (tokens): a 1x1 convolution over the h x w positions; else over the flattened input.
    p.in_channels = layer.per_position ? in.c : in.numel();
    p.out_channels = layer.out_features;
    p.in_h = p.out_h = layer.per_position ? in.h : 1;
    p.in_w = p.out_w = layer.per_position ? in.w : 1;
  } else if (layer.kind == models::LayerKind::matmul) {
    // A batch of w products (h x c) x (c x N), each linear-like: C = the inner dimension, M = the output
    // columns, P = the rows (tokens); the second operand stands where the weights are.
    const models::Shape& b = layer.input_shapes.at(1);
    p.groups = layer.output_shape.w;
    p.in_channels = in.c;
    p.out_channels = b.c;
    p.in_h = p.out_h = in.h;
    p.in_w = p.out_w = 1;
  } else {
    throw InputError(model.name, where, "a conv2d, conv_transpose2d, linear or matmul layer");
  }
  if (p.in_channels < 1 || p.out_channels < 1 || p.out_h < 1 || p.out_w < 1 || p.kernel_h < 1 || p.kernel_w < 1 ||
      p.stride_h < 1 || p.stride_w < 1 || p.dilation_h < 1 || p.dilation_w < 1)
    throw InputError(model.name, where, "positive channels, kernel, stride, dilation and output size");
  (void)p.macs();  // overflow check up front
  (void)p.inputs();
  return p;
}

}  // namespace dkm::estimator

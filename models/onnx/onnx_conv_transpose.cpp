// ONNX import of ConvTranspose: a conv_transpose2d layer (docs/model-spec.md) with its weight kept in
// ONNX's layout [C_in, M/group, kH, kW] (emit_conv), so that the exporter writes it back unchanged.
#include <fmt/core.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "models/error.hpp"
#include "models/onnx/onnx_importer.hpp"

namespace dkm::models::onnx_detail {

namespace {

constexpr int64_t kMax = int64_t{1} << 32;

bool in_range(const std::vector<int64_t>& v, int64_t min) {
  return std::all_of(v.begin(), v.end(), [&](int64_t e) { return e >= min && e <= kMax; });
}

}  // namespace

// The attributes ONNX's own ConvTranspose inference reads and the window checks of infer_shapes() do not
// cover: bounded so that its output-size arithmetic cannot overflow.
void Importer::check_conv_transpose_attributes() const {
  for (auto [name, min] : {std::pair{"output_padding", int64_t{0}}, std::pair{"output_shape", int64_t{1}}})
    if (attr(name) && !in_range(attr_ints(name), min))
      fail(fmt::format("expected attribute {} to hold values from {} to 2^32, got [{}]", name, min,
                       fmt::join(attr_ints(name), ",")));
}

void Importer::conv_transpose() {
  const Value& x = value_input(0);
  if (x.dims.size() != 4 || !(x.perm.empty() || x.perm == std::vector<int>{0, 1, 2, 3}) || x.zero_channels)
    fail(fmt::format("expected a 2-D transposed convolution of an N,C,H,W input, got [{}]", fmt::join(x.dims, ",")));
  // A zero Pad before a Conv widens its input; ConvTranspose's pads crop its output instead, so none folds.
  if (x.pad != Pads{}) fail("expected no pending Pad before a ConvTranspose (its pads crop the output)");
  const Constant& w = const_input(1);
  if (w.dims.size() != 4 || w.is_int || std::any_of(w.dims.begin(), w.dims.end(), [](int64_t d) { return d < 1; }))
    fail(fmt::format("expected a float weight of rank 4 (C_in, M/group, kH, kW), none of them 0, got [{}]",
                     fmt::join(w.dims, ",")));
  const int64_t groups = attr_int("group", 1);
  if (groups < 1 || groups > kMax || x.dims[1] % groups != 0 || w.dims[0] != x.dims[1])
    fail(fmt::format("expected attribute group dividing the input channels ({}) and a weight of {} input channels, "
                     "got group {} and a weight of [{}]",
                     x.dims[1], x.dims[1], groups, fmt::join(w.dims, ",")));
  Window win = window(x, {w.dims[2], w.dims[3]});
  auto two = [&](const char* name, int64_t min) {
    std::vector<int64_t> v = attr_ints(name);
    if (v.size() != 2 || !in_range(v, min))
      fail(fmt::format("expected attribute {} to hold 2 values from {} to 2^32 (height, width), got [{}]", name, min,
                       fmt::join(v, ",")));
    return v;
  };
  std::vector<int64_t> output_padding = attr("output_padding") ? two("output_padding", 0) : std::vector<int64_t>{0, 0};
  const int64_t strides[] = {win.sh, win.sw}, dilations[] = {win.dh, win.dw};
  for (int a = 0; a < 2; ++a)
    if (output_padding[a] >= strides[a] && output_padding[a] >= dilations[a])
      fail(fmt::format("expected attribute output_padding below the stride or the dilation of each axis (strides "
                       "[{},{}], dilations [{},{}]), got [{}]",
                       win.sh, win.sw, win.dh, win.dw, fmt::join(output_padding, ",")));
  // ONNX (docs of ConvTranspose): with output_shape or auto_pad SAME_*, the pads follow from the output
  // size; SAME_UPPER puts the odd pixel at the end, anything else at the start.
  const std::string auto_pad = attr_string("auto_pad", "NOTSET");
  const bool same = auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER";
  if (attr("output_shape") && attr("pads")) fail("expected either pads or output_shape, not both (ONNX ignores pads)");
  if (attr("output_shape") || same) {
    // Each setting is at most 2^32 and each dim at most 2^40: the sizes are checked to fit in 64 bits.
    const LayerSite site{path_, where()};
    auto mul = [&](int64_t a, int64_t b) { return checked_mul(a, b, site, "", "output size"); };
    auto add = [&](int64_t a, int64_t b) { return checked_add(a, b, site, "", "output size"); };
    const std::vector<int64_t> shape = attr("output_shape") ? two("output_shape", 1)
                                                            : std::vector<int64_t>{mul(x.dims[2], win.sh), mul(x.dims[3], win.sw)};
    const int64_t kernels[] = {win.kh, win.kw}, inputs[] = {x.dims[2], x.dims[3]};
    int64_t begin[2], end[2];
    for (int a = 0; a < 2; ++a) {
      const int64_t full = add(add(mul(strides[a], inputs[a] - 1), output_padding[a]),
                               add(mul(kernels[a] - 1, dilations[a]), 1));
      const int64_t total = full - shape[a];
      if (total < 0)
        fail(fmt::format("expected an output size of at most {} on axis {} (stride x (input - 1) + output_padding + "
                         "dilated kernel), got {}{}",
                         full, a + 2, shape[a], attr("output_shape") ? "" : " from auto_pad " + auto_pad));
      begin[a] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      end[a] = total - begin[a];
    }
    win.pads = {begin[0], begin[1], end[0], end[1]};
  }
  Layer l;
  l.kind = LayerKind::conv_transpose2d;
  l.out_channels = w.dims[1] * groups;
  l.groups = groups;
  l.output_padding_h = output_padding[0];
  l.output_padding_w = output_padding[1];
  emit_conv(std::move(l), win, x, w);
}

}  // namespace dkm::models::onnx_detail

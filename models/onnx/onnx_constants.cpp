// ONNX import: Constant nodes and the shape arithmetic exporters emit on constants, evaluated at import.
#include <fmt/core.h>

#include <algorithm>

#include "models/error.hpp"
#include "models/onnx/onnx_importer.hpp"

namespace dkm::models::onnx_detail {

void Importer::constant_node() {
  const auto* v = attr("value");
  if (v && v->has_t()) {
    tensor_protos_[node_->output(0)] = &v->t();
    return;
  }
  Constant c;
  if (const auto* f = attr("value_float")) c.floats = {f->f()};
  else if (const auto* fs = attr("value_floats")) c.floats.assign(fs->floats().begin(), fs->floats().end()), c.dims = {fs->floats_size()};
  else if (const auto* i = attr("value_int")) c.ints = {i->i()}, c.is_int = true;
  else if (const auto* is = attr("value_ints")) c.ints.assign(is->ints().begin(), is->ints().end()), c.dims = {is->ints_size()}, c.is_int = true;
  else fail("expected a Constant with a tensor, float(s) or int(s) value (sparse and string constants are not supported)");
  set_constant_output(std::move(c));
}

// Shape arithmetic on constants, as exporters emit it around Reshape (Shape -> Gather -> Concat).
void Importer::fold_constant_op() {
  const std::string& op = node_->op_type();
  Constant r;
  if (op == "Shape") {
    const Value& v = value_input(0);
    r.is_int = true;
    r.ints = v.dims;
    r.dims = {static_cast<int64_t>(v.dims.size())};
  } else if (op == "ConstantOfShape") {
    const Constant& shape = const_input(0);
    if (!shape.is_int) fail("expected an integer shape for ConstantOfShape");
    r.dims = shape.ints;
    const int64_t count = element_count(r.dims);
    if (count > (int64_t{1} << 28)) fail("expected a ConstantOfShape of at most 2^28 elements");
    Constant fill;
    fill.floats = {0.0f};
    if (const auto* v = attr("value"); v && v->has_t()) fill = decode_tensor(v->t(), path_, where() + ".value");
    if (fill.numel() != 1) fail(fmt::format("expected a one-element value for ConstantOfShape, got {}", fill.numel()));
    r.is_int = fill.is_int;
    if (r.is_int) r.ints.assign(count, fill.ints[0]);
    else r.floats.assign(count, fill.floats[0]);
  } else if (op == "Cast" || op == "Identity" || op == "Unsqueeze" || op == "Squeeze" || op == "Reshape" ||
             op == "Flatten") {
    r = const_input(0);
    int64_t to = attr_int("to", 0);
    if (op == "Cast" && r.is_int && (to == onnx::TensorProto::FLOAT || to == onnx::TensorProto::DOUBLE ||
                                     to == onnx::TensorProto::FLOAT16)) {
      r.floats.assign(r.ints.begin(), r.ints.end());
      r.ints.clear();
      r.is_int = false;
    } else if (op == "Cast" && !r.is_int && to != onnx::TensorProto::FLOAT && to != onnx::TensorProto::DOUBLE &&
               to != onnx::TensorProto::FLOAT16) {
      for (float f : r.floats) r.ints.push_back(to_int(f));
      r.floats.clear();
      r.is_int = true;
    } else if (op == "Reshape") {
      std::vector<int64_t> want = ints_from(1, "shape");
      for (size_t i = 0; i < want.size(); ++i)
        if (want[i] == 0 && i < r.dims.size()) want[i] = r.dims[i];
      auto unknown = std::find(want.begin(), want.end(), -1);
      if (unknown != want.end()) *unknown = 1, *unknown = r.numel() / std::max<int64_t>(element_count(want), 1);
      r.dims = want;
    } else if (op == "Flatten") {
      int64_t axis = attr_int("axis", 1);
      if (axis < 0) axis += static_cast<int64_t>(r.dims.size());
      if (axis < 0 || axis > static_cast<int64_t>(r.dims.size())) fail("expected a Flatten axis within the rank");
      r.dims = {element_count(std::vector<int64_t>(r.dims.begin(), r.dims.begin() + axis)),
                element_count(r.dims, static_cast<size_t>(axis))};
    } else if (op == "Unsqueeze" || op == "Squeeze") {
      std::vector<int64_t> axes = ints_from(1, "axes");
      std::vector<int64_t> dims;
      if (op == "Unsqueeze") {
        dims = r.dims;
        std::sort(axes.begin(), axes.end());
        for (int64_t a : axes) {
          if (a < 0) a += static_cast<int64_t>(dims.size()) + 1;
          dims.insert(dims.begin() + std::clamp<int64_t>(a, 0, static_cast<int64_t>(dims.size())), 1);
        }
      } else {
        for (size_t i = 0; i < r.dims.size(); ++i) {
          bool drop = axes.empty() ? r.dims[i] == 1
                                   : std::count(axes.begin(), axes.end(), static_cast<int64_t>(i)) +
                                         std::count(axes.begin(), axes.end(), static_cast<int64_t>(i - r.dims.size()));
          if (!drop) dims.push_back(r.dims[i]);
        }
      }
      r.dims = dims;
    }
  } else if (op == "Gather") {
    const Constant& data = const_input(0);
    const Constant& idx = const_input(1);
    if (attr_int("axis", 0) != 0 || data.dims.size() != 1 || !idx.is_int) fail("expected a Gather on a 1-D constant along axis 0");
    r.is_int = data.is_int;
    r.dims = idx.dims;
    for (int64_t k = 0; k < idx.numel(); ++k) {
      int64_t j = idx.ints[k] < 0 ? idx.ints[k] + data.numel() : idx.ints[k];
      if (j < 0 || j >= data.numel()) fail(fmt::format("expected Gather indices within 0..{}", data.numel() - 1));
      if (r.is_int) r.ints.push_back(data.ints[j]); else r.floats.push_back(data.floats[j]);
    }
  } else if (op == "Concat") {
    r.is_int = true;
    for (int i = 0; i < node_->input_size(); ++i) {
      const Constant& c = const_input(i);
      if (c.dims.size() > 1 || !c.is_int) fail("expected a Concat of 1-D integer constants (shape arithmetic)");
      r.ints.insert(r.ints.end(), c.ints.begin(), c.ints.end());
    }
    r.dims = {static_cast<int64_t>(r.ints.size())};
  } else if (op == "Transpose") {
    const Constant& c = const_input(0);
    std::vector<int64_t> perm = attr_ints("perm");
    if (perm.empty()) for (size_t i = c.dims.size(); i-- > 0;) perm.push_back(static_cast<int64_t>(i));
    check_perm(perm, c.dims.size());
    for (auto p : perm) r.dims.push_back(c.dims[p]);
    r.is_int = c.is_int;
    std::vector<int64_t> src_stride(c.dims.size(), 1);
    for (size_t i = c.dims.size(); i-- > 1;) src_stride[i - 1] = src_stride[i] * c.dims[i];
    std::vector<int64_t> idx(r.dims.size(), 0);
    for (int64_t k = 0; k < c.numel(); ++k) {
      int64_t src = 0;
      for (size_t a = 0; a < idx.size(); ++a) src += idx[a] * src_stride[perm[a]];
      if (r.is_int) r.ints.push_back(c.ints[src]); else r.floats.push_back(c.floats[src]);
      for (size_t a = idx.size(); a-- > 0;) {
        if (++idx[a] < r.dims[a]) break;
        idx[a] = 0;
      }
    }
  } else {
    fail(fmt::format("unsupported operator {} on constant inputs; supported: Shape, Gather, Concat, Cast, Reshape, "
                     "Flatten, Squeeze, Unsqueeze, Transpose, ConstantOfShape",
                     op));
  }
  set_constant_output(std::move(r));
}

}  // namespace dkm::models::onnx_detail

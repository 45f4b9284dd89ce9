// ONNX import: Constant nodes and the shape arithmetic exporters emit on constants, evaluated at import.
#include <fmt/core.h>
#include <fmt/ranges.h>

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
  std::vector<std::string> sources;
  bool unknown = false;
  for (int i = 0; i < node_->input_size(); ++i)
    if (has_input(i) && is_constant(input_name(i))) {
      const Constant& c = constant(input_name(i));
      sources.insert(sources.end(), c.sources.begin(), c.sources.end());
      unknown |= !c.known;
    }
  const std::set<std::string> evaluated = {"Shape", "ConstantOfShape", "Cast", "Identity", "Unsqueeze", "Squeeze",
                                           "Reshape", "Flatten", "Gather", "Concat", "Transpose", "Add", "Sub", "Mul", "Div", "Equal", "Where",
                                           "Expand", "Mod", "Slice", "Range"};
  // Shape arithmetic (x.chunk(2) computes its Slice ends as Shape / 2 * k; x.expand(n, -1, -1) a Where of
  // an Equal): small integer tensors only, a scalar broadcast against the other operands.
  bool arithmetic = op == "Add" || op == "Sub" || op == "Mul" || op == "Div" || op == "Mod" || op == "Equal" ||
                    op == "Where";
  if (arithmetic && !unknown) {
    const int n = op == "Where" ? 3 : 2;
    const Constant& first = constant(input_name(0));
    for (int i = 0; i < n && arithmetic; ++i) {
      const Constant& c = constant(input_name(i));
      // An empty operand broadcasts to an empty result (numpy's rule), which ONNX's inference sizes; only
      // operands with values are evaluated here.
      arithmetic = node_->input_size() == n && c.is_int && c.numel() >= 1 && c.numel() <= 64 &&
                   (c.numel() == 1 || c.dims == first.dims || first.numel() == 1);
    }
    if (!arithmetic) return unknown_constants(sources);
  }
  bool gather_1d = op != "Gather" || (attr_int("axis", 0) == 0 && constant(input_name(0)).dims.size() == 1);
  bool concat_ints = op != "Concat" || [&] {
    for (int i = 0; i < node_->input_size(); ++i)
      if (constant(input_name(i)).dims.size() > 1 || !constant(input_name(i)).is_int) return false;
    return true;
  }();
  if ((unknown && op != "Shape") || !evaluated.count(op) || !gather_1d || !concat_ints) return unknown_constants(sources);
  Constant r;
  if (op == "Shape") {  // of an activation or of a constant (values known or not, its dims are)
    const std::vector<int64_t>& dims = is_constant(input_name(0)) ? constant(input_name(0)).dims : value_input(0).dims;
    r.is_int = true;
    r.ints = dims;
    r.dims = {static_cast<int64_t>(dims.size())};
    sources.clear();
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
  } else if (arithmetic && op == "Where") {
    const Constant& c = constant(input_name(0));
    const Constant& a = constant(input_name(1));
    const Constant& b = constant(input_name(2));
    r.is_int = true;
    for (const Constant* x : {&c, &a, &b})
      if (x->numel() > 1) r.dims = x->dims;
    if (r.dims.empty()) r.dims = c.dims;
    for (int64_t k = 0; k < std::max({c.numel(), a.numel(), b.numel()}); ++k) {
      auto at = [&](const Constant& x) { return x.ints[x.numel() == 1 ? 0 : k]; };
      r.ints.push_back(at(c) ? at(a) : at(b));
    }
  } else if (arithmetic) {
    const Constant& a = constant(input_name(0));
    const Constant& b = constant(input_name(1));
    r.is_int = true;
    r.dims = a.numel() >= b.numel() ? a.dims : b.dims;
    for (int64_t k = 0; k < std::max(a.numel(), b.numel()); ++k) {
      const int64_t x = a.ints[a.numel() == 1 ? 0 : k], y = b.ints[b.numel() == 1 ? 0 : k];
      if (op == "Equal") {
        r.ints.push_back(x == y);
        continue;
      }
      int64_t v = 0;
      bool overflow = op == "Add"   ? __builtin_add_overflow(x, y, &v)
                      : op == "Sub" ? __builtin_sub_overflow(x, y, &v)
                      : op == "Mul" ? __builtin_mul_overflow(x, y, &v)
                                    : (y == 0 || (x == INT64_MIN && y == -1));
      if (op == "Div" && !overflow) v = x / y;
      if (op == "Mod" && !overflow) v = ((x % y) + y) % y;  // fmod = 0: the sign of the divisor, as in Python
      if (overflow) fail(fmt::format("expected shape arithmetic within 64 bits (no division by 0), got {} {} {}", x, op, y));
      r.ints.push_back(v);
    }
  } else if (op == "Expand") {  // of a constant (a class token) to a broadcast shape
    const Constant& data = constant(input_name(0));
    const Constant& shape = const_input(1);
    if (!shape.is_int) fail("expected an integer shape for Expand");
    const size_t rank = std::max(data.dims.size(), shape.ints.size());
    std::vector<int64_t> d(rank - data.dims.size(), 1), s(rank - shape.ints.size(), 1);
    d.insert(d.end(), data.dims.begin(), data.dims.end());
    s.insert(s.end(), shape.ints.begin(), shape.ints.end());
    for (size_t a = 0; a < rank; ++a) {
      if (d[a] != s[a] && d[a] != 1 && s[a] != 1)
        fail(fmt::format("expected an Expand shape that broadcasts with [{}], got [{}]", fmt::join(data.dims, ","),
                         fmt::join(shape.ints, ",")));
      r.dims.push_back(std::max(d[a], s[a]));
    }
    if (element_count(r.dims) > (int64_t{1} << 24) || element_count(r.dims) != data.numel()) {
      // Values are only needed for shapes; a real broadcast keeps its dims, not its values.
      Constant c;
      c.known = false;
      c.dims = r.dims;
      c.is_int = data.is_int;
      c.sources = sources;
      constants_[node_->output(0)] = std::move(c);
      return;
    }
    r.is_int = data.is_int;
    r.ints = data.ints;
    r.floats = data.floats;
  } else if (op == "Slice") {  // of a small constant (pads reordered by PyTorch's F.pad), any step
    const Constant& data = const_input(0);
    if (data.numel() > 4096) return unknown_constants(sources);
    auto ints = [&](int i) { return has_input(i) ? const_input(i).ints : std::vector<int64_t>{}; };
    std::vector<int64_t> starts = ints(1), ends = ints(2), axes = ints(3), steps = ints(4);
    const int64_t rank = static_cast<int64_t>(data.dims.size());
    if (axes.empty())
      for (int64_t a = 0; a < static_cast<int64_t>(starts.size()); ++a) axes.push_back(a);
    if (steps.empty()) steps.assign(starts.size(), 1);
    if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
      fail("expected Slice starts, ends, axes and steps of one length");
    std::vector<std::vector<int64_t>> picks(data.dims.size());
    for (int64_t a = 0; a < rank; ++a)
      for (int64_t i = 0; i < data.dims[a]; ++i) picks[a].push_back(i);
    for (size_t k = 0; k < starts.size(); ++k) {
      const int64_t a = axes[k] < 0 ? axes[k] + rank : axes[k];
      if (a < 0 || a >= rank || steps[k] == 0) fail("expected Slice axes within the rank and non-zero steps");
      const int64_t n = data.dims[a], step = steps[k];
      auto clamp = [&](int64_t v, int64_t lo, int64_t hi) { return std::clamp<int64_t>(v < 0 ? v + n : v, lo, hi); };
      int64_t b = step > 0 ? clamp(starts[k], 0, n) : clamp(starts[k], -1, n - 1);
      int64_t e = step > 0 ? clamp(ends[k], 0, n) : clamp(ends[k], -1, n - 1);
      if (ends[k] < -n) e = step > 0 ? 0 : -1;
      picks[a].clear();
      for (int64_t i = b; step > 0 ? i < e : i > e; i += step) picks[a].push_back(i);
    }
    std::vector<int64_t> stride(data.dims.size(), 1);
    for (int64_t a = rank - 1; a > 0; --a) stride[a - 1] = stride[a] * data.dims[a];
    for (const auto& p : picks) r.dims.push_back(static_cast<int64_t>(p.size()));
    r.is_int = data.is_int;
    std::vector<size_t> idx(picks.size(), 0);
    for (int64_t k = 0; k < element_count(r.dims); ++k) {
      int64_t src = 0;
      for (size_t a = 0; a < idx.size(); ++a) src += picks[a][idx[a]] * stride[a];
      if (r.is_int) r.ints.push_back(data.ints[src]); else r.floats.push_back(data.floats[src]);
      for (size_t a = idx.size(); a-- > 0;) {
        if (++idx[a] < picks[a].size()) break;
        idx[a] = 0;
      }
    }
  } else if (op == "Range") {  // integer start, limit, delta (window indices of a shifted-window mask)
    const Constant& a = const_input(0);
    const Constant& b = const_input(1);
    const Constant& d = const_input(2);
    if (!a.is_int || !b.is_int || !d.is_int || a.numel() != 1 || b.numel() != 1 || d.numel() != 1 || d.ints[0] == 0)
      return unknown_constants(sources);
    const int64_t start = a.ints[0], limit = b.ints[0], delta = d.ints[0];
    if (std::abs(limit - start) / std::abs(delta) > (int64_t{1} << 20)) fail("expected a Range of at most 2^20 values");
    r.is_int = true;
    for (int64_t v = start; delta > 0 ? v < limit : v > limit; v += delta) r.ints.push_back(v);
    r.dims = {static_cast<int64_t>(r.ints.size())};
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
  }
  r.sources = std::move(sources);
  // PyTorch feeds each parameter through its own Identity node when identical initial values were stored
  // once (every LayerNorm scale of a fresh model is ones): each Identity output is a parameter of its own.
  if (op == "Identity" && !r.sources.empty()) {
    r.sources = {node_->output(0)};
    source_size_[node_->output(0)] = r.numel();
  }
  set_constant_output(std::move(r));
}

// An operator on constants that dkm does not evaluate (Range, Where, Equal, ... in attention masks): its
// outputs are constants of the dims ONNX shape inference gives, values unknown.
void Importer::unknown_constants(const std::vector<std::string>& sources) {
  for (int i = 0; i < node_->output_size(); ++i) {
    if (node_->output(i).empty()) continue;
    if (!inferred_.count(node_->output(i)) && reinferred_.insert(node_index_).second) infer_from(node_index_);
    auto it = inferred_.find(node_->output(i));
    if (it == inferred_.end())
      fail(fmt::format("expected ONNX shape inference to give the shape of '{}' ({} on constants, which dkm does not "
                       "evaluate)", node_->output(i), node_->op_type()));
    Constant c;
    c.known = false;
    c.dims = it->second;
    element_count(c.dims);
    c.is_int = inferred_int_.count(node_->output(i)) != 0;
    c.sources = sources;
    constants_[node_->output(i)] = std::move(c);
  }
}

}  // namespace dkm::models::onnx_detail

// ONNX import: every operator whose output shape ONNX's own shape inference knows becomes a priced layer
// (docs/onnx.md, "Operators"): elementwise arithmetic, the product of two activations, layernorm,
// reductions and data movement (rearrange). The operators with weights and the layout tracking of images
// are in onnx_layers.cpp and onnx_import.cpp.
#include <fmt/core.h>
#include <fmt/ranges.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <cctype>

#include "models/error.hpp"
#include "models/onnx/onnx_importer.hpp"

namespace dkm::models::onnx_detail {

namespace {

bool is_image(const Value& v) { return v.dims.size() == 4 && v.perm == std::vector<int>{0, 1, 2, 3}; }

std::vector<int> perm_for(size_t rank, bool image) {
  if (image) return {0, 1, 2, 3};
  if (rank == 2) return {0, 1};
  return {};
}

std::string lower(std::string s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    // CamelCase to snake_case: "GreaterOrEqual" -> "greater_or_equal"
    if (i > 0 && std::isupper(static_cast<unsigned char>(s[i])) && std::islower(static_cast<unsigned char>(s[i - 1])))
      out += '_';
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(s[i])));
  }
  return out;
}

std::vector<int64_t> aligned(std::vector<int64_t> dims, size_t rank) {
  while (dims.size() < rank) dims.insert(dims.begin(), 1);
  return dims;
}

bool fits(const Shape& s, const Shape& out) {
  return (s.c == out.c || s.c == 1) && (s.h == out.h || s.h == 1) && (s.w == out.w || s.w == 1);
}

// One arithmetic operation per element, of one operand or of two (broadcast).
const std::set<std::string> kUnary = {
    "Sqrt", "Exp", "Log", "Erf", "Neg", "Abs", "Reciprocal", "Floor", "Ceil", "Round", "Sign", "Sin", "Cos", "Tan",
    "Not", "Softplus", "Softsign", "Selu", "Celu", "ThresholdedRelu", "Mish", "Clip", "IsNaN", "IsInf",
    "HardSigmoid", "Relu", "Sigmoid", "Tanh", "Elu", "LeakyRelu", "Gelu", "HardSwish", "Shrink"};
const std::set<std::string> kBinary = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Mod", "Sum", "Mean",
                                       "Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual", "And", "Or",
                                       "Xor", "PRelu", "Where", "BitShift"};
const std::map<std::string, std::string> kReduce = {
    {"ReduceMean", "mean"}, {"ReduceSum", "sum"},   {"ReduceMax", "max"},       {"ReduceMin", "min"},
    {"ReduceProd", "prod"}, {"ReduceL1", "l1"},     {"ReduceL2", "l2"},         {"ReduceSumSquare", "sum_square"},
    {"ReduceLogSum", "log_sum"}, {"ReduceLogSumExp", "log_sum_exp"}, {"ArgMax", "argmax"}, {"ArgMin", "argmin"},
    {"LpNormalization", "lp_norm"}};
// Operators with products (or control flow) that dkm does not model: carrying them as data movement
// would hide their arithmetic, so each names the nearest supported alternative instead.
const std::map<std::string, std::string> kUnsupported = {
    {"ConvInteger", "Conv with float weights"},          {"QLinearConv", "Conv with float weights"},
    {"MatMulInteger", "MatMul with float weights"},      {"QLinearMatMul", "MatMul with float weights"},
    {"DeformConv", "Conv"},                              {"LSTM", "MatMul per time step (an unrolled graph)"},
    {"GRU", "MatMul per time step (an unrolled graph)"}, {"RNN", "MatMul per time step (an unrolled graph)"},
    {"Loop", "an unrolled graph"},                       {"Scan", "an unrolled graph"},
    {"If", "a graph without control flow"},              {"LpPool", "AveragePool"},
    {"MaxRoiPool", "MaxPool"},                           {"RoiAlign", "Resize"}};

}  // namespace

void Importer::refuse_unsupported(const std::string& op) const {
  if (auto it = kUnsupported.find(op); it != kUnsupported.end())
    fail(fmt::format("unsupported operator {}: dkm does not model its arithmetic; the nearest supported alternative "
                     "is {} (docs/onnx.md)", op, it->second));
}

// ONNX's shape inference on the graph with the input's fixed dims. Float initializers go in without
// their data (only integer ones, such as Reshape's shapes, are read), so a large model is not copied.
void Importer::infer_shapes() {
  // ONNX's own inference divides by strides and groups without checking them: the window attributes of
  // every node are checked first, with the messages the importer gives (onnx_layers.cpp: window()).
  const std::set<std::string> windowed = {"Conv", "ConvTranspose", "ConvInteger", "QLinearConv", "MaxPool",
                                          "AveragePool", "LpPool", "DeformConv"};
  constexpr int64_t kMax = int64_t{1} << 32;
  for (const auto& n : graph_.node()) {
    node_ = &n;
    // Refused before ONNX's inference runs on them, as a ConvTranspose whose attributes do not fit: its
    // ConvTranspose rule reads the weight's second dim without checking the rank (a SIGSEGV inside libonnx
    // on a rank-1 weight; fuzz_onnx found it), so infer_from() also keeps one without a rank-4 weight out.
    refuse_unsupported(n.op_type());
    // ONNX requires attribute names to be unique in a node; with a name repeated, dkm's checks and ONNX's
    // rules could read different copies (a zero stride reached ONNX's Conv rule: SIGFPE, fuzz_onnx).
    std::set<std::string> names;
    for (const auto& a : n.attribute())
      if (!names.insert(a.name()).second) fail(fmt::format("expected each attribute once, got '{}' more than once", a.name()));
    if (n.op_type() == "ConvTranspose") check_conv_transpose_attributes();
    if (windowed.count(n.op_type()))
      for (const char* name : {"kernel_shape", "strides", "dilations", "pads", "group"}) {
        const auto* a = attr(name);
        if (!a) continue;
        const bool is_pads = std::string(name) == "pads";
        std::vector<int64_t> v(a->ints().begin(), a->ints().end());
        if (std::string(name) == "group") v = {a->i()};
        if (std::any_of(v.begin(), v.end(), [&](int64_t e) { return e < (is_pads ? 0 : 1) || e > kMax; }))
          fail(fmt::format("expected attribute {} to hold values from {} to 2^32, got [{}]", name, is_pads ? 0 : 1,
                           fmt::join(v, ",")));
      }
    ++node_index_;
  }
  node_ = nullptr;
  node_index_ = 0;
  infer_from(0);
}

namespace {

// Nodes ONNX's own inference rules mishandle; dkm computes their shapes itself (window(), conv_transpose())
// and infers the rest of the graph again from their outputs.
bool kept_out_of_onnx_inference(const onnx::NodeProto& n, const std::map<std::string, std::vector<int64_t>>& weight_dims) {
  const std::string& op = n.op_type();
  const bool conv = op == "Conv" || op == "ConvTranspose";
  if (conv && n.input_size() >= 2 && !weight_dims.count(n.input(1))) return true;
  // Without kernel_shape, ONNX's Conv rule takes the kernel from the weight's dims after the second and
  // indexes it by the input's rank: a weight of rank 2 or less gives it none (SIGSEGV inside libonnx,
  // fuzz_onnx). dkm's convolutions are 2-D (rank-4 weights); conv() refuses any other weight.
  if (op == "Conv" && n.input_size() >= 2 && weight_dims.at(n.input(1)).size() != 4) return true;
  // ONNX's ConvTranspose rule reads the weight's second dim and multiplies it by the group (at most 2^32,
  // checked above) in 64 bits, and indexes the kernel by the input's rank.
  if (op == "ConvTranspose") {
    if (n.input_size() < 2) return true;
    const std::vector<int64_t>& w = weight_dims.at(n.input(1));
    if (w.size() != 4 || w[1] < 0 || w[1] > (int64_t{1} << 30)) return true;
  }
  // ONNX's rule for Conv and pooling with an auto_pad other than VALID and no pads finds each axis' residual
  // by subtracting the stride in a loop, input size / stride times: hours on a 2^40-wide input (fuzz_onnx).
  if (op == "Conv" || op == "MaxPool" || op == "AveragePool") {
    bool auto_pad = false, pads = false, strided = false;
    for (const auto& a : n.attribute()) {
      auto_pad |= a.name() == "auto_pad" && a.s() != "VALID";
      pads |= a.name() == "pads";
      if (a.name() == "strides") strided |= std::any_of(a.ints().begin(), a.ints().end(), [](int64_t v) { return v > 1; });
    }
    if (auto_pad && !pads && strided) return true;
  }
  return false;
}

}  // namespace

// ONNX's inference on the nodes from `first` on, with what the import knows so far as their inputs: the
// activations' dims, and the constants dkm evaluated (shape arithmetic ONNX's data propagation does not
// follow, such as the pads PyTorch computes for a window partition) as initializers. Run again where a node's
// output shape is missing.
void Importer::infer_from(int first) {
  onnx::ModelProto copy;
  copy.set_ir_version(proto_.ir_version());
  *copy.mutable_opset_import() = proto_.opset_import();
  onnx::GraphProto& g = *copy.mutable_graph();
  // ONNX's Conv rule takes a missing kernel_shape from the weight's dims and then indexes the input's
  // dims and the dilations by it without comparing the ranks (a SIGSEGV inside libonnx on a rank-3 input
  // with a rank-4 weight; fuzz_onnx found it). With kernel_shape set from the weight, its own rank check
  // runs first. A Conv whose weight has no dims yet (computed by the graph) stays out of this pass
  // (kept_out_of_onnx_inference); the import refuses it, or infers it again once the weight is known.
  std::map<std::string, std::vector<int64_t>> weight_dims;
  for (const auto& t : graph_.initializer()) weight_dims[t.name()].assign(t.dims().begin(), t.dims().end());
  for (const auto& [name, c] : constants_) weight_dims.emplace(name, c.dims);
  for (int i = first; i < graph_.node_size(); ++i)
    if (!kept_out_of_onnx_inference(graph_.node(i), weight_dims)) *g.add_node() = graph_.node(i);
  for (auto& n : *g.mutable_node()) {
    if ((n.op_type() != "Conv" && n.op_type() != "ConvTranspose") || n.input_size() < 2) continue;
    if (std::any_of(n.attribute().begin(), n.attribute().end(), [](const auto& a) { return a.name() == "kernel_shape"; }))
      continue;
    auto w = weight_dims.find(n.input(1));
    if (w == weight_dims.end() || w->second.size() < 2) continue;
    onnx::AttributeProto* k = n.add_attribute();
    k->set_name("kernel_shape");
    k->set_type(onnx::AttributeProto::INTS);
    for (size_t d = 2; d < w->second.size(); ++d) k->add_ints(w->second[d]);
  }
  *g.mutable_output() = graph_.output();
  auto is_float = [](int type) {
    return type == onnx::TensorProto::FLOAT || type == onnx::TensorProto::FLOAT16 || type == onnx::TensorProto::DOUBLE ||
           type == onnx::TensorProto::BFLOAT16;
  };
  std::set<std::string> defined;
  auto add_input = [&](const std::string& name, const std::vector<int64_t>& dims, int type) {
    if (!defined.insert(name).second) return;
    onnx::ValueInfoProto* v = g.add_input();
    v->set_name(name);
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(type);
    for (int64_t d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
  };
  // ONNX's data propagation of Add, Sub, Mul and Div indexes an empty integer operand as if it held one
  // value (a SIGSEGV inside libonnx; fuzz_onnx): an integer tensor without elements goes in without data.
  auto no_elements = [](const auto& dims) { return std::any_of(dims.begin(), dims.end(), [](int64_t d) { return d <= 0; }); };
  for (const auto& t : graph_.initializer()) {
    if (!is_float(t.data_type()) && no_elements(t.dims())) {
      add_input(t.name(), std::vector<int64_t>(t.dims().begin(), t.dims().end()), t.data_type());
      continue;
    }
    onnx::TensorProto* c = g.add_initializer();
    defined.insert(t.name());
    if (!is_float(t.data_type())) {
      *c = t;
      continue;
    }
    c->set_name(t.name());
    c->set_data_type(t.data_type());
    *c->mutable_dims() = t.dims();
  }
  for (const auto& [name, c] : constants_) {
    if (defined.count(name)) continue;
    if (c.known && c.is_int && c.numel() <= 4096 && !no_elements(c.dims)) {
      onnx::TensorProto* t = g.add_initializer();
      t->set_name(name);
      t->set_data_type(onnx::TensorProto::INT64);
      for (int64_t d : c.dims) t->add_dims(d);
      for (int64_t v : c.ints) t->add_int64_data(v);
      defined.insert(name);
    } else {
      add_input(name, c.dims, c.is_int ? onnx::TensorProto::INT64 : onnx::TensorProto::FLOAT);
    }
  }
  for (const auto& [name, p] : tensor_protos_)
    if (!is_float(p->data_type()) && no_elements(p->dims())) {
      add_input(name, std::vector<int64_t>(p->dims().begin(), p->dims().end()), p->data_type());
    } else if (!defined.count(name)) {
      onnx::TensorProto* t = g.add_initializer();
      *t = *p;
      t->set_name(name);
      defined.insert(name);
    }
  for (const auto& in : graph_.input()) {
    auto it = values_.find(in.name());
    if (it != values_.end()) add_input(in.name(), it->second.dims, onnx::TensorProto::FLOAT);
  }
  for (const auto& [name, v] : values_) add_input(name, v.dims, onnx::TensorProto::FLOAT);
  try {
    onnx::shape_inference::InferShapes(copy, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(false, 0, true));
  } catch (const std::exception&) {
    // Inconsistent graphs keep what was inferred before the error; nodes past it fail where they need a shape.
  }
  auto record = [&](const onnx::ValueInfoProto& v) {
    const auto& t = v.type().tensor_type();
    if (!t.has_shape()) return;
    std::vector<int64_t> dims;
    for (const auto& d : t.shape().dim()) {
      if (!d.has_dim_value() || d.dim_value() < 0) return;
      dims.push_back(d.dim_value());
    }
    inferred_[v.name()] = dims;
    if (!is_float(t.elem_type())) inferred_int_.insert(v.name());
  };
  for (const auto& v : g.value_info()) record(v);
  for (const auto& v : g.output()) record(v);
}

// docs/model-spec.md, "Shapes": the batch comes off the first axis; an image is {C, H, W}; any other
// tensor is {last axis, the one before it, the product of the rest}.
Shape Importer::shape_in(const std::vector<int64_t>& dims, bool image) const {
  element_count(dims);
  std::vector<int64_t> e = dims.empty() ? std::vector<int64_t>{1} : dims;
  const int64_t batch = out_.model.batch;
  if (e[0] % batch == 0) e[0] /= batch;
  else if (e[0] != 1)
    fail(fmt::format("expected a first axis that is a multiple of the batch {} (or 1), got [{}]", batch, fmt::join(dims, ",")));
  if (image && e.size() == 4) return {e[1], e[2], e[3]};
  const size_t r = e.size();
  Shape s{e[r - 1], r >= 2 ? e[r - 2] : 1, 1};
  for (size_t i = 0; i + 2 < r; ++i) s.w *= e[i];
  return s;
}

Shape Importer::shape_of(const Value& v) const { return shape_in(v.dims, is_image(v)); }

std::string Importer::operand(const Value& v, const Shape& want) {
  if (v.pad != Pads{} || v.zero_channels)
    fail(fmt::format("expected no pending Pad before {} (a zero Pad is folded into the next Conv or pool only)",
                     node_->op_type()));
  const Shape& have = v.layer == "input" ? out_.model.input : layer_named(v.layer).output_shape;
  if (have == want) return v.layer;
  Layer l;
  l.kind = LayerKind::rearrange;
  l.op = have.numel() == want.numel() ? "layout" : "expand";
  l.target = want;
  return emit(std::move(l), {v.layer}, "." + std::string(have.numel() == want.numel() ? "layout" : "expand")).name;
}

void Importer::count_weights(int first, int last) {
  for (int i = first; i <= last; ++i)
    if (has_input(i) && is_constant(input_name(i))) take_params(constant(input_name(i)));
}

void Importer::generic() {
  const std::string& op = node_->op_type();
  refuse_unsupported(op);
  std::vector<const Value*> acts;
  std::vector<const Constant*> consts;
  for (int i = 0; i < node_->input_size(); ++i) {
    if (!has_input(i)) continue;
    if (is_constant(input_name(i))) consts.push_back(&constant(input_name(i)));
    else acts.push_back(&value_input(i));
  }
  std::vector<std::vector<int64_t>> outs;
  for (int i = 0; i < node_->output_size(); ++i) {
    if (!node_->output(i).empty() && !inferred_.count(node_->output(i)) && reinferred_.insert(node_index_).second)
      infer_from(node_index_);
    auto it = inferred_.find(node_->output(i));
    if (node_->output(i).empty()) {
      outs.emplace_back();
      continue;
    }
    if (it == inferred_.end() && op == "Slice" && i == 0) {
      outs.push_back(slice_dims());
      continue;
    }
    if (it == inferred_.end() && op == "Pad" && i == 0 && has_input(1) && input_is_constant(1) &&
        constant(input_name(1)).known) {
      std::vector<int64_t> dims = value_input(0).dims, pads = ints_from(1, "pads");
      if (has_input(3) || pads.size() != 2 * dims.size()) fail("expected 2 pads per axis");
      for (size_t a = 0; a < dims.size(); ++a) {
        dims[a] += pads[a] + pads[a + dims.size()];
        if (dims[a] < 0) fail(fmt::format("expected pads that leave every axis non-negative, got [{}]", fmt::join(pads, ",")));
      }
      outs.push_back(dims);
      continue;
    }
    if (it == inferred_.end())
      fail(fmt::format("unsupported operator {}: ONNX shape inference gives no fixed shape for its output '{}', so dkm "
                       "cannot carry it; the nearest supported alternative is the same computation with static shapes "
                       "(docs/onnx.md)", op, node_->output(i)));
    outs.push_back(it->second);
  }
  const size_t rank = outs[0].size();
  const bool image = rank == 4 && std::any_of(acts.begin(), acts.end(), [](const Value* v) { return is_image(*v); });
  int64_t params = 0;
  for (const Constant* c : consts) params += take_params(*c);

  Layer l;
  l.const_params = params;
  std::vector<std::string> inputs;
  const bool elementwise = (kUnary.count(op) || kBinary.count(op)) && acts.size() <= 2 && outs.size() == 1;
  if (elementwise) {
    const Shape out = shape_in(outs[0], image);
    l.kind = LayerKind::elementwise;
    l.op = lower(op);
    for (const Value* v : acts) {
      Shape s = shape_in(aligned(v->dims, rank), image);
      inputs.push_back(operand(*v, fits(s, out) ? s : out));
    }
    // With one activation, the largest constant is the second operand (a scalar as {1, 1, 1}); Clip's bounds
    // and other unary operators' settings are not operands.
    if (acts.size() == 1 && (kBinary.count(op) || consts.size() > 0) && !kUnary.count(op)) {
      const Constant* big = nullptr;
      for (const Constant* c : consts)
        if (!big || c->numel() > big->numel()) big = c;
      if (big) {
        Shape s = shape_in(aligned(big->dims, rank), image);
        l.constant = fits(s, out) ? s : out;
      }
    }
  } else if (kReduce.count(op) && acts.size() == 1 && outs.size() == 1) {
    l.kind = LayerKind::reduce;
    l.op = kReduce.at(op);
    l.target = shape_in(outs[0], image && is_image(*acts[0]));
    inputs.push_back(operand(*acts[0], shape_of(*acts[0])));
  } else {
    l.kind = LayerKind::rearrange;
    l.op = lower(op);
    for (const Value* v : acts) inputs.push_back(operand(*v, shape_of(*v)));
  }
  if (inputs.empty()) fail("expected at least one input computed from the model input");
  for (size_t i = 0; i < outs.size(); ++i) {
    if (node_->output(static_cast<int>(i)).empty()) continue;
    const bool out_image = outs[i].size() == 4 && image;
    Layer made = l;
    if (made.kind == LayerKind::rearrange) made.target = shape_in(outs[i], out_image);
    if (i > 0) made.const_params = 0;
    const Layer& e = emit(std::move(made), inputs, i > 0 ? fmt::format(".{}", i) : "");
    if (e.output_shape != shape_in(outs[i], out_image))
      fail(fmt::format("expected dkm's shape of output '{}' to follow ONNX shape inference [{}], got {}x{}x{}",
                       node_->output(static_cast<int>(i)), fmt::join(outs[i], ","), e.output_shape.c, e.output_shape.h,
                       e.output_shape.w));
    set_output(Value{e.name, outs[i], perm_for(outs[i].size(), out_image)}, static_cast<int>(i));
  }
}

// Slice's output when ONNX's data propagation could not follow its starts and ends (computed from a
// Shape by arithmetic dkm folds): the ONNX rule with clamping, positive steps only.
std::vector<int64_t> Importer::slice_dims() {
  std::vector<int64_t> dims = value_input(0).dims;
  auto ints = [&](int i) {
    std::vector<int64_t> v;
    if (!has_input(i)) return v;
    const Constant& c = const_input(i);
    if (!c.is_int) fail(fmt::format("expected integer Slice input {}", i));
    return c.ints;
  };
  std::vector<int64_t> starts = ints(1), ends = ints(2), axes = ints(3), steps = ints(4);
  const int64_t rank = static_cast<int64_t>(dims.size());
  if (axes.empty())
    for (int64_t a = 0; a < static_cast<int64_t>(starts.size()); ++a) axes.push_back(a);
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    fail("expected Slice starts, ends, axes and steps of one length");
  for (size_t k = 0; k < starts.size(); ++k) {
    int64_t a = axes[k] < 0 ? axes[k] + rank : axes[k];
    if (a < 0 || a >= rank || steps[k] < 1) fail("expected Slice axes within the rank and positive steps");
    const int64_t n = dims[a];
    auto clamp = [&](int64_t v) { return std::clamp<int64_t>(v < 0 ? (v < -n ? 0 : v + n) : v, 0, n); };
    const int64_t b = clamp(starts[k]), e = clamp(ends[k]);
    dims[a] = e > b ? (e - b + steps[k] - 1) / steps[k] : 0;
  }
  return dims;
}

// MatMul of two activations (attention: Q K^T, and the product with V): a batch of matrix products.
void Importer::matmul_activations() { matmul_of(value_input(0), value_input(1)); }

// A batched product of two activations: a matmul layer (docs/model-spec.md), with the output's value set.
void Importer::matmul_of(const Value& a, const Value& b) {
  if (a.dims.size() < 2 || b.dims.size() < 2)
    fail(fmt::format("expected MatMul operands of rank 2 or more, got [{}] and [{}]", fmt::join(a.dims, ","),
                     fmt::join(b.dims, ",")));
  const size_t rank = std::max(a.dims.size(), b.dims.size());
  Layer l;
  l.kind = LayerKind::matmul;
  std::string ia = operand(a, shape_in(aligned(a.dims, rank), false));
  std::string ib = operand(b, shape_in(aligned(b.dims, rank), false));
  const Layer& made = emit(std::move(l), {ia, ib});
  std::vector<int64_t> out = aligned(a.dims, rank);
  out[rank - 1] = b.dims.back();
  for (size_t i = 0; i + 2 < rank; ++i) out[i] = std::max(out[i], aligned(b.dims, rank)[i]);
  if (made.output_shape != shape_in(out, false))
    fail(fmt::format("expected operands whose batch axes broadcast as one group of matrices, got [{}] and [{}]",
                     fmt::join(a.dims, ","), fmt::join(b.dims, ",")));
  set_output(Value{made.name, out, perm_for(rank, false)});
}

// Einsum of two activations that is a batched matrix product: batch letters leading in the same order in
// all three terms, one row letter (first operand and output), one column letter (second operand and output)
// and one contracted letter (both operands). An operand whose last two letters come the other way round
// (maxvit's "bghid,bghjd->bghij", Q K^T) is transposed by a rearrange layer first. Other equations are
// refused with the nearest supported alternative.
void Importer::einsum() {
  auto refuse = [&](const std::string& got) {
    fail(fmt::format("unsupported operator Einsum: expected an Einsum of two activations that is a batched matrix "
                     "product, got {}; the nearest supported alternative is MatMul (docs/onnx.md)", got));
  };
  std::string eq;
  for (char ch : attr_string("equation", "")) if (ch != ' ') eq += ch;
  const size_t arrow = eq.find("->"), comma = eq.find(',');
  if (node_->input_size() != 2 || input_is_constant(0) || input_is_constant(1) || arrow == std::string::npos ||
      comma == std::string::npos || comma > arrow || eq.find('.') != std::string::npos)
    refuse(fmt::format("equation '{}' on {} operand(s){}", eq, node_->input_size(),
                       input_is_constant(0) || input_is_constant(1) ? " with a constant" : ""));
  const std::string ta = eq.substr(0, comma), tb = eq.substr(comma + 1, arrow - comma - 1), to = eq.substr(arrow + 2);
  const Value& a = value_input(0);
  const Value& b = value_input(1);
  auto in = [](const std::string& t, char ch) { return t.find(ch) != std::string::npos; };
  bool ok = ta.size() == a.dims.size() && tb.size() == b.dims.size() && ta.size() >= 2 && tb.size() == ta.size() &&
            to.size() == ta.size();
  const size_t batch = ta.size() - 2;
  ok = ok && ta.substr(0, batch) == tb.substr(0, batch) && ta.substr(0, batch) == to.substr(0, batch);
  for (size_t i = 0; ok && i < batch; ++i) ok = a.dims[i] == b.dims[i];
  if (ok) {
    const char m = to[batch], n = to[batch + 1];
    const std::string ra = ta.substr(batch), rb = tb.substr(batch);
    const char k = ra[0] == m ? ra[1] : ra[0];
    ok = in(ra, m) && in(rb, n) && in(rb, k) && k != m && k != n && m != n && !in(rb, m) && !in(ra, n);
    if (ok) {
      // Rows of A are m, columns k; rows of B are k, columns n: transpose the operands stored the other way.
      auto oriented = [&](const Value& v, bool swap, const char* suffix) {
        if (!swap) return v;
        std::vector<int64_t> dims = v.dims;
        std::swap(dims[dims.size() - 1], dims[dims.size() - 2]);
        Layer t;
        t.kind = LayerKind::rearrange;
        t.op = "transpose";
        t.target = shape_in(dims, false);
        const Layer& made = emit(std::move(t), {operand(v, shape_in(v.dims, false))}, suffix);
        return Value{made.name, dims, perm_for(dims.size(), false)};
      };
      const Value oa = oriented(a, ra[0] != m, ".transpose_a");
      const Value ob = oriented(b, rb[0] != k, ".transpose_b");
      return matmul_of(oa, ob);
    }
  }
  refuse(fmt::format("equation '{}' on [{}] and [{}]", eq, fmt::join(a.dims, ","), fmt::join(b.dims, ",")));
}

void Importer::layernorm() {
  const Value& x = value_input(0);
  const int64_t rank = static_cast<int64_t>(x.dims.size());
  int64_t axis = attr_int("axis", -1);
  if (axis < 0) axis += rank;
  if (axis != rank - 1)
    fail(fmt::format("expected a LayerNormalization over the last axis (axis -1), got axis {}; the nearest supported "
                     "alternative is its decomposed form (ReduceMean, Sub, Pow, Div, Mul, Add)", attr_int("axis", -1)));
  const Shape s = shape_in(x.dims, false);
  Layer l;
  l.kind = LayerKind::layernorm;
  l.bias = has_input(2);
  for (int i = 1; i <= (l.bias ? 2 : 1); ++i)
    if (const_input(i).numel() != s.c)
      fail(fmt::format("expected input {} to hold {} values (one per feature), got [{}]", i, s.c,
                       fmt::join(const_input(i).dims, ",")));
  count_weights(1, 2);
  const Layer& made = emit(std::move(l), {operand(x, s)});
  set_output(Value{made.name, x.dims, perm_for(x.dims.size(), false)});
}

}  // namespace dkm::models::onnx_detail

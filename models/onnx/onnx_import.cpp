// ONNX import: the graph walk, the model input and the layout-only operators (Transpose,
// Reshape, Flatten, Squeeze, Unsqueeze, Pad). Operators that become layers are in onnx_layers.cpp.
#include <fmt/core.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <numeric>

#include "models/error.hpp"
#include "models/onnx/onnx_importer.hpp"

namespace dkm::models::onnx_detail {

namespace {

std::vector<int> identity_perm(size_t rank) {
  std::vector<int> p(rank);
  std::iota(p.begin(), p.end(), 0);
  return p;
}

// Operators passed through unchanged: no weights, no effect on shapes (docs/onnx.md lists them).
const std::set<std::string> kPassThrough = {"Identity", "Dropout"};

}  // namespace

Importer::Importer(const onnx::ModelProto& proto, const std::string& path, const OnnxOptions& options)
    : proto_(proto), graph_(proto.graph()), path_(path), options_(options) {
  for (const auto& op : proto.opset_import())
    if (op.domain().empty() || op.domain() == "ai.onnx") opset_ = op.version();
  for (const auto& t : graph_.initializer()) {
    tensor_protos_[t.name()] = &t;
    initializers_.insert(t.name());
  }
  for (const auto& n : graph_.node()) {
    for (const auto& in : n.input()) ++uses_[in];
    for (const auto& out : n.output()) producer_op_[out] = n.op_type();
  }
  for (const auto& o : graph_.output()) ++uses_[o.name()];
}

std::string Importer::where() const {
  if (!node_) return "graph";
  // A node without outputs (malformed) is named by its, possibly empty, name.
  bool by_output = node_->name().empty() && node_->output_size() > 0;
  return fmt::format("node {} '{}' ({})", node_index_, by_output ? node_->output(0) : node_->name(), node_->op_type());
}

void Importer::fail(const std::string& expected) const { throw InputError(path_, where(), expected); }

bool Importer::has_input(int i) const { return i < node_->input_size() && !node_->input(i).empty(); }

std::string Importer::input_name(int i) const {
  if (!has_input(i)) fail(fmt::format("expected input {} to be present", i));
  return node_->input(i);
}

bool Importer::is_constant(const std::string& name) const {
  return constants_.count(name) != 0 || tensor_protos_.count(name) != 0;
}

const Constant& Importer::constant(const std::string& name) {
  if (auto it = constants_.find(name); it != constants_.end()) return it->second;
  auto p = tensor_protos_.find(name);
  if (p == tensor_protos_.end()) fail(fmt::format("expected '{}' to be a constant (initializer or Constant node)", name));
  Constant c = decode_tensor(*p->second, path_, fmt::format("tensor '{}'", name));
  if (!c.is_int && initializers_.count(name)) {
    c.sources = {name};
    source_size_[name] = c.numel();
  }
  return constants_.emplace(name, std::move(c)).first->second;
}

const Constant& Importer::const_input(int i) {
  const std::string name = input_name(i);
  if (!is_constant(name))
    fail(fmt::format("expected input {} ('{}') to be a constant (weights must be initializers or Constant nodes)", i,
                     name));
  const Constant& c = constant(name);
  if (!c.known)
    fail(fmt::format("expected input {} ('{}') to be a constant whose values dkm can compute (it comes from an "
                     "operator on constants dkm does not evaluate)", i, name));
  return c;
}

// The tensor a weight input's values live in: the input itself, or the initializer an Identity node passes
// on unchanged (PyTorch feeds parameters through Identity nodes), so that export writes back to the file's
// tensor. Other folded operators (a Transpose) change the layout, and export refuses those weights.
std::string Importer::origin(int i) {
  std::string name = input_name(i);
  for (int hops = 0; hops < 8 && !tensor_protos_.count(name); ++hops) {
    auto n = std::find_if(graph_.node().begin(), graph_.node().end(), [&](const onnx::NodeProto& p) {
      return p.op_type() == "Identity" && p.output_size() == 1 && p.output(0) == name && p.input_size() == 1;
    });
    if (n == graph_.node().end()) break;
    name = n->input(0);
  }
  return tensor_protos_.count(name) ? name : input_name(i);
}

int64_t Importer::take_params(const Constant& c) {
  int64_t n = 0;
  for (const auto& name : c.sources)
    if (counted_.insert(name).second) n += source_size_.at(name);
  return n;
}

const Value& Importer::value_input(int i) const {
  const std::string name = input_name(i);
  auto it = values_.find(name);
  if (it == values_.end()) {
    if (is_constant(name)) fail(fmt::format("expected input {} ('{}') to be computed from the model input, got a constant", i, name));
    fail(fmt::format("expected input {} ('{}') to be produced by an earlier node (nodes must be in topological order)",
                     i, name));
  }
  return it->second;
}

void Importer::set_output(Value v, int i) {
  if (i >= node_->output_size() || node_->output(i).empty()) return;
  // Every activation's dims agree with ONNX's own shape inference, wherever it knows them.
  if (auto it = inferred_.find(node_->output(i)); it != inferred_.end() && it->second != v.dims)
    fail(fmt::format("expected output '{}' of [{}] as ONNX shape inference gives it, dkm computed [{}]", node_->output(i),
                     fmt::join(it->second, ","), fmt::join(v.dims, ",")));
  values_[node_->output(i)] = std::move(v);
}

void Importer::set_constant_output(Constant c, int i) {
  // Every stored constant has as many values as its dims say, so numel() and indexing stay safe later.
  if (c.known && element_count(c.dims) != static_cast<int64_t>(c.is_int ? c.ints.size() : c.floats.size()))
    fail(fmt::format("expected {} values for a constant of shape [{}], got {}", element_count(c.dims),
                     fmt::join(c.dims, ","), c.is_int ? c.ints.size() : c.floats.size()));
  if (i < node_->output_size() && !node_->output(i).empty()) constants_[node_->output(i)] = std::move(c);
}

const onnx::AttributeProto* Importer::attr(const char* name) const {
  for (const auto& a : node_->attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

// An attribute of another type than the operator defines is an error, not a silent default (files that
// leave the type unset, as some old exporters did, are read by the field that is filled).
const onnx::AttributeProto* Importer::typed_attr(const char* name, int type) const {
  const auto* a = attr(name);
  if (a && a->type() != onnx::AttributeProto::UNDEFINED && a->type() != type)
    fail(fmt::format("expected attribute {} of type {}, got type {}",
                     name, onnx::AttributeProto::AttributeType_Name(static_cast<onnx::AttributeProto::AttributeType>(type)),
                     onnx::AttributeProto::AttributeType_IsValid(a->type())
                         ? onnx::AttributeProto::AttributeType_Name(a->type())
                         : std::to_string(a->type())));
  return a;
}

int64_t Importer::attr_int(const char* name, int64_t fallback) const {
  const auto* a = typed_attr(name, onnx::AttributeProto::INT);
  return a ? a->i() : fallback;
}

float Importer::attr_float(const char* name, float fallback) const {
  const auto* a = typed_attr(name, onnx::AttributeProto::FLOAT);
  return a ? a->f() : fallback;
}

std::string Importer::attr_string(const char* name, const std::string& fallback) const {
  const auto* a = typed_attr(name, onnx::AttributeProto::STRING);
  return a ? a->s() : fallback;
}

std::vector<int64_t> Importer::attr_ints(const char* name) const {
  const auto* a = typed_attr(name, onnx::AttributeProto::INTS);
  if (!a) return {};
  return {a->ints().begin(), a->ints().end()};
}

int64_t Importer::element_count(const std::vector<int64_t>& dims, size_t from) const {
  int64_t n = 1;
  for (size_t i = from; i < dims.size(); ++i) {
    const int64_t d = dims[i];
    if (d < 0 || (d > 0 && n > (int64_t{1} << 40) / d))
      fail(fmt::format("expected dimensions of at most 2^40 elements in all, none negative, got [{}]", fmt::join(dims, ",")));
    n *= d;
  }
  return n;
}

int64_t Importer::to_int(double v) const {
  constexpr double kLimit = 9007199254740992.0;  // 2^53: every integer up to here is exact in a double
  if (!(v >= -kLimit && v <= kLimit)) fail(fmt::format("expected an integer within +-2^53, got {}", v));
  return static_cast<int64_t>(v);
}

void Importer::check_perm(const std::vector<int64_t>& perm, size_t rank) const {
  std::vector<bool> seen(rank, false);
  for (int64_t p : perm) {
    if (p < 0 || p >= static_cast<int64_t>(rank) || seen[static_cast<size_t>(p)])
      fail(fmt::format("expected perm to be a permutation of 0..{}, got [{}]", static_cast<int64_t>(rank) - 1,
                       fmt::join(perm, ",")));
    seen[static_cast<size_t>(p)] = true;
  }
  if (perm.size() != rank) fail(fmt::format("expected a perm of rank {}, got {} entries", rank, perm.size()));
}

// Newer opsets moved some attributes (Reshape's shape, Pad's pads, Squeeze's axes) to constant inputs.
std::vector<int64_t> Importer::ints_from(int input, const char* attribute) {
  if (has_input(input)) {
    const Constant& c = const_input(input);
    std::vector<int64_t> v;
    for (int64_t k = 0; k < c.numel(); ++k) v.push_back(to_int(c.at(k)));
    return v;
  }
  return attr_ints(attribute);
}

Layer& Importer::layer_named(const std::string& name) { return out_.model.layers[layer_index_.at(name)]; }

Layer& Importer::emit(Layer layer, const std::vector<std::string>& inputs, const std::string& suffix) {
  std::string base = (node_->name().empty() ? node_->output(0) : node_->name()) + suffix;
  layer.name = base;
  for (int k = 2; layer_index_.count(layer.name) || layer.name == "input"; ++k) layer.name = fmt::format("{}_{}", base, k);
  layer.inputs = inputs;
  for (const auto& in : inputs)
    layer.input_shapes.push_back(in == "input" ? out_.model.input : layer_named(in).output_shape);
  infer_layer(layer, false, LayerSite{path_, where()});
  layer_index_[layer.name] = out_.model.layers.size();
  out_.model.layers.push_back(std::move(layer));
  return out_.model.layers.back();
}

Value Importer::value_of(const Layer& layer) const {
  const Shape& s = layer.output_shape;
  int64_t n = out_.model.batch;
  if (layer.kind == LayerKind::linear || layer.kind == LayerKind::flatten) return {layer.name, {n, s.c}, {0, 1}};
  return {layer.name, {n, s.c, s.h, s.w}, identity_perm(4)};
}

void Importer::attach(const std::string& layer, const char* what, Tensor t, WeightOrigin origin) {
  std::string name = layer + "." + what;
  out_.origins[name] = std::move(origin);
  out_.model.weights[name] = std::move(t);
}

void Importer::skip(const std::string& why) { ++skipped_[why]; }

void Importer::setup_input() {
  std::vector<const onnx::ValueInfoProto*> inputs;
  for (const auto& in : graph_.input())
    if (!tensor_protos_.count(in.name())) inputs.push_back(&in);
  if (inputs.size() != 1) {
    std::vector<std::string> names;
    for (auto* in : inputs) names.push_back(in->name());
    throw InputError(path_, "graph.input", fmt::format("expected exactly one non-constant input (dkm models have one), "
                                                       "got {}: [{}]", inputs.size(), fmt::join(names, ", ")));
  }
  const auto& in = *inputs[0];
  std::string site = fmt::format("input '{}'", in.name());
  std::vector<int64_t> dims;
  std::vector<std::string> shown;
  bool symbolic = false;
  for (const auto& d : in.type().tensor_type().shape().dim()) {
    bool fixed = d.has_dim_value() && d.dim_value() > 0;
    symbolic |= !fixed;
    dims.push_back(fixed ? d.dim_value() : 0);
    shown.push_back(fixed ? std::to_string(d.dim_value()) : (d.dim_param().empty() ? "?" : d.dim_param()));
  }
  const auto& given = options_.input_shape;
  if (!given.empty()) {
    if (given.size() != dims.size())
      throw InputError(path_, site, fmt::format("--input-shape has {} dimensions, the input has {} [{}]", given.size(),
                                                dims.size(), fmt::join(shown, ",")));
    for (size_t i = 0; i < dims.size(); ++i)
      if (dims[i] != 0 && dims[i] != given[i])
        throw InputError(path_, site, fmt::format("--input-shape {} disagrees with the fixed dimension {} = {} of [{}]",
                                                  fmt::join(given, ","), i, dims[i], fmt::join(shown, ",")));
    dims = given;
  } else if (symbolic) {
    throw InputError(path_, site, fmt::format("the input shape [{}] has symbolic dimensions; pass --input-shape with "
                                              "fixed ones in the same layout, e.g. --input-shape 1,3,224,224",
                                              fmt::join(shown, ",")));
  }
  Model& m = out_.model;
  if (dims.size() == 4) {
    // NHWC when every consumer is a Transpose to NCHW (TensorFlow exports), else NCHW.
    bool nhwc = true, any = false;
    for (const auto& n : graph_.node())
      for (const auto& x : n.input())
        if (x == in.name()) {
          any = true;
          std::vector<int64_t> perm;
          for (const auto& a : n.attribute())
            if (a.name() == "perm") perm.assign(a.ints().begin(), a.ints().end());
          nhwc &= n.op_type() == "Transpose" && perm == std::vector<int64_t>{0, 3, 1, 2};
        }
    nhwc &= any;
    m.input = nhwc ? Shape{dims[3], dims[1], dims[2]} : Shape{dims[1], dims[2], dims[3]};
    values_[in.name()] = {"input", dims, nhwc ? std::vector<int>{0, 2, 3, 1} : identity_perm(4)};
  } else if (dims.size() == 2) {
    m.input = {dims[1], 1, 1};
    values_[in.name()] = {"input", dims, {0, 1}};
  } else {
    throw InputError(path_, site, fmt::format("expected an image input (N,C,H,W or N,H,W,C) or features (N,F), got "
                                              "[{}]", fmt::join(shown, ",")));
  }
  m.batch = dims[0];
}

Imported Importer::run() {
  Model& m = out_.model;
  m.name = std::filesystem::path(path_).stem().string();
  setup_input();
  infer_shapes();
  for (const auto& n : graph_.node()) {
    node_ = &n;
    visit(n);
    ++node_index_;
  }
  node_ = nullptr;
  strip_common_prefix();
  if (std::none_of(m.layers.begin(), m.layers.end(), [](const Layer& l) { return l.kind != LayerKind::flatten; }))
    throw InputError(path_, "graph", "expected at least one layer computed from the input");
  std::string skipped;
  for (const auto& [what, count] : skipped_) skipped += fmt::format("{}{} x{}", skipped.empty() ? "" : "; ", what, count);
  m.description = fmt::format("imported from ONNX ({}, graph '{}', opset {}, producer {} {}){}", path_,
                              graph_.name(), opset_, proto_.producer_name(), proto_.producer_version(),
                              skipped.empty() ? "" : "; passed through: " + skipped);
  return std::move(out_);
}

// Exporters often put every node under one scope ("StatefulPartitionedCall/functional_1/"); the layer
// names drop the path prefix all of them share, which keeps them unique.
void Importer::strip_common_prefix() {
  auto& layers = out_.model.layers;
  if (layers.size() < 2) return;
  std::string prefix = layers[0].name.substr(0, layers[0].name.rfind('/') + 1);
  for (const auto& l : layers)
    while (!prefix.empty() && (l.name.compare(0, prefix.size(), prefix) != 0 || l.name.size() == prefix.size() ||
                               l.name.substr(prefix.size()) == "input"))
      prefix = prefix.size() < 2 ? "" : prefix.substr(0, prefix.rfind('/', prefix.size() - 2) + 1);
  if (prefix.empty()) return;
  auto strip = [&](std::string& name) {
    if (name.compare(0, prefix.size(), prefix) == 0) name.erase(0, prefix.size());
  };
  for (auto& l : layers) {
    strip(l.name);
    for (auto& in : l.inputs) strip(in);
  }
  Weights weights;
  for (auto& [name, t] : out_.model.weights) weights[name.substr(prefix.size())] = std::move(t);
  out_.model.weights = std::move(weights);
  std::map<std::string, WeightOrigin> origins;
  for (auto& [name, o] : out_.origins) origins[name.substr(prefix.size())] = std::move(o);
  out_.origins = std::move(origins);
}

void Importer::visit(const onnx::NodeProto& n) {
  if (!n.domain().empty() && n.domain() != "ai.onnx")
    fail(fmt::format("expected an operator of the default ONNX domain, got domain '{}'", n.domain()));
  if (n.output_size() == 0) fail("expected at least one output");
  const std::string& op = n.op_type();
  bool all_constant = n.input_size() > 0;
  for (int i = 0; i < n.input_size(); ++i) all_constant &= n.input(i).empty() || is_constant(n.input(i));
  if (op == "Constant") return constant_node();
  if (all_constant || op == "Shape" || op == "ConstantOfShape") return fold_constant_op();
  if (kPassThrough.count(op) || op == "Cast") {
    skip(op);
    return set_output(value_input(0));
  }
  if (op == "Conv") return conv();
  if (op == "ConvTranspose") return conv_transpose();
  if (op == "Gemm") return gemm();
  if (op == "MatMul") return input_is_constant(1) ? matmul() : matmul_activations();
  if (op == "Einsum") return einsum();
  if (op == "MaxPool") return pool(true, false);
  if (op == "AveragePool") return pool(false, false);
  if (op == "GlobalAveragePool") return pool(false, true);
  if (op == "GlobalMaxPool") return pool(true, true);
  if (op == "BatchNormalization") return batchnorm();
  if (op == "LayerNormalization") return layernorm();
  if (op == "Add" || op == "Sum") return add();
  if (op == "Mul") return mul();
  if (op == "Div") return div();
  if (op == "Concat") return concat();
  if (op == "Relu") return activation("relu");
  if (op == "Sigmoid") return activation("sigmoid");
  if (op == "HardSigmoid") return activation("hardsigmoid");
  if (op == "HardSwish") return activation("hardswish");
  if (op == "Tanh") return activation("tanh");
  if (op == "LeakyRelu") return activation("leaky_relu");
  if (op == "Elu") return activation("elu");
  if (op == "Gelu") return activation("gelu");
  if (op == "Softmax") return activation("softmax");
  if (op == "Clip") return clip();
  if (op == "Transpose") return transpose();
  if (op == "Reshape" || op == "Flatten" || op == "Squeeze" || op == "Unsqueeze") return reshape();
  if (op == "Pad") return pad();
  if (op == "Resize" || op == "Upsample") return resize();
  generic();
}

void Importer::transpose() {
  const Value& v = value_input(0);
  if (v.perm.empty() || v.pad != Pads{} || v.zero_channels) {
    // An opaque layout (after a flatten): permuting it moves data but changes nothing dkm counts.
    if (v.pad != Pads{} || v.zero_channels) fail("expected no pending Pad before a Transpose");
    Value r = v;
    std::vector<int64_t> perm = attr_ints("perm");
    check_perm(perm, v.dims.size());
    for (size_t i = 0; i < perm.size(); ++i) r.dims[i] = v.dims[perm[i]];
    return set_output(r);
  }
  std::vector<int64_t> perm = attr_ints("perm");
  if (perm.empty()) for (size_t i = v.dims.size(); i-- > 0;) perm.push_back(static_cast<int64_t>(i));
  check_perm(perm, v.dims.size());
  if (perm[0] != 0 || v.dims.size() != 4) return generic();  // data movement of tokens or across the batch axis
  Value r = v;
  for (size_t i = 0; i < perm.size(); ++i) {
    r.dims[i] = v.dims[perm[i]];
    r.perm[i] = v.perm[perm[i]];
  }
  set_output(r);
}

// A flatten layer over v (or v's producer when it is flat already).
std::string Importer::flat_layer(const Value& v, const std::string& suffix) {
  if (v.pad != Pads{} || v.zero_channels) fail("expected no pending Pad before a reshape");
  const Shape& s = v.layer == "input" ? out_.model.input : layer_named(v.layer).output_shape;
  if (s.h == 1 && s.w == 1 && (v.perm.empty() || v.perm.size() == 2)) return v.layer;
  Layer l;
  l.kind = LayerKind::flatten;
  return emit(l, {v.layer}, suffix).name;
}

void Importer::reshape_to(const Value& v, std::vector<int64_t> dims) {
  if (dims == v.dims) return set_output(v);
  if (dims.empty() || v.dims.empty() || dims[0] != v.dims[0])
    return generic();  // across the batch axis (attention heads): data movement
  if (element_count(dims) != element_count(v.dims))
    fail(fmt::format("expected {} elements after the reshape, got [{}]", element_count(v.dims), fmt::join(dims, ",")));
  const Shape& s = v.layer == "input" ? out_.model.input : layer_named(v.layer).output_shape;
  bool dkm_order = !v.perm.empty() && v.perm == identity_perm(v.perm.size()) && v.pad == Pads{} && !v.zero_channels;
  // Already in the requested dkm form: (N, F) of a flat producer, or (N, C, H, W) of its output.
  if (dkm_order && dims.size() == 2 && s.h == 1 && s.w == 1) return set_output({v.layer, dims, {0, 1}});
  if (dkm_order && dims.size() == 4 && Shape{dims[1], dims[2], dims[3]} == s)
    return set_output({v.layer, dims, identity_perm(4)});
  // To rank 4 from anything else: an untracked layout that a following Conv or pool reads as N,C,H,W.
  if (dims.size() == 4 && v.pad == Pads{} && !v.zero_channels) return set_output({v.layer, dims, {}});
  std::string flat = flat_layer(v, "");
  set_output({flat, dims, dims.size() == 2 ? std::vector<int>{0, 1} : std::vector<int>{}});
}

void Importer::reshape() {
  const Value& v = value_input(0);
  const std::string& op = node_->op_type();
  std::vector<int64_t> dims;
  if (op == "Reshape") {
    if (has_input(1) && (!input_is_constant(1) || !constant(input_name(1)).known)) return generic();
    std::vector<int64_t> want = ints_from(1, "shape");
    bool allow_zero = attr_int("allowzero", 0) != 0;
    int unknown = -1;
    for (size_t i = 0; i < want.size(); ++i) {
      if (want[i] == 0 && !allow_zero) {
        if (i >= v.dims.size()) fail("expected 0 (copy) only where the input has that axis");
        want[i] = v.dims[i];
      }
      if (want[i] == -1) {
        if (unknown >= 0) fail("expected at most one -1 in the Reshape shape");
        unknown = static_cast<int>(i);
      } else if (want[i] <= 0) {
        fail(fmt::format("expected positive Reshape dimensions, got [{}]", fmt::join(want, ",")));
      }
    }
    if (unknown >= 0) {
      want[unknown] = 1;
      want[unknown] = element_count(v.dims) / std::max<int64_t>(element_count(want), 1);
    }
    dims = want;
  } else if (op == "Flatten") {
    int64_t axis = attr_int("axis", 1);
    if (axis < 0) axis += static_cast<int64_t>(v.dims.size());
    if (axis < 0 || axis > static_cast<int64_t>(v.dims.size())) fail("expected a Flatten axis within the rank");
    dims = {element_count(std::vector<int64_t>(v.dims.begin(), v.dims.begin() + axis)), element_count(v.dims, axis)};
  } else {
    std::vector<int64_t> axes = ints_from(1, "axes");
    const int64_t rank = static_cast<int64_t>(v.dims.size()) + (op == "Unsqueeze" ? static_cast<int64_t>(axes.size()) : 0);
    for (auto& a : axes) a = a < 0 ? a + rank : a;
    if (op == "Unsqueeze") {
      std::sort(axes.begin(), axes.end());
      dims = v.dims;
      for (int64_t a : axes) dims.insert(dims.begin() + std::clamp<int64_t>(a, 0, static_cast<int64_t>(dims.size())), 1);
    } else {
      for (int64_t i = 0; i < static_cast<int64_t>(v.dims.size()); ++i) {
        bool listed = std::find(axes.begin(), axes.end(), i) != axes.end();
        if (!(axes.empty() ? v.dims[i] == 1 : listed)) dims.push_back(v.dims[i]);
        else if (i == 0) fail("expected a Squeeze that keeps the batch axis (give its axes)");
      }
    }
  }
  reshape_to(v, dims);
}

// Zero padding waits in the value until a Conv or pool folds it in (spatial axes) or an Add reads it as a
// channel-padded skip connection (channel axis).
void Importer::pad() {
  const Value& v = value_input(0);
  // Zero padding of an image's spatial axes or trailing channels waits for the next layer; any other Pad
  // (reflect, edge, a fill value, cropping, tokens) is data movement.
  float fill = attr_float("value", 0.0f);
  if (has_input(2) && input_is_constant(2)) {
    const Constant& c = constant(input_name(2));
    fill = c.known && c.numel() ? static_cast<float>(c.at(0)) : 1.0f;
  }
  const bool pads_known = !has_input(1) || (input_is_constant(1) && constant(input_name(1)).known);
  std::vector<int64_t> p = pads_known ? ints_from(1, "pads") : std::vector<int64_t>{};
  if (attr_string("mode", "constant") != "constant" || fill != 0.0f || has_input(3) || v.dims.size() != 4 ||
      v.perm != identity_perm(4) || p.size() != 8 || std::any_of(p.begin(), p.end(), [](int64_t x) { return x < 0; }) ||
      p[0] || p[4] || p[1])
    return generic();
  Value r = v;
  r.zero_channels += p[5];
  r.pad.top += p[2];
  r.pad.left += p[3];
  r.pad.bottom += p[6];
  r.pad.right += p[7];
  for (int i = 0; i < 4; ++i) r.dims[i] += p[i] + p[i + 4];
  set_output(r);
}

}  // namespace dkm::models::onnx_detail

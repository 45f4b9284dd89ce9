// ONNX import (docs/onnx.md), built only where libonnx-dev is found. Two modes, chosen by the first byte:
// the input as a file (the protobuf parser and everything after it), or the input as a list of structural
// edits of a valid seed graph made through the protobuf API: attribute values (strides, pads, dilations,
// kernel, group, axes, perm, ...), tensor and input dims, operator types and node inputs. Byte mutations
// rarely keep a protobuf valid; the edits reach every attribute check and shape rule directly.
#include <array>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <vector>

#include "models/onnx/onnx_internal.hpp"
#include "tests/fuzz/fuzz_common.hpp"

namespace {

// Reads the fuzz input as small numbers; past the end everything is 0.
struct Bytes {
  const uint8_t* data;
  size_t size, at = 0;
  bool more() const { return at < size; }
  uint8_t next() { return at < size ? data[at++] : 0; }
  // Values that break window and shape arithmetic: zero, negative, one, small, huge.
  int64_t value() {
    static constexpr std::array<int64_t, 16> kValues = {0, -1, 1, 2, 3, 4, 7, 8, 16, -2, int64_t{1} << 31,
                                                        int64_t{1} << 40, int64_t{1} << 62, INT64_MAX, INT64_MIN, 5};
    uint8_t b = next();
    return b < 16 ? kValues[b] : static_cast<int64_t>(b) - 128;
  }
};

onnx::TensorProto tensor(const std::string& name, std::vector<int64_t> dims, int type = onnx::TensorProto::FLOAT) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(type);
  int64_t n = 1;
  for (int64_t d : dims) t.add_dims(d), n *= d;
  for (int64_t i = 0; i < n; ++i) {
    if (type == onnx::TensorProto::FLOAT) t.add_float_data(0.01f * static_cast<float>(i % 17));
    else t.add_int64_data(0);
  }
  return t;
}

onnx::NodeProto& node(onnx::GraphProto& g, const std::string& op, std::vector<std::string> in, const std::string& out) {
  onnx::NodeProto& n = *g.add_node();
  n.set_op_type(op);
  n.set_name(out);
  for (auto& i : in) n.add_input(i);
  n.add_output(out);
  return n;
}

void ints(onnx::NodeProto& n, const std::string& name, std::vector<int64_t> v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

void int1(onnx::NodeProto& n, const std::string& name, int64_t v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

// Conv, pool, batch norm, tokens (reshape, transpose, linear, residual add, layernorm), attention
// (matmul of activations, softmax), a reduction and a Gemm head: every family the importer handles.
onnx::ModelProto seed() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  onnx::GraphProto& g = *m.mutable_graph();
  g.set_name("seed");
  auto* in = g.add_input();
  in->set_name("x");
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  for (int64_t d : {1, 4, 8, 8}) tt->mutable_shape()->add_dim()->set_dim_value(d);
  g.add_output()->set_name("out");
  for (auto t : {tensor("w1", {8, 4, 3, 3}), tensor("b1", {8}), tensor("s", {8}), tensor("bb", {8}), tensor("mean", {8}),
                 tensor("var", {8}), tensor("shape", {3}, onnx::TensorProto::INT64), tensor("wm", {8, 8}),
                 tensor("ln_s", {8}), tensor("ln_b", {8}), tensor("wg", {10, 8}), tensor("axes", {1}, onnx::TensorProto::INT64)})
    *g.add_initializer() = t;
  auto* shape = g.mutable_initializer(6);
  shape->clear_int64_data();
  for (int64_t d : {1, 8, 16}) shape->add_int64_data(d);
  g.mutable_initializer(11)->set_int64_data(0, 1);
  auto& conv = node(g, "Conv", {"x", "w1", "b1"}, "y1");
  ints(conv, "kernel_shape", {3, 3});
  ints(conv, "strides", {1, 1});
  ints(conv, "pads", {1, 1, 1, 1});
  ints(conv, "dilations", {1, 1});
  int1(conv, "group", 1);
  node(g, "Relu", {"y1"}, "y2");
  auto& pool = node(g, "MaxPool", {"y2"}, "y3");
  ints(pool, "kernel_shape", {2, 2});
  ints(pool, "strides", {2, 2});
  node(g, "BatchNormalization", {"y3", "s", "bb", "mean", "var"}, "y4");
  node(g, "Reshape", {"y4", "shape"}, "y5");
  ints(node(g, "Transpose", {"y5"}, "y6"), "perm", {0, 2, 1});
  node(g, "MatMul", {"y6", "wm"}, "y7");
  node(g, "Add", {"y7", "y6"}, "y8");
  int1(node(g, "LayerNormalization", {"y8", "ln_s", "ln_b"}, "y9"), "axis", -1);
  ints(node(g, "Transpose", {"y9"}, "y9t"), "perm", {0, 2, 1});
  node(g, "MatMul", {"y9", "y9t"}, "y10");
  int1(node(g, "Softmax", {"y10"}, "y11"), "axis", -1);
  node(g, "MatMul", {"y11", "y9"}, "y12");
  auto& mean = node(g, "ReduceMean", {"y12"}, "y13");  // axes an attribute up to opset 17
  ints(mean, "axes", {1});
  int1(mean, "keepdims", 0);
  int1(node(g, "Gemm", {"y13", "wg"}, "out"), "transB", 1);
  return m;
}

const std::array<const char*, 14> kAttributes = {"kernel_shape", "strides", "pads", "dilations", "group", "perm", "axis",
                                                 "axes", "keepdims", "ceil_mode", "transB", "auto_pad", "alpha", "shape"};
const std::array<const char*, 16> kOps = {"Conv", "MaxPool", "AveragePool", "Add", "Mul", "MatMul", "Gemm", "Concat",
                                          "Reshape", "Transpose", "Softmax", "ReduceMean", "Pad", "Slice", "Resize",
                                          "ConvTranspose"};

void edit(onnx::ModelProto& m, Bytes& b) {
  onnx::GraphProto& g = *m.mutable_graph();
  switch (b.next() % 8) {
    case 0: {  // an INTS attribute: values and length
      auto& n = *g.mutable_node(b.next() % g.node_size());
      const char* name = kAttributes[b.next() % kAttributes.size()];
      onnx::AttributeProto* a = nullptr;
      for (auto& x : *n.mutable_attribute())
        if (x.name() == name) a = &x;
      if (!a) a = n.add_attribute(), a->set_name(name), a->set_type(onnx::AttributeProto::INTS);
      a->clear_ints();
      for (int k = b.next() % 6; k > 0; --k) a->add_ints(b.value());
      break;
    }
    case 1: {  // an INT attribute, or an attribute's type
      auto& n = *g.mutable_node(b.next() % g.node_size());
      auto* a = n.add_attribute();
      a->set_name(kAttributes[b.next() % kAttributes.size()]);
      uint8_t t = b.next();
      a->set_type(static_cast<onnx::AttributeProto::AttributeType>(t % 3 == 0 ? 1 + t % 12 : 2));
      a->set_i(b.value());
      a->set_s(t % 2 ? "SAME_UPPER" : "VALID");
      a->set_f(static_cast<float>(b.value()));
      break;
    }
    case 2: {  // an initializer's dims, with data to match when small
      auto& t = *g.mutable_initializer(b.next() % g.initializer_size());
      if (t.dims_size() == 0) break;
      int at = b.next() % t.dims_size();
      t.set_dims(at, b.value());
      int64_t n = 1;
      for (int64_t d : t.dims()) n = d < 0 || d > 4096 || n * d > 4096 ? -1 : n * d;
      if (n >= 0 && t.data_type() == onnx::TensorProto::FLOAT) t.mutable_float_data()->Resize(static_cast<int>(n), 0.5f);
      if (n >= 0 && t.data_type() == onnx::TensorProto::INT64) t.mutable_int64_data()->Resize(static_cast<int>(n), 1);
      break;
    }
    case 3: {  // the input's dims
      auto* shape = g.mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
      shape->mutable_dim(b.next() % shape->dim_size())->set_dim_value(b.value());
      break;
    }
    case 4:  // an operator type
      g.mutable_node(b.next() % g.node_size())->set_op_type(kOps[b.next() % kOps.size()]);
      break;
    case 5: {  // a node input rewired to another tensor
      auto& n = *g.mutable_node(b.next() % g.node_size());
      if (n.input_size() == 0) break;
      int at = b.next() % n.input_size();
      const auto& src = g.node(b.next() % g.node_size());
      n.set_input(at, b.next() % 2 ? src.output(0) : g.initializer(b.next() % g.initializer_size()).name());
      break;
    }
    case 6: {  // an integer initializer's value (Reshape's shape, ReduceMean's axes)
      auto& t = *g.mutable_initializer(b.next() % 2 ? 6 : 11);
      if (t.int64_data_size() > 0) t.set_int64_data(b.next() % t.int64_data_size(), b.value());
      break;
    }
    default: {  // an attribute or an input removed
      auto& n = *g.mutable_node(b.next() % g.node_size());
      if (b.next() % 2 && n.attribute_size() > 0) n.mutable_attribute()->RemoveLast();
      else if (n.input_size() > 1) n.mutable_input()->RemoveLast();
      break;
    }
  }
}

// As load_onnx() does: the import, then its spec read back.
void import(const onnx::ModelProto& m) {
  auto imported = dkm::models::onnx_detail::import_model(m, "fuzz.onnx", {});
  dkm::models::parse_model(dkm::models::to_json_spec(imported.model), "fuzz.onnx");
}

// The edits explore from a valid model only if the seed itself imports: a seed the importer refuses
// would leave every edit testing one early error, so that stops the run at once.
onnx::ModelProto checked_seed() {
  onnx::ModelProto m = seed();
  try {
    import(m);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_onnx: the seed graph does not import: %s\n", e.what());
    std::abort();
  }
  return m;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 0 && data[0] % 2 == 0) {
    static const onnx::ModelProto base = checked_seed();
    onnx::ModelProto m = base;
    Bytes b{data + 1, size - 1};
    for (int k = 0; k < 32 && b.more(); ++k) edit(m, b);
    // A structural find becomes a catalogue case through the edited model itself: run the reproducer
    // with DKM_FUZZ_ONNX_DUMP=FILE to write it out.
    if (const char* dump = std::getenv("DKM_FUZZ_ONNX_DUMP")) {
      std::ofstream out(dump, std::ios::binary);
      out << m.SerializeAsString();
    }
    dkm::fuzz::expect_clean([&] { import(m); });
    return 0;
  }
  std::string path = dkm::fuzz::write_temp(data, size, ".onnx");
  dkm::fuzz::expect_clean([&] { dkm::models::load_onnx(path, dkm::models::OnnxOptions{}); });
  return 0;
}

#pragma once
// Small ONNX graphs for the importer tests, written with the onnx protobuf classes.
#ifdef DKM_HAVE_ONNX
#include <doctest/doctest.h>
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "models/onnx.hpp"
#include "tests/support.hpp"

namespace dkm::test {

struct OnnxGraph {
  onnx::ModelProto model;
  onnx::GraphProto* graph;

  explicit OnnxGraph(int64_t opset = 13) {
    model.set_ir_version(7);
    model.set_producer_name("dkm-tests");
    auto* op = model.add_opset_import();
    op->set_domain("");
    op->set_version(opset);
    graph = model.mutable_graph();
    graph->set_name("test");
  }

  // dims: 0 means a symbolic dimension named "N".
  void input(const std::string& name, const std::vector<int64_t>& dims) {
    auto* in = graph->add_input();
    in->set_name(name);
    auto* t = in->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    for (auto d : dims) {
      auto* dim = t->mutable_shape()->add_dim();
      if (d > 0) dim->set_dim_value(d);
      else dim->set_dim_param("N");
    }
  }

  // dims empty: the shape is left out (the importer does not read output shapes; the checker needs them).
  void output(const std::string& name, const std::vector<int64_t>& dims = {}) {
    auto* out = graph->add_output();
    out->set_name(name);
    auto* t = out->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    if (!dims.empty())
      for (auto d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
  }

  static void fill(onnx::TensorProto& t, const std::string& name, const std::vector<int64_t>& dims,
                   const std::vector<float>& values, bool raw = true) {
    t.set_name(name);
    t.set_data_type(onnx::TensorProto::FLOAT);
    for (auto d : dims) t.add_dims(d);
    if (raw) t.set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * 4));
    else for (float v : values) t.add_float_data(v);
  }

  onnx::TensorProto& init(const std::string& name, const std::vector<int64_t>& dims, const std::vector<float>& values,
                          bool raw = true) {
    auto* t = graph->add_initializer();
    fill(*t, name, dims, values, raw);
    return *t;
  }

  onnx::TensorProto& init_ints(const std::string& name, const std::vector<int64_t>& values) {
    auto* t = graph->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(static_cast<int64_t>(values.size()));
    for (auto v : values) t->add_int64_data(v);
    return *t;
  }

  onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs, const std::string& name = "") {
    auto* n = graph->add_node();
    n->set_op_type(op);
    n->set_name(name.empty() ? outputs.at(0) : name);
    for (const auto& i : inputs) n->add_input(i);
    for (const auto& o : outputs) n->add_output(o);
    return *n;
  }

  static void ints(onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& values) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (auto v : values) a->add_ints(v);
  }
  static void integer(onnx::NodeProto& n, const std::string& name, int64_t value) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(value);
  }
  static void real(onnx::NodeProto& n, const std::string& name, float value) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(value);
  }
  static void text(onnx::NodeProto& n, const std::string& name, const std::string& value) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(value);
  }

  std::string bytes() const { return model.SerializeAsString(); }

  void save(const std::string& path) const {
    std::ofstream(path, std::ios::binary) << bytes();
  }
};

// Deterministic weights: 0.01 * ((k * 7) % 23 - 11).
inline std::vector<float> ramp(int64_t n) {
  std::vector<float> v(n);
  for (int64_t k = 0; k < n; ++k) v[k] = 0.01f * static_cast<float>((k * 7) % 23 - 11);
  return v;
}

// Loads a graph through a temporary file, as the dkm command reads a model.
inline models::Model load_graph(const OnnxGraph& g) {
  TempDir dir;
  g.save(dir / "m.onnx");
  return models::load_onnx(dir / "m.onnx", {});
}

// The InputError message for a file holding `bytes`, without the temporary directory ("m.onnx: ...").
inline std::string bytes_error(const std::string& bytes) {
  TempDir dir;
  std::ofstream(dir / "m.onnx", std::ios::binary) << bytes;
  try {
    models::load_onnx(dir / "m.onnx", {});
  } catch (const InputError& e) {
    CHECK(e.file() == dir / "m.onnx");
    std::string s = e.what();
    return s.substr(dir.path.string().size() + 1);
  }
  return "no error";
}

inline std::string graph_error(const OnnxGraph& g) { return bytes_error(g.bytes()); }

}  // namespace dkm::test
#endif

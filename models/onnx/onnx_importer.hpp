#pragma once
// The ONNX graph walker: nodes in file order (ONNX requires topological order), each turned into zero or
// more dkm layers. Split over onnx_import.cpp (values, constants, shapes) and onnx_layers.cpp (the
// operators that become layers).
#include <map>
#include <set>
#include <string>
#include <vector>

#include "models/onnx/onnx_internal.hpp"
#include "models/shape_inference.hpp"

namespace dkm::models::onnx_detail {

// An activation tensor of the ONNX graph and the dkm layer that produces it.
struct Value {
  Value() = default;
  Value(std::string producer, std::vector<int64_t> onnx_dims, std::vector<int> axes)
      : layer(std::move(producer)), dims(std::move(onnx_dims)), perm(std::move(axes)) {}

  std::string layer;          // producing dkm layer; "input" for the model input
  std::vector<int64_t> dims;  // ONNX dims, batch first
  // ONNX axis i holds dkm axis perm[i], dkm order being (N, C, H, W) or (N, F). Empty: an opaque layout
  // (after Reshape to a rank dkm has no layout for); the producer is then a flatten layer.
  std::vector<int> perm;
  Pads pad;                   // zero spatial padding of a Pad node, folded into the next Conv or pool
  int64_t zero_channels = 0;  // zero channels appended (Pad on channels, or Concat with ConstantOfShape)
};

// The sliding window of a Conv or pool node, after its attributes are checked.
struct Window {
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1;
  Pads pads;
};

class Importer {
 public:
  Importer(const onnx::ModelProto& proto, const std::string& path, const OnnxOptions& options);
  Imported run();

 private:
  // onnx_import.cpp
  void setup_input();
  void visit(const onnx::NodeProto& node);
  void strip_common_prefix();
  [[noreturn]] void fail(const std::string& expected) const;
  std::string where() const;
  std::string input_name(int i) const;
  bool has_input(int i) const;
  bool is_constant(const std::string& name) const;
  bool input_is_constant(int i) const { return has_input(i) && is_constant(input_name(i)); }
  const Constant& constant(const std::string& name);
  const Constant& const_input(int i);
  const Value& value_input(int i) const;
  void set_output(Value v, int i = 0);
  void set_constant_output(Constant c, int i = 0);
  const onnx::AttributeProto* attr(const char* name) const;
  const onnx::AttributeProto* typed_attr(const char* name, int type) const;
  int64_t attr_int(const char* name, int64_t fallback) const;
  float attr_float(const char* name, float fallback) const;
  std::string attr_string(const char* name, const std::string& fallback) const;
  std::vector<int64_t> attr_ints(const char* name) const;
  std::vector<int64_t> ints_from(int input, const char* attribute);  // opset-dependent location
  // Untrusted numbers: fail (InputError) instead of overflowing, truncating or indexing out of range.
  int64_t element_count(const std::vector<int64_t>& dims, size_t from = 0) const;  // dims >= 0, <= 2^40 in all
  int64_t to_int(double v) const;                                       // finite, within +-2^53
  void check_perm(const std::vector<int64_t>& perm, size_t rank) const;  // a permutation of 0..rank-1
  Layer& emit(Layer layer, const std::vector<std::string>& inputs, const std::string& suffix = "");
  Layer& layer_named(const std::string& name);
  Value value_of(const Layer& layer) const;  // the natural dkm-order value of a layer's output
  std::string flat_layer(const Value& v, const std::string& suffix);
  void reshape_to(const Value& v, std::vector<int64_t> dims);
  void skip(const std::string& why);
  void attach(const std::string& layer, const char* what, Tensor t, WeightOrigin origin);

  void constant_node();
  void fold_constant_op();
  void unknown_constants(const std::vector<std::string>& sources);
  void transpose();
  void reshape();
  void pad();

  // onnx_generic.cpp
  void infer_shapes();
  void refuse_unsupported(const std::string& op) const;  // one line naming the nearest supported alternative
  void infer_from(int first_node);
  Shape shape_in(const std::vector<int64_t>& dims, bool image) const;  // docs/model-spec.md "Shapes"
  Shape shape_of(const Value& v) const;
  std::string operand(const Value& v, const Shape& want);  // v's producer, or a rearrange to `want`
  int64_t take_params(const Constant& c);                   // its initializers not counted before
  std::string origin(int i);                                // where weight input i's values are stored
  void count_weights(int first, int last);                  // inputs first..last are weights the layer counts
  void generic();
  std::vector<int64_t> slice_dims();
  void matmul_activations();
  void matmul_of(const Value& a, const Value& b);
  void einsum();
  void layernorm();

  // onnx_layers.cpp
  std::string image_layer(const Value& x);  // x as an N,C,H,W layer (a rearrange when x's layout is not)
  void conv();
  void emit_conv(Layer layer, const Window& window, const Value& x, const Constant& weight);  // Conv, ConvTranspose
  void gemm();
  void matmul();
  void pool(bool max, bool global);
  void batchnorm();
  void add();
  void mul();
  void concat();
  void activation(const std::string& name);
  void clip();
  void resize();
  Window window(const Value& x, std::vector<int64_t> kernel);
  bool fold_bias(const Value& x, const Constant& c, const std::string& const_name);
  bool fold_scale(const Value& x, const Constant& c, const std::string& const_name, bool divide);
  void div();

  // onnx_conv_transpose.cpp
  void conv_transpose();
  void check_conv_transpose_attributes() const;  // before ONNX's inference sees the node

  const onnx::ModelProto& proto_;
  const onnx::GraphProto& graph_;
  std::string path_;
  OnnxOptions options_;
  int64_t opset_ = 1;
  Imported out_;
  std::map<std::string, const onnx::TensorProto*> tensor_protos_;  // initializers and Constant nodes
  std::map<std::string, Constant> constants_;                      // decoded or folded
  std::map<std::string, Value> values_;
  std::map<std::string, int> uses_;                                // consumers of each tensor name
  std::map<std::string, std::string> producer_op_;                 // operator of the node writing each tensor
  std::map<std::string, size_t> layer_index_;
  std::map<std::string, int> skipped_;                             // operator -> count, for the description
  std::set<std::string> initializers_;                             // graph initializers (parameters)
  std::set<std::string> counted_;                                  // initializers counted as parameters
  std::map<std::string, int64_t> source_size_;                     // values of each parameter source
  std::map<std::string, std::vector<int64_t>> inferred_;           // ONNX shape inference: fixed dims by tensor
  std::set<std::string> inferred_int_;                             // ... of integer or bool element type
  std::set<int> reinferred_;                                       // nodes inference was run again from
  const onnx::NodeProto* node_ = nullptr;
  int node_index_ = 0;
};

}  // namespace dkm::models::onnx_detail

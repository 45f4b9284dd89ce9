#pragma once
// The layers-model walker: Keras layers in file order (Keras writes them topologically), each turned into
// zero or more dkm layers with shapes resolved as they are emitted. Split over tfjs_graph.cpp (topology,
// inputs, names, weights) and tfjs_layers.cpp (the layer classes).
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "models/shape_inference.hpp"
#include "models/tfjs/tfjs_internal.hpp"

namespace dkm::models::tfjs {

// A Keras tensor: the dkm layer that produces it and its layout.
struct Value {
  Value() = default;
  Value(std::string producer, Shape s, bool is_flat = false) : layer(std::move(producer)), shape(s), flat(is_flat) {}

  std::string layer;   // producing dkm layer; "input" for the model input
  Shape shape;         // dkm CHW; {features, 1, 1} when flat
  bool flat = false;   // a rank-2 Keras tensor (batch, features)
  Pads pad;            // pending ZeroPadding2D, folded into the consuming convolution or pooling
  // A flat tensor made from an NHWC one by Flatten or Reshape: its features are in (h, w, c) order, which
  // a following Dense's weight columns follow; dkm flattens in (c, h, w) order.
  std::optional<Shape> flattened_from;
};

class Converter {
 public:
  Converter(const Json& doc, const std::string& source, const GroupReader& read_group, const TfjsInput& options);
  Model run();

 private:
  // tfjs_graph.cpp
  void read_manifest();
  void read_topology(const Json& topology, const std::string& at);
  void setup_input(const Json& batch_shape, const std::string& at);
  std::vector<std::string> inbound(const Json& layer, const std::string& at) const;
  void convert(const Json& layer, const std::string& at, bool sequential);
  [[noreturn]] void fail(const std::string& expected) const;
  [[noreturn]] void fail_at(const std::string& field, const std::string& expected) const;
  const Json* config(const char* key) const;
  int64_t config_int(const char* key, int64_t fallback, int64_t min) const;
  std::pair<int64_t, int64_t> config_pair(const char* key, std::pair<int64_t, int64_t> fallback) const;
  std::string config_string(const char* key, const std::string& fallback) const;
  bool config_bool(const char* key, bool fallback) const;
  double config_number(const char* key, double fallback) const;
  void channels_last() const;
  const Value& input(size_t i = 0) const;
  Layer& emit(Layer layer, const std::vector<const Value*>& inputs);
  void set_output(const Value& v);
  Tensor weight(const std::string& var, const std::vector<int64_t>& shape);
  bool has_weight(const std::string& var) const;

  // tfjs_layers.cpp
  void conv(bool depthwise, bool separable);
  void dense();
  void batchnorm();
  void pool(bool max, bool global);
  void activation_layer();
  void fused_activation();
  void emit_activation(const std::string& keras_name, const std::string& suffix);
  void merge(LayerKind kind);
  void flatten(bool reshape);
  void zero_padding();
  void upsample();
  void dropout();
  Pads window_pads(const Value& x, bool same, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t dh,
                   int64_t dw) const;

  const Json& doc_;
  std::string source_;
  const GroupReader& read_group_;
  TfjsInput options_;
  Model model_;
  Manifest manifest_;
  std::vector<std::string> group_bytes_;
  std::vector<bool> group_read_;
  std::map<std::string, size_t> weight_index_;
  std::set<size_t> used_weights_;
  std::map<std::string, Value> values_;  // Keras layer name -> its output
  std::set<std::string> dkm_names_;
  bool have_input_ = false;
  // The layer being converted.
  const Json* layer_ = nullptr;
  const Json* config_ = nullptr;
  std::string at_, name_, class_;
  std::vector<std::string> inputs_;
};

}  // namespace dkm::models::tfjs

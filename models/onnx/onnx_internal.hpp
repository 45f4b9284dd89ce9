#pragma once
// Shared by the ONNX importer and exporter: reading the protobuf, decoding and encoding tensors, and the
// record of where each imported weight came from (so the exporter writes it back to the same place).
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "models/onnx.hpp"

namespace dkm::models::onnx_detail {

// Parses the whole file; InputError with the byte offset where parsing stopped when it is not a
// complete ModelProto.
onnx::ModelProto read_model_proto(const std::string& path);

// A constant tensor (initializer, Constant node or folded shape arithmetic). Floats and integers are
// kept apart so that shapes stay exact.
struct Constant {
  std::vector<int64_t> dims;
  std::vector<float> floats;    // float types
  std::vector<int64_t> ints;    // integer and bool types
  bool is_int = false;
  // Values dkm cannot compute (an operator on constants it does not evaluate): dims are ONNX shape
  // inference's, floats and ints stay empty, and anything that needs the values fails.
  bool known = true;
  // The float initializers the values come from (through folded operators): a layer that reads the
  // constant counts these as its parameters, each once in the model.
  std::vector<std::string> sources;
  int64_t numel() const {
    int64_t n = 1;
    for (auto d : dims) n *= d;
    return n;
  }
  double at(int64_t i) const { return is_int ? static_cast<double>(ints[i]) : floats[i]; }
};

// Decodes raw_data or the typed fields; `where` locates the tensor in error messages.
Constant decode_tensor(const onnx::TensorProto& t, const std::string& path, const std::string& where);

// Overwrites the tensor's data with `values`, keeping its float type (float32, float16 or double).
void encode_float_tensor(onnx::TensorProto& t, const std::vector<float>& values);

// Where an imported weight lives in the source graph and how it was transformed on import.
struct WeightOrigin {
  WeightOrigin() = default;
  WeightOrigin(std::string name, bool trans = false, float factor = 1.0f, std::string why_not = "")
      : tensor(std::move(name)), transposed(trans), scale(factor), not_exportable(std::move(why_not)) {}

  std::string tensor;        // initializer name, or the output name of a Constant node
  bool transposed = false;   // stored (in, out) in ONNX, (out, in) in dkm
  float scale = 1.0f;        // dkm value = scale * ONNX value (Gemm alpha/beta)
  // A constant Mul or Div folded into the layer: dkm output row r (a conv filter, a linear output feature,
  // a bias element) = row_scale[r] * the ONNX row. Empty: no folded scale.
  std::vector<float> row_scale;
  std::string not_exportable;  // why it cannot be written back ("" when it can)
};

struct Imported {
  Model model;
  std::map<std::string, WeightOrigin> origins;  // by weight name ("<layer>.weight")
};

Imported import_model(const onnx::ModelProto& proto, const std::string& path, const OnnxOptions& options);

}  // namespace dkm::models::onnx_detail

// The public ONNX entry points (models/onnx.hpp): import through the JSON spec, export by patching tensors.
#include <fmt/core.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "models/atomic_file.hpp"
#include "models/error.hpp"
#include "models/onnx/onnx_importer.hpp"

namespace dkm::models {

namespace onnx_detail {

Imported import_model(const onnx::ModelProto& proto, const std::string& path, const OnnxOptions& options) {
  return Importer(proto, path, options).run();
}

}  // namespace onnx_detail

Model load_onnx(const std::string& path, const OnnxOptions& options) {
  onnx::ModelProto proto = onnx_detail::read_model_proto(path);
  onnx_detail::Imported imported = onnx_detail::import_model(proto, path, options);
  // Through the spec so an import and `dkm import -o spec.json` followed by loading the spec are one model.
  std::string spec;
  try {
    spec = to_json_spec(imported.model);
  } catch (const nlohmann::json::type_error& e) {  // invalid UTF-8 in a node, tensor or graph name
    std::string reason = e.what();
    throw InputError(path, "", "expected names in UTF-8, got " + reason.substr(reason.find("] ") + 2));
  }
  Model model = parse_model(spec, path);
  model.weights = std::move(imported.model.weights);
  return model;
}

std::string encode_onnx_with_weights(const std::string& src_onnx, const Weights& replaced, const std::string& out_path,
                                     const OnnxOptions& options) {
  onnx::ModelProto proto = onnx_detail::read_model_proto(src_onnx);
  onnx_detail::Imported imported = onnx_detail::import_model(proto, src_onnx, options);

  std::map<std::string, onnx::TensorProto*> targets;
  for (auto& t : *proto.mutable_graph()->mutable_initializer()) targets[t.name()] = &t;
  for (auto& n : *proto.mutable_graph()->mutable_node())
    if (n.op_type() == "Constant" && n.output_size() == 1)
      for (auto& a : *n.mutable_attribute())
        if (a.name() == "value" && a.has_t()) targets[n.output(0)] = a.mutable_t();

  std::map<std::string, std::vector<float>> written;  // by ONNX tensor: one tensor may feed several layers
  for (const auto& [name, tensor] : replaced) {
    auto origin = imported.origins.find(name);
    if (origin == imported.origins.end())
      throw InputError(src_onnx, fmt::format("tensor '{}'", name),
                       "expected the name of a conv or linear weight or bias as the import of this file gives it");
    const auto& o = origin->second;
    const Tensor& imported_tensor = imported.model.weights.at(name);
    if (tensor.shape != imported_tensor.shape || tensor.values.size() != imported_tensor.values.size())
      throw InputError(src_onnx, fmt::format("tensor '{}'", name),
                       fmt::format("expected replacement values of shape [{}], got [{}]",
                                   fmt::join(imported_tensor.shape, ","), fmt::join(tensor.shape, ",")));
    if (!o.not_exportable.empty())
      throw InputError(src_onnx, fmt::format("tensor '{}'", name), "cannot be written back: " + o.not_exportable);
    std::vector<float> values(tensor.values.size());
    // A folded Mul or Div stays in the graph: each output row is divided by its scale again.
    const int64_t rows = tensor.shape.empty() ? 1 : tensor.shape[0];
    const int64_t per_row = static_cast<int64_t>(tensor.values.size()) / std::max<int64_t>(1, rows);
    auto row_factor = [&](int64_t r) { return o.row_scale.empty() ? o.scale : o.scale * o.row_scale[r]; };
    if (o.transposed) {  // dkm (out, in) back to ONNX (in, out)
      int64_t out = tensor.shape[0], in = tensor.shape[1];
      for (int64_t r = 0; r < out; ++r)
        for (int64_t c = 0; c < in; ++c) values[c * out + r] = tensor.values[r * in + c] / row_factor(r);
    } else {
      for (size_t k = 0; k < values.size(); ++k) values[k] = tensor.values[k] / row_factor(k / per_row);
    }
    auto [it, fresh] = written.emplace(o.tensor, values);
    if (!fresh && it->second != values)
      throw InputError(src_onnx, fmt::format("tensor '{}'", o.tensor),
                       fmt::format("is shared by several layers and got different values for '{}'", name));
    auto target = targets.find(o.tensor);
    if (target == targets.end())
      throw InputError(src_onnx, fmt::format("tensor '{}'", o.tensor), "expected an initializer or Constant node");
    onnx_detail::encode_float_tensor(*target->second, values);
  }
  std::string bytes;
  if (!proto.SerializeToString(&bytes))
    throw InputError(out_path, "", "could not serialise the ONNX model (over protobuf's 2 GiB limit?)");
  return bytes;
}

void write_onnx_with_weights(const std::string& src_onnx, const Weights& replaced, const std::string& out_path,
                             const OnnxOptions& options) {
  write_file_atomic(out_path, encode_onnx_with_weights(src_onnx, replaced, out_path, options));
}

}  // namespace dkm::models

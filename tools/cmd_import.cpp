// `dkm import MODEL.onnx -o SPEC.json [--weights-out W.safetensors] [--input-shape 1,3,H,W]`: an ONNX
// model (or a TF.js model.json, docs/tfjs.md) as a dkm model spec and its conv/linear weights; and the
// way back, `dkm export MODEL.onnx --weights W -o OUT.onnx`: the original graph with those weights (e.g. from `dkm decompress`) written
// into it, for any ONNX runtime (docs/onnx.md).
#include <fmt/core.h>

#include "models/output_files.hpp"
#include "models/onnx.hpp"
#include "models/tfjs.hpp"
#include "models/tensor_io.hpp"
#include "tools/command.hpp"

namespace dkm::cli {

namespace {

struct ImportOptions {
  std::string model;
  std::string spec_out;
  std::string weights_out;
  std::string input_shape;
};

void run_import(const ImportOptions& o) {
  const auto model_json = models::tfjs_model_json(o.model);
  if (!o.model.ends_with(".onnx") && !model_json)
    throw UsageError("import: expected an .onnx file or a TF.js model.json (or its folder), got " + o.model);
  std::vector<int64_t> input_shape;
  if (!o.input_shape.empty()) input_shape = models::parse_input_shape(o.input_shape);
  OutputFiles files({o.model});
  files.add("--output", o.spec_out);
  files.add("--weights-out", o.weights_out);
  models::Model m =
      model_json ? models::load_tfjs(*model_json, {input_shape}) : models::load_onnx(o.model, {input_shape});
  // Both outputs are prepared before either is written, so a failure leaves neither.
  files.set("--output", models::to_json_spec(m));
  if (!o.weights_out.empty()) files.set("--weights-out", encode_weights(o.weights_out, m.weights));
  files.commit();
  int64_t convs = 0, weights = 0;
  for (const auto& l : m.layers)
    if (l.has_weights()) {
      ++convs;
      weights += l.weight_count;
    }
  fmt::print("{}: {} layers ({} conv/linear, {} weights), {} MACs/image -> {}{}\n", o.model, m.layers.size(), convs,
             weights, m.total_macs(), o.spec_out, o.weights_out.empty() ? "" : " and " + o.weights_out);
}

struct ExportOptions {
  std::string model;
  std::string weights;
  std::string output;
  std::string input_shape;
};

void run_export(const ExportOptions& o) {
  if (!o.model.ends_with(".onnx")) throw UsageError("export: expected the source .onnx file, got " + o.model);
  models::OnnxOptions options;
  if (!o.input_shape.empty()) options.input_shape = models::parse_input_shape(o.input_shape);
  OutputFiles files({o.model, o.weights});
  files.add("--output", o.output);
  const Weights weights = load_weights(o.weights);
  require_finite(weights, o.weights);
  files.set("--output", models::encode_onnx_with_weights(o.model, weights, o.output, options));
  files.commit();
  fmt::print("{}: {} tensors from {} written into a copy -> {}\n", o.model, weights.size(), o.weights, o.output);
}

void setup_export(CLI::App& app) {
  auto o = std::make_shared<ExportOptions>();
  auto* cmd = app.add_subcommand("export", "Write an ONNX model back with replaced (e.g. decompressed) weights");
  cmd->add_option("MODEL", o->model, "the source ONNX file (.onnx)")->required();
  cmd->add_option("--weights", o->weights, "weights named as `dkm import` names them (.safetensors, .npz)")->required();
  cmd->add_option("-o,--output", o->output, "ONNX file to write")->required();
  cmd->add_option("--input-shape", o->input_shape, "as for `dkm import`");
  cmd->callback([o] { run_export(*o); });
}

void setup_import(CLI::App& app) {
  auto o = std::make_shared<ImportOptions>();
  auto* cmd = app.add_subcommand("import", "Convert an ONNX or TF.js model to a dkm model spec and weights");
  cmd->add_option("MODEL", o->model, "ONNX file (.onnx), or a TF.js model.json or its folder")->required();
  cmd->add_option("-o,--output", o->spec_out, "model spec to write (.json; - for standard output)")->required();
  cmd->add_option("--weights-out", o->weights_out, "also write the conv/linear weights (.safetensors or .npz)");
  cmd->add_option("--input-shape", o->input_shape,
                  "input shape in the ONNX input's layout (1,3,H,W or 1,H,W,3; TF.js: 1,H,W,C), needed for "
                  "symbolic dimensions");
  cmd->callback([o] { run_import(*o); });
}

const bool registered = register_command({15, setup_import});
const bool registered_export = register_command({16, setup_export});

}  // namespace

}  // namespace dkm::cli

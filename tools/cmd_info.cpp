// `dkm info MODEL [--json] [--csv FILE]`: every layer with its output shape, parameters and MACs.
#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "models/atomic_file.hpp"
#include "models/model.hpp"
#include "models/spec_format.hpp"
#include "reports/table.hpp"
#include "tools/command.hpp"

namespace dkm::cli {

namespace {

struct InfoOptions {
  std::string model;
  bool json = false;
  std::string csv_path;
};

std::string shape_text(const models::Shape& s) { return fmt::format("{}x{}x{}", s.c, s.h, s.w); }

reports::Table layer_table(const models::Model& m) {
  reports::Table t;
  t.columns = {{"name", "layer"}, {"type", "type"}, {"output_shape", "output (CxHxW)"},
               {"params", "params"}, {"macs", "MACs/image"}, {"element_ops", "element ops/image"}};
  for (const auto& l : m.layers)
    t.rows.push_back({l.name, std::string(models::spec_type(l)), shape_text(l.output_shape), l.params(), l.macs,
                      l.element_ops});
  t.total = {std::string("total"), {}, {}, m.total_params(), m.total_macs(), m.total_element_ops()};
  return t;
}

void run_info(const InfoOptions& o) {
  models::Model m = models::load_model(o.model);
  int64_t conv_fc = m.conv_fc_params(), bn = m.bn_params();
  reports::Table table = layer_table(m);
  if (!o.csv_path.empty()) write_file_atomic(o.csv_path, reports::to_csv(table));
  if (o.json) {
    nlohmann::ordered_json layers = nlohmann::ordered_json::array();
    for (const auto& l : m.layers)
      layers.push_back({{"name", l.name},
                        {"type", std::string(models::spec_type(l))},
                        {"output_shape", {l.output_shape.c, l.output_shape.h, l.output_shape.w}},
                        {"params", l.params()},
                        {"macs", l.macs},
                        {"element_ops", l.element_ops}});
    nlohmann::ordered_json out = {
        {"model", m.name},
        {"input_shape", {m.input.c, m.input.h, m.input.w}},
        {"batch", m.batch},
        {"layers", layers},
        {"totals", {{"params", m.total_params()}, {"macs", m.total_macs()}, {"conv_fc_params", conv_fc},
                    {"bn_params", bn}, {"element_ops", m.total_element_ops()}}}};
    fmt::print("{}\n", out.dump(2));
    return;
  }
  fmt::print("{}: input {}, batch {}, {}-bit weights, {}-bit activations (defaults)\n", m.name, shape_text(m.input),
             m.batch, m.weight_bits, m.act_bits);
  if (!m.description.empty()) fmt::print("{}\n", m.description);
  fmt::print("\n{}\n", reports::to_text(table));
  fmt::print("params: {} conv+fc weights and biases, {} batch-norm and layernorm, {} in other constants; MACs: conv, "
             "fc and matmul, per image; element ops: every other arithmetic layer (docs/model-spec.md)\n",
             reports::format_cell(conv_fc, 0), reports::format_cell(bn, 0),
             reports::format_cell(m.total_params() - conv_fc - bn, 0));
}

void setup_info(CLI::App& app) {
  auto o = std::make_shared<InfoOptions>();
  auto* cmd = app.add_subcommand("info", "Per-layer shapes, parameters and MACs of a model");
  cmd->add_option("MODEL", o->model, "model spec (.json), ONNX file (.onnx) or zoo name (see `dkm models`)")
      ->required();
  cmd->add_flag("--json", o->json, "print JSON instead of a table");
  cmd->add_option("--csv", o->csv_path, "also write the table as CSV to this file");
  cmd->callback([o] { run_info(*o); });
}

const bool registered = register_command({30, setup_info});

}  // namespace

}  // namespace dkm::cli

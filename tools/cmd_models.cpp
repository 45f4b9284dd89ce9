// `dkm models [--json] [--csv FILE]`: the built-in zoo with its totals.
#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "models/error.hpp"
#include "models/output_files.hpp"
#include "models/model.hpp"
#include "reports/table.hpp"
#include "tools/command.hpp"

namespace dkm::cli {

namespace {

struct ModelsOptions {
  bool json = false;
  std::string csv_path;
};

reports::Table zoo_table() {
  reports::Table t;
  t.columns = {{"name", "model"},         {"input_shape", "input (CxHxW)"}, {"layers", "layers"},
               {"conv_fc_params", "conv+fc params"}, {"bn_params", "bn params"},   {"macs", "MACs/image"}};
  for (const auto& entry : models::zoo()) {
    models::Model m = models::parse_model(entry.spec_text, "zoo:" + entry.name);
    t.rows.push_back({entry.name, fmt::format("{}x{}x{}", m.input.c, m.input.h, m.input.w),
                      static_cast<int64_t>(m.layers.size()), m.conv_fc_params(), m.bn_params(), m.total_macs()});
  }
  return t;
}

void run_models(const ModelsOptions& o) {
  if (o.json && o.csv_path == "-") throw UsageError("--json prints to standard output: give --csv a file, not -");
  OutputFiles files;
  files.add("--csv", o.csv_path);
  reports::Table table = zoo_table();
  files.set("--csv", reports::to_csv(table));
  files.commit();
  if (o.json) {
    fmt::print("{}\n", nlohmann::json{{"models", reports::to_json_rows(table)}}.dump(2));
    return;
  }
  fmt::print("{}\n", reports::to_text(table));
  fmt::print("Use a name with any command (`dkm info resnet50`); MACs count conv and fc layers only.\n");
}

void setup_models(CLI::App& app) {
  auto o = std::make_shared<ModelsOptions>();
  auto* cmd = app.add_subcommand("models", "List the built-in model zoo with parameter and MAC totals");
  cmd->add_flag("--json", o->json, "print JSON instead of a table");
  cmd->add_option("--csv", o->csv_path, "also write the table as CSV to this file (- for standard output)");
  cmd->callback([o] { run_models(*o); });
}

const bool registered = register_command({31, setup_models});

}  // namespace

}  // namespace dkm::cli

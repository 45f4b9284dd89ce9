// The zoo against the published totals of shared/reference/zoo.md, the schema and the spec writer.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "models/model.hpp"
#include "models/spec_format.hpp"
#include "tests/support.hpp"

using namespace dkm::models;

namespace {

void check_totals(const char* name, int64_t conv_fc, int64_t bn, int64_t macs) {
  CAPTURE(name);
  Model m = load_model(name);
  CHECK(m.name == name);
  CHECK(m.conv_fc_params() == conv_fc);
  CHECK(m.bn_params() == bn);
  CHECK(m.total_macs() == macs);
  CHECK(m.total_params() == conv_fc + bn);
}

std::vector<std::string> conv_names(const Model& m) {
  std::vector<std::string> names;
  for (const auto& l : m.layers)
    if (l.kind == LayerKind::conv2d) names.push_back(l.name);
  return names;
}

nlohmann::json schema() {
  return nlohmann::json::parse(dkm::test::slurp(dkm::test::source_path("models/model-spec.schema.json")));
}

// The schema's per-type rule (allOf: if type in [...] then required/propertyNames) for `type`.
nlohmann::json schema_rule(const nlohmann::json& s, const std::string& type) {
  for (const auto& rule : s["$defs"]["layer"]["allOf"]) {
    const auto& cond = rule["if"]["properties"]["type"];
    bool match = cond.contains("const") ? cond["const"] == type
                                        : std::find(cond["enum"].begin(), cond["enum"].end(), type) != cond["enum"].end();
    if (match) return rule["then"];
  }
  return nullptr;
}

}  // namespace

// The exact figures of ../shared/reference/zoo.md (conv+fc weights and biases, batch norm, conv+fc MACs).
TEST_CASE("zoo: lenet5 totals") { check_totals("lenet5", 431080, 0, 2293000); }
TEST_CASE("zoo: wrn-16-4 totals") { check_totals("wrn-16-4", 2747530, 3616, 505858560); }
TEST_CASE("zoo: alexnet totals") { check_totals("alexnet", 60965224, 0, 724406816); }
TEST_CASE("zoo: vgg16 totals") { check_totals("vgg16", 138357544, 0, 15470264320); }
TEST_CASE("zoo: googlenet totals") { check_totals("googlenet", 6610344, 14560, 1498376192); }
TEST_CASE("zoo: resnet18 totals") { check_totals("resnet18", 11679912, 9600, 1814073344); }
TEST_CASE("zoo: resnet50 totals") {
  check_totals("resnet50", 25503912, 53120, 4089184256);
  CHECK(load_model("resnet50").total_params() == 25557032);  // "25,557,032 with batch-norm"
}
TEST_CASE("zoo: mobilenet_v2 totals") { check_totals("mobilenet_v2", 3470760, 34112, 300774272); }
TEST_CASE("zoo: squeezenet1_0 totals") { check_totals("squeezenet1_0", 1248424, 0, 818924576); }

TEST_CASE("zoo: the nine models, listed by name") {
  std::vector<std::string> names;
  for (const auto& e : zoo()) names.push_back(e.name);
  CHECK(names == std::vector<std::string>{"alexnet", "googlenet", "lenet5", "mobilenet_v2", "resnet18", "resnet50",
                                          "squeezenet1_0", "vgg16", "wrn-16-4"});
}

TEST_CASE("zoo: wrn-16-4 has the 16 conv layers of paper.md section 3 in order, with its row counts") {
  Model m = load_model("wrn-16-4");
  std::vector<std::string> expected = {"conv1"};
  for (int stage = 1; stage <= 3; ++stage)
    for (const char* conv : {"block1.conv1", "block1.conv2", "block1.shortcut", "block2.conv1", "block2.conv2"})
      expected.push_back("stage" + std::to_string(stage) + "." + conv);
  CHECK(conv_names(m) == expected);
  // Row count N of a conv layer: out_channels x in_channels / groups x kernel height.
  std::vector<int64_t> rows;
  for (const auto& l : m.layers)
    if (l.kind == LayerKind::conv2d) rows.push_back(l.out_channels * l.input_shapes[0].c / l.groups * l.kernel_h);
  CHECK(rows == std::vector<int64_t>{144, 3072, 12288, 1024, 12288, 12288, 24576, 49152, 8192, 49152, 49152, 98304,
                                     196608, 32768, 196608, 196608});
  for (const auto& l : m.layers)
    if (l.has_weights()) CHECK(l.bias);
  CHECK(m.find("fc")->weight_count == 2560);
}

TEST_CASE("zoo: alexnet is the grouped Caffe variant on 227x227") {
  Model m = load_model("alexnet");
  CHECK(m.input == Shape{3, 227, 227});
  for (const char* g : {"conv2", "conv4", "conv5"}) CHECK(m.find(g)->groups == 2);
  CHECK(m.find("conv1")->output_shape == Shape{96, 55, 55});
  CHECK(m.find("pool5")->output_shape == Shape{256, 6, 6});
}

TEST_CASE("zoo: every spec survives to_json_spec and back") {
  for (const auto& e : zoo()) {
    CAPTURE(e.name);
    Model a = parse_model(e.spec_text, e.name);
    Model b = parse_model(to_json_spec(a), e.name);
    CHECK(b.layers.size() == a.layers.size());
    CHECK(b.total_params() == a.total_params());
    CHECK(b.total_macs() == a.total_macs());
    CHECK(to_json_spec(b) == to_json_spec(a));
    bool same_layers = std::equal(a.layers.begin(), a.layers.end(), b.layers.begin(), b.layers.end(),
                                  [](const Layer& x, const Layer& y) {
                                    return x.name == y.name && x.inputs == y.inputs && x.output_shape == y.output_shape &&
                                           x.pads == y.pads && x.macs == y.macs && x.params() == y.params();
                                  });
    CHECK(same_layers);
  }
}

TEST_CASE("schema: its layer types and keys are the reader's") {
  nlohmann::json s = schema();
  const auto& layer = s["$defs"]["layer"];
  std::set<std::string> schema_types(layer["properties"]["type"]["enum"].begin(), layer["properties"]["type"]["enum"].end());
  std::set<std::string> reader_types;
  std::string list = layer_type_list();
  for (size_t at = 0; at < list.size();) {
    size_t comma = std::min(list.find(", ", at), list.size());
    reader_types.insert(list.substr(at, comma - at));
    at = comma + 2;
  }
  CHECK(schema_types == reader_types);
  for (const auto& type : schema_types) {
    CAPTURE(type);
    const LayerType* t = find_layer_type(type);
    REQUIRE(t != nullptr);
    nlohmann::json rule = schema_rule(s, type);
    REQUIRE(rule.is_object());
    std::set<std::string> allowed(rule["propertyNames"]["enum"].begin(), rule["propertyNames"]["enum"].end());
    CHECK(allowed == std::set<std::string>(t->keys.begin(), t->keys.end()));
    std::set<std::string> required;
    if (rule.contains("required")) required = std::set<std::string>(rule["required"].begin(), rule["required"].end());
    CHECK(required == std::set<std::string>(t->required.begin(), t->required.end()));
  }
  std::set<std::string> top(s["required"].begin(), s["required"].end());
  CHECK(top == std::set<std::string>{"format", "name", "input", "layers"});
  CHECK(s["properties"]["format"]["const"] == std::string(kModelFormat));
}

TEST_CASE("schema: every zoo file has the required keys and only the keys its layer types allow") {
  nlohmann::json s = schema();
  for (const auto& e : zoo()) {
    CAPTURE(e.name);
    auto spec = nlohmann::json::parse(e.spec_text);
    for (const auto& key : s["required"]) CHECK(spec.contains(key.get<std::string>()));
    for (const auto& [key, value] : spec.items()) CHECK(s["properties"].contains(key));
    for (const auto& l : spec["layers"]) {
      for (const auto& key : s["$defs"]["layer"]["required"]) CHECK(l.contains(key.get<std::string>()));
      nlohmann::json rule = schema_rule(s, l["type"].get<std::string>());
      REQUIRE(rule.is_object());
      const auto& allowed = rule["propertyNames"]["enum"];
      for (const auto& [key, value] : l.items())
        CHECK(std::find(allowed.begin(), allowed.end(), key) != allowed.end());
      if (rule.contains("required"))
        for (const auto& key : rule["required"]) CHECK(l.contains(key.get<std::string>()));
    }
  }
}

TEST_CASE("zoo: the committed specs are what tools/zoo/gen_zoo.py writes") {
  if (std::system("command -v python3 >/dev/null 2>&1") != 0) return dkm::test::skip("python3 not installed");
  std::string cmd = "python3 '" + dkm::test::source_path("tools/zoo/gen_zoo.py") + "' --check";
  CHECK(std::system(cmd.c_str()) == 0);
}

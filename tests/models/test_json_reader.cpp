// One set of JSON rules for every reader (models/json_reader.hpp): the spec, plan and container readers
// refuse duplicate keys, give syntax errors as line and column, and word every error "expected ..., got ...".
#include <doctest/doctest.h>

#include <string>

#include "kmeans/container.hpp"
#include "kmeans/plan.hpp"
#include "models/error.hpp"
#include "models/json_reader.hpp"
#include "models/model.hpp"
#include "models/tensor_io.hpp"
#include "tests/support.hpp"

namespace {

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const dkm::InputError& e) {
    return e.what();
  }
  return "no error";
}

std::string plan_error(const std::string& text) {
  return error_of([&] { dkm::kmeans::parse_plan(text, "p.json"); });
}
std::string spec_error(const std::string& text) {
  return error_of([&] { dkm::models::parse_model(text, "m.json"); });
}

// A container whose "__metadata__.layers" JSON text is `layers`.
std::string container_error(const std::string& layers) {
  dkm::test::TempDir dir;
  dkm::Safetensors file;
  file.metadata = {{"format", "dkm-compressed/1"}, {"model", "m"}, {"random_weights", "false"},
                   {"weights_seed", "0"}, {"layers", layers}};
  dkm::write_safetensors(dir / "c.safetensors", file);
  std::string e = error_of([&] { dkm::kmeans::read_compressed(dir / "c.safetensors"); });
  return e.substr(e.find("c.safetensors") + std::string("c.safetensors").size());
}

const char* kSpec = R"({"format": "dkm-model/1", "name": "m", "input": [1, 4, 4],
  "layers": [{"name": "c", "type": "conv2d", "out_channels": 2, "kernel": 3}]})";

}  // namespace

TEST_CASE("json reader: a duplicate key is an error in specs, plans and containers alike") {
  CHECK(spec_error(R"({"format": "dkm-model/1", "name": "a", "name": "b"})") ==
        "m.json: name: expected each key once in an object, got a duplicate key");
  CHECK(plan_error(R"({"format": "dkm-plan/1", "defaults": {"k": 2, "k": 3}})") ==
        "p.json: defaults.k: expected each key once in an object, got a duplicate key");
  CHECK(plan_error(R"({"format": "dkm-plan/1", "layers": [{"match": "a"}, {"match": "b", "match": "c"}]})") ==
        "p.json: layers[1].match: expected each key once in an object, got a duplicate key");
  CHECK(container_error(R"([{"name": "c", "k": 2, "k": 3}])") ==
        ": __metadata__.layers[0].k: expected each key once in an object, got a duplicate key");
}

TEST_CASE("json reader: syntax errors give line and column in every reader") {
  CHECK(spec_error("{\n  \"format\": }") ==
        "m.json: line 2, column 13: expected valid JSON: syntax error while parsing value - unexpected '}'; "
        "expected '[', '{', or a literal");
  CHECK(plan_error("{\n  \"format\": }") ==
        "p.json: line 2, column 13: expected valid JSON: syntax error while parsing value - unexpected '}'; "
        "expected '[', '{', or a literal");
  CHECK(container_error("[{") ==
        ": __metadata__.layers, line 1, column 3: expected valid JSON: syntax error while parsing object key - "
        "unexpected end of input; expected string literal");
  CHECK(plan_error(R"({"format": "dkm-plan/1"} x)") ==
        "p.json: line 1, column 26: expected the end of the file after the top-level JSON value, got trailing characters");
  CHECK(plan_error("  \n") == "p.json: expected a compression plan (a JSON object), got an empty file");
  CHECK(plan_error(R"({"format": "dkm-plan/1", "defaults": {"tol": 1e999}})") ==
        "p.json: expected valid JSON with numbers a double can hold");
}

TEST_CASE("json reader: every field error says expected ..., got ... with its JSON path") {
  CHECK(plan_error(R"({"format": "dkm-plan/1", "defaults": {"k": 0}})") ==
        "p.json: defaults.k: expected a positive integer, got 0");
  CHECK(plan_error(R"({"format": "dkm-plan/1", "defaults": {"k": "2"}})") ==
        "p.json: defaults.k: expected a positive integer, got a string (\"2\")");
  CHECK(plan_error(R"({"format": "dkm-plan/1", "defaults": {"granularity": "rows"}})") ==
        "p.json: defaults.granularity: expected one of row, kernel, filter, scalar, group, got \"rows\"");
  CHECK(plan_error(R"({"format": "dkm-plan/1", "defaults": {"sparsty": 0.5}})") ==
        "p.json: defaults.sparsty: unknown key for plan defaults (did you mean \"sparsity\"?); expected one of: k, "
        "cluster_rate, granularity, group_size, sparsity, sparsity_variant, init, seed, max_iter, tol, compress, weighting, bias_correction");
  CHECK(plan_error(R"({"model": "x"})") == "p.json: expected the key \"format\"");
  CHECK(container_error(R"([{"name": 3}])") == ": __metadata__.layers[0].name: expected a string, got a number (3)");
  CHECK(container_error(R"([{"name": "c"}])") == ": __metadata__.layers[0]: expected the key \"granularity\"");
  CHECK(spec_error(kSpec).find("no error") != std::string::npos);
}

TEST_CASE("json reader: the helpers on their own") {
  const dkm::JsonReader r("f.json");
  const dkm::Json doc = dkm::parse_json(R"({"a": {"b": [1, 2.5, "x"]}})", "f.json", "a document");
  CHECK(r.integer(doc["a"]["b"][0], "a.b[0]", 0, 5, "a small integer") == 1);
  CHECK(error_of([&] { r.integer(doc["a"]["b"][1], "a.b[1]", 0, 5, "a small integer"); }) ==
        "f.json: a.b[1]: expected a small integer, got a non-integer number (2.5)");
  CHECK(error_of([&] { r.number(doc["a"]["b"][0], "a.b[0]", 1, 2, "a number in (1, 2]", dkm::JsonReader::Ends::open_min); }) ==
        "f.json: a.b[0]: expected a number in (1, 2], got 1");
  CHECK(dkm::JsonReader::join("", "a") == "a");
  CHECK(dkm::JsonReader::index(dkm::JsonReader::join("a", "b"), 2) == "a.b[2]");
  CHECK(error_of([&] { dkm::parse_json("[1, [2, {\"k\": 1, \"k\": 2}]]", "f.json", "x", "outer.doc"); }) ==
        "f.json: outer.doc[1][1].k: expected each key once in an object, got a duplicate key");
}

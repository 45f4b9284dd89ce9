#pragma once
// Small TF.js layers models written from the tests: a Keras functional topology built layer by layer and
// one weight shard whose bytes the test chooses (float32, or quantised as TF.js stores them).
#include <cstdint>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support.hpp"

namespace dkm::test {

struct TfjsModel {
  using json = nlohmann::ordered_json;
  json layers = json::array();
  json weights = json::array();
  std::string shard;  // the one group's bytes

  // An InputLayer named "x" with the NHWC batch shape (null batch).
  explicit TfjsModel(std::vector<int64_t> hwc) {
    json shape = json::array({nullptr});
    for (auto d : hwc) shape.push_back(d);
    layers.push_back({{"class_name", "InputLayer"}, {"name", "x"},
                      {"config", {{"name", "x"}, {"batch_input_shape", shape}}}, {"inbound_nodes", json::array()}});
  }

  TfjsModel& layer(const std::string& cls, const std::string& name, const std::vector<std::string>& inputs,
                   json config = json::object()) {
    config["name"] = name;
    json node = json::array();
    for (const auto& i : inputs) node.push_back(json::array({i, 0, 0, json::object()}));
    layers.push_back({{"class_name", cls}, {"name", name}, {"config", config}, {"inbound_nodes", json::array({node})}});
    return *this;
  }

  TfjsModel& f32(const std::string& name, std::vector<int64_t> shape, const std::vector<float>& values) {
    weights.push_back({{"name", name}, {"shape", shape}, {"dtype", "float32"}});
    shard.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
    return *this;
  }

  // `stored`: the stored bytes as TF.js writes them (uint8: one per value; uint16, float16: two, little-endian).
  TfjsModel& quantised(const std::string& name, std::vector<int64_t> shape, const std::string& dtype,
                       const std::string& stored, double scale = 0, double min = 0) {
    json q = {{"dtype", dtype}};
    if (dtype != "float16") {
      q["scale"] = scale;
      q["min"] = min;
    }
    weights.push_back({{"name", name}, {"shape", shape}, {"dtype", "float32"}, {"quantization", q}});
    shard += stored;
    return *this;
  }

  // Weights of `count` values 1, 2, 3, ... (float32), for layers whose values a test does not look at.
  TfjsModel& counting(const std::string& name, std::vector<int64_t> shape) {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    std::vector<float> v(static_cast<size_t>(n));
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i + 1);
    return f32(name, shape, v);
  }

  json document() const {
    json topology = {{"class_name", "Model"},
                     {"config", {{"name", "test"}, {"layers", layers}, {"input_layers", {{"x", 0, 0}}},
                                 {"output_layers", {{layers.back()["name"], 0, 0}}}}}};
    return {{"format", "layers-model"},
            {"modelTopology", {{"keras_version", "2.15.0"}, {"model_config", topology}}},
            {"weightsManifest", {{{"paths", {"group1-shard1of1.bin"}}, {"weights", weights}}}}};
  }

  // Writes model.json and its shard into `dir`; returns the model.json path.
  std::string write(const TempDir& dir, const std::string& text = "") const {
    std::ofstream(dir / "model.json") << (text.empty() ? document().dump(1) : text);
    std::ofstream(dir / "group1-shard1of1.bin", std::ios::binary) << shard;
    return dir / "model.json";
  }
};

}  // namespace dkm::test

#pragma once
// Inside the TF.js import (models/tfjs.hpp): the weights manifest and the layers topology. Both take no
// files, so the fuzz target and the tests drive them from memory; JSON and file reads follow the rules of
// every dkm reader (models/json_reader.hpp, models/input_file.hpp).
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "models/input_file.hpp"
#include "models/json_reader.hpp"
#include "models/model.hpp"
#include "models/tensor.hpp"

namespace dkm::models::tfjs {

// model.json holds the topology and the manifest (the largest known ones are a few MB): a JSON text.
inline constexpr uint64_t kMaxModelJsonBytes = kMaxTextInputBytes;
// All weight shards together: the limit of every binary input, so TF.js and ONNX hold the same models.
inline constexpr uint64_t kMaxWeightBytes = kMaxBinaryInputBytes;

// One entry of the weights manifest with its place in its group's bytes (the group's shards concatenated).
struct ManifestWeight {
  std::string name;
  std::vector<int64_t> shape;
  std::string dtype;   // the weight's own dtype: "float32" or "int32"
  std::string stored;  // how it is stored: dtype, or the quantisation "uint8", "uint16", "float16"
  double scale = 1, min = 0;  // uint8 / uint16: value = stored * scale + min
  size_t group = 0;
  uint64_t offset = 0, bytes = 0;
  std::string where;  // JSON path, "weightsManifest[0].weights[3]"
  int64_t numel() const;
};

struct ManifestGroup {
  std::vector<std::string> paths;  // shard files, relative to model.json's folder
  uint64_t bytes = 0;              // what the group's weights need
  std::string where;
};

struct Manifest {
  std::vector<ManifestGroup> groups;
  std::vector<ManifestWeight> weights;  // in file order
};

// `manifest` is the value of "weightsManifest" at JSON path `at`. Checks every field, shape and dtype and
// that the declared sizes fit kMaxWeightBytes, all before any shard is read.
Manifest parse_manifest(const Json& manifest, const std::string& source, const std::string& at);

// The weight's values as float32 (dequantised, float16 widened exactly) from its group's bytes, which
// must be exactly the group's declared size. Non-finite values are InputErrors naming the weight.
Tensor decode_weight(const ManifestWeight& w, std::string_view group_bytes, const std::string& source);

// Reads a group's shards concatenated; their total size must be the group's `bytes`.
using GroupReader = std::function<std::string(const ManifestGroup& group)>;

struct TfjsInput {
  std::vector<int64_t> input_shape;  // NHWC (or N,features), for an input left with null dimensions
};

// The layers model `doc` (a parsed model.json) as a dkm Model with every shape resolved and the conv and
// linear weights attached ("<layer>.weight" OIHW or out x in, "<layer>.bias"). Shards are read through
// `read_group` only once the whole manifest and the layer asking for a weight have been checked.
Model convert_layers_model(const Json& doc, const std::string& source, const GroupReader& read_group,
                           const TfjsInput& options);

}  // namespace dkm::models::tfjs

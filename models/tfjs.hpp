#pragma once
// TF.js layers models in (docs/tfjs.md): model.json (a Keras topology and a weights manifest) and its
// weight shards, float32 or quantised to uint8, uint16 or float16, read into the same Model a JSON spec
// gives, with conv and linear weights attached as "<layer>.weight" (OIHW, out x in) and "<layer>.bias".
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "models/model.hpp"

namespace dkm::models {

struct TfjsOptions {
  // The input's shape, NHWC ("1,H,W,C"), for a model whose InputLayer leaves sizes null.
  std::vector<int64_t> input_shape;
};

// The model.json a path names: the path itself when its file name is "model.json", the model.json inside
// it when it is a directory holding one; nullopt for anything else.
std::optional<std::string> tfjs_model_json(const std::string& path);

// Throws dkm::InputError naming the file and the JSON path, layer or weight for anything unreadable,
// unsupported or inconsistent: bad JSON, a missing or wrongly sized shard, an unknown layer class or
// dtype, absurd shapes. Declared sizes are checked before anything is allocated.
Model load_tfjs(const std::string& path, const TfjsOptions& options = {});

}  // namespace dkm::models

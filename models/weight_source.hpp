#pragma once
// Weights read one tensor at a time, for `dkm compress` on models larger than memory: what is held is
// the headers and the one tensor being read, never the whole model (docs/weights.md, "Streaming").
// Sources: a .safetensors file, a sharded safetensors model (its `*.safetensors.index.json`, as Hugging
// Face writes it), weights already in memory (an ONNX model's, or what another reader loaded).
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/tensor.hpp"

namespace dkm {

class WeightSource {
 public:
  virtual ~WeightSource() = default;
  // The tensor's shape, or nullopt when the source has no tensor of that name. Cheap: no data is read.
  virtual std::optional<std::vector<int64_t>> shape(const std::string& name) const = 0;
  // The tensor as float32 (converted as load_weights does). Throws dkm::InputError naming the file and
  // the tensor for a missing tensor, a short read or a file changed since it was opened.
  virtual Tensor load(const std::string& name) const = 0;
  // The file a tensor comes from, for error messages.
  virtual std::string source(const std::string& name) const = 0;
  // Every file read (the shards of an index), so that no output replaces one of them.
  virtual std::vector<std::string> files() const = 0;
};

// `path` ending in .safetensors or .safetensors.index.json is read one tensor at a time (headers checked
// when opened, as read_safetensors checks them); .npz and .npy are read whole (load_weights).
std::unique_ptr<WeightSource> open_weights(const std::string& path);
// `weights` must outlive the source.
std::unique_ptr<WeightSource> weights_in_memory(const Weights& weights, std::string source);

}  // namespace dkm

#pragma once
// The compressed model container: one safetensors file holding, per layer, the codebook, the bit-packed
// labels, the Huffman stream and the metadata (docs/container.md).
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "kmeans/compressed.hpp"
#include "models/tensor.hpp"
#include "models/tensor_io.hpp"

namespace dkm::kmeans {

// The container written layer by layer, for models whose labels do not fit in memory together: each
// added layer's tensors go to `data` at once (in the order added), and `header` gives the bytes that
// precede them in the file. header(model) + everything passed to `data` is the container;
// encode_compressed is this writer on one model. `model`'s layers are not read by `header`.
class ContainerWriter {
 public:
  explicit ContainerWriter(std::function<void(std::string_view)> data);
  void add(const CompressedLayer& layer);  // throws std::invalid_argument for an inconsistent layer
  std::string header(const CompressedModel& model) const;

 private:
  void put(const std::string& name, DType dtype, std::vector<int64_t> shape, std::string_view bytes);
  std::function<void(std::string_view)> data_;
  std::vector<SafetensorsSpan> spans_;
  nlohmann::json layers_ = nlohmann::json::array();
  std::set<std::string> names_;
  uint64_t offset_ = 0;
};

void write_compressed(const std::string& path, const CompressedModel& model);   // atomic
std::string encode_compressed(const CompressedModel& model);                     // the bytes write_compressed writes
CompressedModel read_compressed(const std::string& path);                       // validates everything

// Float weights exactly equal to codebook[label], in OIHW, plus the unchanged biases.
Weights decompress(const CompressedModel& model);

}  // namespace dkm::kmeans

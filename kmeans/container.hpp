#pragma once
// The compressed model container: one safetensors file holding, per layer, the codebook, the bit-packed
// labels, the Huffman stream and the metadata (docs/container.md).
#include <string>

#include "kmeans/compressed.hpp"
#include "models/tensor.hpp"

namespace dkm::kmeans {

void write_compressed(const std::string& path, const CompressedModel& model);   // atomic
std::string encode_compressed(const CompressedModel& model);                     // the bytes write_compressed writes
CompressedModel read_compressed(const std::string& path);                       // validates everything

// Float weights exactly equal to codebook[label], in OIHW, plus the unchanged biases.
Weights decompress(const CompressedModel& model);

}  // namespace dkm::kmeans

#pragma once
// Canonical Huffman coding of cluster labels: the real size of the index stream, and a decoder so the
// compressed container round-trips.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace dkm::kmeans {

struct HuffmanStream {
  std::vector<uint8_t> code_lengths;  // per symbol 0..alphabet-1; 0 = symbol absent
  std::vector<uint8_t> bits;          // MSB-first packed code words
  uint64_t bit_count = 0;             // valid bits in `bits`
};

// Code lengths (at most 32 bits) for a histogram; a single used symbol gets length 1.
std::vector<uint8_t> huffman_code_lengths(std::span<const int64_t> histogram);

// Total bits of the coded stream for this histogram (sum of count * length).
uint64_t huffman_bits(std::span<const int64_t> histogram);

HuffmanStream huffman_encode(std::span<const int32_t> symbols, int32_t alphabet_size);

// Decodes exactly `count` symbols; throws dkm::InputError (naming `source` and the bit offset) on a
// corrupt or short stream or invalid code lengths.
std::vector<int32_t> huffman_decode(const HuffmanStream& stream, int64_t count, const std::string& source);

}  // namespace dkm::kmeans

// The canonical Huffman decoder. Input layout: byte 0 = alphabet size - 1, then that many code lengths
// (raw bytes, so invalid lengths are exercised too), 2 bytes symbol count (little-endian), 1 byte of unused
// trailing bits, then the MSB-first stream.
#include "kmeans/huffman.hpp"
#include "tests/fuzz/fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  size_t alphabet = size_t{data[0]} + 1;
  if (size < 1 + alphabet + 3) return 0;
  dkm::kmeans::HuffmanStream s;
  s.code_lengths.assign(data + 1, data + 1 + alphabet);
  const uint8_t* p = data + 1 + alphabet;
  int64_t count = p[0] | (p[1] << 8);
  unsigned unused = p[2] & 7u;
  s.bits.assign(p + 3, data + size);
  s.bit_count = s.bits.size() * 8 >= unused ? s.bits.size() * 8 - unused : 0;
  dkm::fuzz::expect_clean([&] {
    std::vector<int32_t> symbols = dkm::kmeans::huffman_decode(s, count, "fuzz");
    if (static_cast<int64_t>(symbols.size()) != count) __builtin_trap();
    for (int32_t v : symbols)
      if (v < 0 || static_cast<size_t>(v) >= alphabet || s.code_lengths[static_cast<size_t>(v)] == 0) __builtin_trap();
  });
  return 0;
}

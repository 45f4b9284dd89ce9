// Canonical Huffman: hand-computed code lengths and code words, edge cases, round trips against the
// entropy bound, the 32-bit length limit, and corrupt streams.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <random>

#include "kmeans/huffman.hpp"
#include "models/error.hpp"

using namespace dkm;
using namespace dkm::kmeans;

namespace {

std::string input_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

std::vector<uint8_t> lengths_of(std::vector<int64_t> histogram) { return huffman_code_lengths(histogram); }

}  // namespace

TEST_CASE("huffman: the textbook example gives the textbook code") {
  // CLRS's {a:5, b:9, c:12, d:13, e:16, f:45}: f gets 1 bit, c d e 3 bits, a b 4 bits; 224 bits in all.
  std::vector<int64_t> histogram = {5, 9, 12, 13, 16, 45};
  CHECK(huffman_code_lengths(histogram) == std::vector<uint8_t>{4, 4, 3, 3, 3, 1});
  CHECK(huffman_bits(histogram) == 224);
  // Canonical words: f=0, c=100, d=101, e=110, a=1110, b=1111.
  HuffmanStream t = huffman_encode(std::vector<int32_t>{5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 0, 1, 2, 3, 4}, 6);
  // {1,1,1,1,1,10}: 0+1 -> 2, 2+3 -> 2, 4+(0,1) -> 3, (2,3)+(4,0,1) -> 5, 5+10: lengths {4,4,3,3,3,1}.
  CHECK(t.code_lengths == std::vector<uint8_t>{4, 4, 3, 3, 3, 1});
  CHECK(t.bit_count == 10 * 1 + 3 * 3 + 2 * 4);
  // 0000000000 1110 1111 100 101 110 -> 00000000 00111011 11100101 110 + 5 zero padding bits
  CHECK(t.bits == std::vector<uint8_t>{0x00, 0x3B, 0xE5, 0xC0});
  CHECK(huffman_decode(t, 15, "t") == std::vector<int32_t>{5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 0, 1, 2, 3, 4});
}

TEST_CASE("huffman: ties break the same way every time") {
  CHECK(lengths_of({1, 1, 1}) == std::vector<uint8_t>{2, 2, 1});  // 0+1 merge first; 2 then joins them
  CHECK(lengths_of({1, 1, 2}) == std::vector<uint8_t>{2, 2, 1});  // leaf 2 (w2) pops before the merged w2 node
  CHECK(lengths_of({2, 1, 1}) == std::vector<uint8_t>{1, 2, 2});
  CHECK(lengths_of({1, 1, 1, 1}) == std::vector<uint8_t>{2, 2, 2, 2});
  CHECK(lengths_of({3, 0, 3, 0}) == std::vector<uint8_t>{1, 0, 1, 0});
}

TEST_CASE("huffman: empty and single-symbol inputs") {
  CHECK(lengths_of({}).empty());
  CHECK(lengths_of({0, 0}) == std::vector<uint8_t>{0, 0});
  CHECK(huffman_bits(std::vector<int64_t>{0, 0}) == 0);
  HuffmanStream empty = huffman_encode(std::vector<int32_t>{}, 4);
  CHECK(empty.bit_count == 0);
  CHECK(empty.bits.empty());
  CHECK(empty.code_lengths == std::vector<uint8_t>{0, 0, 0, 0});
  CHECK(huffman_decode(empty, 0, "e").empty());

  // One used symbol still costs one bit per occurrence, so the stream length is the count.
  CHECK(lengths_of({0, 7, 0}) == std::vector<uint8_t>{0, 1, 0});
  CHECK(huffman_bits(std::vector<int64_t>{0, 7, 0}) == 7);
  HuffmanStream one = huffman_encode(std::vector<int32_t>(9, 1), 3);
  CHECK(one.bit_count == 9);
  CHECK(one.bits == std::vector<uint8_t>{0, 0});
  CHECK(huffman_decode(one, 9, "o") == std::vector<int32_t>(9, 1));
}

TEST_CASE("huffman: random labels round-trip within one bit per symbol of the entropy") {
  std::mt19937_64 rng(42);
  for (int alphabet : {2, 3, 17, 256, 1000}) {
    CAPTURE(alphabet);
    // Skewed labels, as k-means clusters are: a geometric-like draw folded into the alphabet.
    std::geometric_distribution<int> draw(1.0 / (alphabet / 4.0 + 1.0));
    std::vector<int32_t> labels(20000);
    for (auto& l : labels) l = draw(rng) % alphabet;
    std::vector<int64_t> histogram(static_cast<size_t>(alphabet), 0);
    for (auto l : labels) ++histogram[static_cast<size_t>(l)];
    HuffmanStream s = huffman_encode(labels, alphabet);
    CHECK(s.bit_count == huffman_bits(histogram));
    double entropy_bits = 0;
    for (auto c : histogram)
      if (c > 0) entropy_bits -= static_cast<double>(c) * std::log2(static_cast<double>(c) / labels.size());
    CHECK(static_cast<double>(s.bit_count) >= entropy_bits);
    CHECK(static_cast<double>(s.bit_count) < entropy_bits + static_cast<double>(labels.size()));
    CHECK(huffman_decode(s, static_cast<int64_t>(labels.size()), "r") == labels);
  }
}

TEST_CASE("huffman: Fibonacci counts that would need 39-bit codes are held to 32 bits") {
  std::vector<int64_t> histogram = {1, 1};
  while (histogram.size() < 40) histogram.push_back(histogram[histogram.size() - 1] + histogram[histogram.size() - 2]);
  std::vector<uint8_t> lengths = huffman_code_lengths(histogram);
  CHECK(*std::max_element(lengths.begin(), lengths.end()) == 32);
  double kraft = 0;
  for (auto l : lengths) kraft += std::ldexp(1.0, -l);
  CHECK(kraft == 1.0);  // still a complete prefix code
  // The limited code still decodes: one of each symbol.
  std::vector<int32_t> symbols(40);
  for (int i = 0; i < 40; ++i) symbols[static_cast<size_t>(i)] = i;
  HuffmanStream s = huffman_encode(symbols, 40);
  CHECK(huffman_decode(s, 40, "f") == symbols);
}

TEST_CASE("huffman: corrupt streams and code lengths are refused with the bit offset") {
  HuffmanStream s = huffman_encode(std::vector<int32_t>{5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 0, 1, 2, 3, 4}, 6);  // 27 bits
  HuffmanStream bad = s;
  bad.bit_count = 26;
  CHECK(input_error([&] { huffman_decode(bad, 15, "c.dkm"); }) ==
        "c.dkm: Huffman stream bit 24: expected 15 symbols, got the end of the stream after 26 bits");
  CHECK(input_error([&] { huffman_decode(s, 14, "c.dkm"); }) ==
        "c.dkm: Huffman stream bit 24: expected the end of the stream after 14 symbols, got 3 more bits");
  CHECK(input_error([&] { huffman_decode(s, 28, "c.dkm"); }) ==
        "c.dkm: Huffman stream bit 27: expected at least 28 bits for 28 symbols, got 27");
  bad = s;
  bad.bits.push_back(0);
  CHECK(input_error([&] { huffman_decode(bad, 15, "c.dkm"); }) == "c.dkm: Huffman stream bit 0: expected 4 bytes for 27 bits, got 5");
  bad = s;
  bad.bits[3] |= 0x01;
  CHECK(input_error([&] { huffman_decode(bad, 15, "c.dkm"); }) ==
        "c.dkm: Huffman stream bit 31: expected zero padding bits after the last code word, got a 1");
  bad = s;
  // {4,4,3,3,3,2}: an incomplete code (f=00 c=010 d=011 e=100 a=1010 b=1011), so the 1110 at bit 10 is no word.
  bad.code_lengths[5] = 2;
  CHECK(input_error([&] { huffman_decode(bad, 15, "c.dkm"); }) ==
        "c.dkm: Huffman stream bit 10: expected a valid code word, got a bit pattern the code lengths leave unused");
  bad.code_lengths = {1, 1, 1, 0, 0, 0};
  CHECK(input_error([&] { huffman_decode(bad, 15, "c.dkm"); }) ==
        "c.dkm: Huffman stream bit 0: expected code lengths that satisfy Kraft's inequality, got an over-subscribed set");
  bad.code_lengths = {33, 1, 0, 0, 0, 0};
  CHECK(input_error([&] { huffman_decode(bad, 15, "c.dkm"); }) ==
        "c.dkm: Huffman stream bit 0: expected code lengths of at most 32 bits, got 33 for symbol 0");
  bad.code_lengths = {0, 0, 0, 0, 0, 0};
  CHECK(input_error([&] { huffman_decode(bad, 15, "c.dkm"); }) ==
        "c.dkm: Huffman stream bit 0: expected at least one symbol with a non-zero code length, got none");
  HuffmanStream one = huffman_encode(std::vector<int32_t>(4, 0), 1);
  one.bits[0] = 0x20;  // 0010: the third bit is not the single symbol's code word "0"
  CHECK(input_error([&] { huffman_decode(one, 4, "c.dkm"); }) ==
        "c.dkm: Huffman stream bit 2: expected a valid code word, got a bit pattern the code lengths leave unused");
  CHECK_THROWS_AS(huffman_encode(std::vector<int32_t>{3}, 3), std::invalid_argument);
}

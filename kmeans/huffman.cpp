// Canonical Huffman coding. Code lengths come from the classic two-queue merge with a fixed tie-break
// (lower weight first, then leaves before merged nodes in creation order, leaves by symbol), so the same
// histogram always gives the same code. Code words are assigned canonically (shorter first, then by
// symbol, as in DEFLATE), so the lengths alone define the code.
#include "kmeans/huffman.hpp"

#include <algorithm>
#include <queue>
#include <stdexcept>

#include <fmt/format.h>

#include "models/error.hpp"

namespace dkm::kmeans {
namespace {

constexpr int kMaxLength = 32;

// Unlimited Huffman code lengths for the symbols with a non-zero count.
std::vector<int> huffman_depths(const std::vector<int64_t>& counts) {
  struct Node {
    int64_t weight;
    int64_t order;  // tie-break: leaves first (by symbol), then merged nodes in creation order
    int index;
  };
  auto later = [](const Node& a, const Node& b) {
    return a.weight != b.weight ? a.weight > b.weight : a.order > b.order;
  };
  std::priority_queue<Node, std::vector<Node>, decltype(later)> queue(later);
  std::vector<int> parent;
  for (size_t s = 0; s < counts.size(); ++s) {
    if (counts[s] <= 0) continue;
    queue.push({counts[s], static_cast<int64_t>(s), static_cast<int>(parent.size())});
    parent.push_back(-1);
  }
  size_t leaves = parent.size();
  int64_t next_order = static_cast<int64_t>(counts.size());
  while (queue.size() > 1) {
    Node a = queue.top();
    queue.pop();
    Node b = queue.top();
    queue.pop();
    int merged = static_cast<int>(parent.size());
    parent.push_back(-1);
    parent[static_cast<size_t>(a.index)] = merged;
    parent[static_cast<size_t>(b.index)] = merged;
    queue.push({a.weight + b.weight, next_order++, merged});
  }
  // Parents are created after their children, so one backward pass gives every depth.
  std::vector<int> depth(parent.size(), 0);
  for (size_t i = parent.size(); i-- > 0;)
    if (parent[i] >= 0) depth[i] = depth[static_cast<size_t>(parent[i])] + 1;
  depth.resize(leaves);
  return depth;
}

// The first code word of each length, canonical order; `by_length` counts the symbols of each length.
std::vector<uint64_t> first_codes(const std::vector<uint8_t>& lengths, std::vector<uint64_t>& by_length) {
  by_length.assign(kMaxLength + 1, 0);
  for (uint8_t l : lengths)
    if (l > 0) ++by_length[l];
  std::vector<uint64_t> first(kMaxLength + 2, 0);
  uint64_t code = 0;
  for (size_t l = 1; l <= kMaxLength; ++l) {
    code = (code + by_length[l - 1]) << 1;  // by_length[0] is 0: absent symbols take no code
    first[l] = code;
  }
  return first;
}

}  // namespace

std::vector<uint8_t> huffman_code_lengths(std::span<const int64_t> histogram) {
  const std::vector<int64_t> counts(histogram.begin(), histogram.end());
  std::vector<uint8_t> lengths(counts.size(), 0);
  size_t used = static_cast<size_t>(std::count_if(counts.begin(), counts.end(), [](int64_t c) { return c > 0; }));
  if (used == 0) return lengths;
  if (used == 1) {
    for (size_t s = 0; s < counts.size(); ++s)
      if (counts[s] > 0) lengths[s] = 1;
    return lengths;
  }
  std::vector<int> depth = huffman_depths(counts);
  int longest = *std::max_element(depth.begin(), depth.end());
  if (longest <= kMaxLength) {
    size_t leaf = 0;
    for (size_t s = 0; s < counts.size(); ++s)
      if (counts[s] > 0) lengths[s] = static_cast<uint8_t>(depth[leaf++]);
    return lengths;
  }
  // Over-long codes need Fibonacci-like counts (billions of labels). Limit them as JPEG does (ITU T.81
  // Annex K.3): two deepest leaves are lifted, one to their parent's place, one beside a shorter leaf pushed
  // one level down; the code stays complete. Then the shortest lengths go to the most frequent symbols.
  std::vector<int64_t> per_length(static_cast<size_t>(longest) + 1, 0);
  for (int d : depth) ++per_length[static_cast<size_t>(d)];
  for (size_t i = per_length.size() - 1; i > kMaxLength; --i) {
    while (per_length[i] > 0) {
      size_t j = i - 2;
      while (per_length[j] == 0) --j;
      per_length[i] -= 2;
      per_length[i - 1] += 1;
      per_length[j + 1] += 2;
      per_length[j] -= 1;
    }
  }
  std::vector<size_t> by_count;
  for (size_t s = 0; s < counts.size(); ++s)
    if (counts[s] > 0) by_count.push_back(s);
  std::stable_sort(by_count.begin(), by_count.end(), [&](size_t a, size_t b) { return counts[a] > counts[b]; });
  size_t next = 0;
  for (size_t l = 1; l <= kMaxLength; ++l)
    for (int64_t n = 0; n < per_length[l]; ++n) lengths[by_count[next++]] = static_cast<uint8_t>(l);
  return lengths;
}

uint64_t huffman_bits(std::span<const int64_t> histogram) {
  std::vector<uint8_t> lengths = huffman_code_lengths(histogram);
  uint64_t bits = 0;
  for (size_t s = 0; s < lengths.size(); ++s)
    if (histogram[s] > 0) bits += static_cast<uint64_t>(histogram[s]) * lengths[s];
  return bits;
}

HuffmanStream huffman_encode(std::span<const int32_t> symbols, int32_t alphabet_size) {
  if (alphabet_size < 0) throw std::invalid_argument("huffman_encode: negative alphabet size");
  std::vector<int64_t> histogram(static_cast<size_t>(alphabet_size), 0);
  for (int32_t s : symbols) {
    if (s < 0 || s >= alphabet_size)
      throw std::invalid_argument(fmt::format("huffman_encode: symbol {} outside [0, {})", s, alphabet_size));
    ++histogram[static_cast<size_t>(s)];
  }
  HuffmanStream stream;
  stream.code_lengths = huffman_code_lengths(histogram);
  std::vector<uint64_t> by_length;
  std::vector<uint64_t> next = first_codes(stream.code_lengths, by_length);
  std::vector<uint64_t> codes(stream.code_lengths.size(), 0);
  for (size_t s = 0; s < codes.size(); ++s)
    if (stream.code_lengths[s] > 0) codes[s] = next[stream.code_lengths[s]]++;
  for (int32_t s : symbols) stream.bit_count += stream.code_lengths[static_cast<size_t>(s)];
  stream.bits.assign((stream.bit_count + 7) / 8, 0);
  // MSB-first through a 64-bit accumulator holding fewer than 8 pending bits between symbols; a code
  // longer than 56 bits (only for astronomically skewed counts) goes bit by bit.
  uint64_t acc = 0, pos = 0;
  int pending = 0;
  for (int32_t s : symbols) {
    const uint64_t code = codes[static_cast<size_t>(s)];
    const int length = stream.code_lengths[static_cast<size_t>(s)];
    for (int part = length; part > 0;) {
      const int take = std::min(part, 56);
      part -= take;
      acc = (acc << take) | ((code >> part) & ((uint64_t{1} << take) - 1));
      pending += take;
      while (pending >= 8) {
        pending -= 8;
        stream.bits[pos++] = static_cast<uint8_t>(acc >> pending);
      }
      acc &= (uint64_t{1} << pending) - 1;
    }
  }
  if (pending > 0) stream.bits[pos] = static_cast<uint8_t>(acc << (8 - pending));
  return stream;
}

std::vector<int32_t> huffman_decode(const HuffmanStream& stream, int64_t count, const std::string& source) {
  auto fail = [&](uint64_t bit, const std::string& expected) {
    throw InputError(source, fmt::format("Huffman stream bit {}", bit), "expected " + expected);
  };
  const auto& lengths = stream.code_lengths;
  if (count < 0) fail(0, fmt::format("a non-negative symbol count, got {}", count));
  if (stream.bits.size() != (stream.bit_count + 7) / 8)
    fail(0, fmt::format("{} bytes for {} bits, got {}", (stream.bit_count + 7) / 8, stream.bit_count,
                        stream.bits.size()));
  // Every code word has at least one bit: bounds the output before it is allocated.
  if (static_cast<uint64_t>(count) > stream.bit_count)
    fail(stream.bit_count, fmt::format("at least {} bits for {} symbols, got {}", count, count, stream.bit_count));
  if (count == 0) {
    if (stream.bit_count != 0) fail(0, fmt::format("an empty stream for 0 symbols, got {} bits", stream.bit_count));
    return {};
  }
  // Kraft's inequality in units of 2^-32: an over-subscribed set of lengths is not a prefix code.
  uint64_t kraft = 0;
  for (size_t s = 0; s < lengths.size(); ++s) {
    if (lengths[s] > kMaxLength)
      fail(0, fmt::format("code lengths of at most {} bits, got {} for symbol {}", kMaxLength, lengths[s], s));
    if (lengths[s] > 0) kraft += uint64_t{1} << (kMaxLength - lengths[s]);
  }
  if (kraft == 0) fail(0, "at least one symbol with a non-zero code length, got none");
  if (kraft > (uint64_t{1} << kMaxLength)) fail(0, "code lengths that satisfy Kraft's inequality, got an over-subscribed set");

  std::vector<uint64_t> by_length;
  std::vector<uint64_t> first = first_codes(lengths, by_length);
  // Symbols in canonical order; offset[l] is where the symbols of length l start in it.
  std::vector<int32_t> sorted;
  std::vector<uint64_t> offset(kMaxLength + 2, 0);
  for (int l = 1; l <= kMaxLength; ++l) {
    offset[static_cast<size_t>(l)] = sorted.size();
    for (size_t s = 0; s < lengths.size(); ++s)
      if (lengths[s] == l) sorted.push_back(static_cast<int32_t>(s));
  }
  int max_length = *std::max_element(lengths.begin(), lengths.end());

  std::vector<int32_t> out(static_cast<size_t>(count));
  uint64_t pos = 0;
  for (auto& symbol : out) {
    uint64_t start = pos, code = 0;
    int l = 0;
    while (true) {
      if (pos >= stream.bit_count)
        fail(start, fmt::format("{} symbols, got the end of the stream after {} bits", count, stream.bit_count));
      code = (code << 1) | ((stream.bits[pos >> 3] >> (7 - (pos & 7))) & 1u);
      ++pos;
      ++l;
      uint64_t index = code - first[static_cast<size_t>(l)];
      if (code >= first[static_cast<size_t>(l)] && index < by_length[static_cast<size_t>(l)]) {
        symbol = sorted[offset[static_cast<size_t>(l)] + index];
        break;
      }
      if (l >= max_length) fail(start, "a valid code word, got a bit pattern the code lengths leave unused");
    }
  }
  if (pos != stream.bit_count)
    fail(pos, fmt::format("the end of the stream after {} symbols, got {} more bits", count, stream.bit_count - pos));
  for (uint64_t b = pos; b < stream.bits.size() * 8; ++b)
    if ((stream.bits[b >> 3] >> (7 - (b & 7))) & 1u) fail(b, "zero padding bits after the last code word, got a 1");
  return out;
}

}  // namespace dkm::kmeans

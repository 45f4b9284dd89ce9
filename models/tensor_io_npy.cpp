// NumPy .npy: magic, version, a Python-literal header dict, then the raw C-order data.
// https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
#include <algorithm>
#include <cctype>
#include <cstring>
#include <limits>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "models/atomic_file.hpp"
#include "models/error.hpp"
#include "models/input_file.hpp"
#include "models/tensor_io.hpp"

namespace dkm {
namespace {

constexpr std::string_view kMagic = "\x93NUMPY";
constexpr std::string_view kSupported = "one of <f2 <f4 <f8 |i1 |u1 <i2 <u2 <i4 <u4 <i8";

struct DescrEntry {
  std::string_view code;  // kind and size, without the byte-order character
  DType dtype;
};
constexpr DescrEntry kDescrs[] = {{"f2", DType::f16}, {"f4", DType::f32}, {"f8", DType::f64},
                                  {"i1", DType::i8},  {"u1", DType::u8},  {"i2", DType::i16},
                                  {"u2", DType::u16}, {"i4", DType::i32}, {"u4", DType::u32},
                                  {"i8", DType::i64}};

std::string descr_of(DType dtype) {
  for (const auto& e : kDescrs)
    if (e.dtype == dtype) {
      std::string descr(1, dtype_size(dtype) == 1 ? '|' : '<');  // numpy's byte-order mark
      descr += e.code;
      return descr;
    }
  return "?";
}

// The header is a Python dict literal such as {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }.
// A tiny parser for exactly the literals numpy writes; `base` turns positions into file byte offsets.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, size_t base, const std::string& source)
      : text_(text), base_(base), source_(source) {}

  [[noreturn]] void fail(const std::string& expected) const {
    throw InputError(source_, fmt::format("byte {}", base_ + pos_), "expected " + expected);
  }
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool consume(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect(char c, std::string_view what) {
    if (!consume(c)) fail(fmt::format("'{}' {} in the .npy header", c, what));
  }
  bool at_string() {
    skip_space();
    return pos_ < text_.size() && (text_[pos_] == '\'' || text_[pos_] == '"');
  }
  std::string string() {
    if (!at_string()) fail("a quoted string in the .npy header");
    char quote = text_[pos_++];
    size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] != quote) ++pos_;
    if (pos_ == text_.size()) fail("a closing quote in the .npy header");
    return std::string(text_.substr(start, pos_++ - start));
  }
  bool boolean() {
    skip_space();
    if (text_.substr(pos_, 4) == "True") {
      pos_ += 4;
      return true;
    }
    if (text_.substr(pos_, 5) == "False") {
      pos_ += 5;
      return false;
    }
    fail("True or False for 'fortran_order'");
  }
  int64_t integer() {
    skip_space();
    size_t start = pos_;
    int64_t v = 0;
    while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
      int digit = text_[pos_] - '0';
      if (v > (std::numeric_limits<int64_t>::max() - digit) / 10) fail("a dimension below 2^63");
      v = v * 10 + digit;
      ++pos_;
    }
    if (pos_ == start) fail("a non-negative integer dimension in 'shape'");
    if (pos_ < text_.size() && text_[pos_] == 'L') ++pos_;  // Python 2 long literal
    return v;
  }
  std::vector<int64_t> tuple() {
    expect('(', "opening the 'shape' tuple");
    std::vector<int64_t> dims;
    while (!consume(')')) {
      dims.push_back(integer());
      if (!consume(',')) {
        expect(')', "closing the 'shape' tuple");
        break;
      }
    }
    return dims;
  }
  size_t pos() const { return pos_; }
  void seek(size_t p) { pos_ = p; }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  size_t base_;
  const std::string& source_;
};

DType parse_descr(const std::string& descr, HeaderParser& p, size_t descr_pos) {
  auto fail = [&](const std::string& expected) {
    p.seek(descr_pos);
    p.fail(expected);
  };
  if (descr.size() == 3) {
    char order = descr[0];
    std::string_view code = std::string_view(descr).substr(1);
    for (const auto& e : kDescrs) {
      if (code != e.code) continue;
      if (order == '>' && dtype_size(e.dtype) > 1)
        fail(fmt::format("a little-endian dtype, got big-endian '{}' (convert with "
                         "array.astype(array.dtype.newbyteorder('<')))", descr));
      if (order == '<' || order == '|' || order == '>' || (order == '=' && dtype_size(e.dtype) == 1))
        return e.dtype;
    }
  }
  fail(fmt::format("'descr' {}, got '{}'", kSupported, descr));
  return DType::f32;
}

}  // namespace

NpyHeader parse_npy_header(std::string_view bytes, uint64_t file_size, const std::string& source) {
  if (bytes.size() < 10 || bytes.substr(0, 6) != kMagic)
    throw InputError(source, "byte 0", "expected the .npy magic \\x93NUMPY (not a NumPy .npy file)");
  int major = static_cast<unsigned char>(bytes[6]);
  int minor = static_cast<unsigned char>(bytes[7]);
  if (major < 1 || major > 3 || minor != 0)
    throw InputError(source, "byte 6", fmt::format("expected npy format version 1.0, 2.0 or 3.0, got {}.{}", major, minor));
  size_t length_bytes = major == 1 ? 2 : 4;
  if (bytes.size() < 8 + length_bytes) throw InputError(source, "byte 8", "expected a complete header length field");
  uint64_t header_len = 0;
  for (size_t i = 0; i < length_bytes; ++i)
    header_len |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
  size_t header_start = 8 + length_bytes;
  if (header_len > file_size - header_start)
    throw InputError(source, "byte 8", fmt::format("expected a header length within the file ({} bytes after the length "
                                                   "field), got {}", file_size - header_start, header_len));
  if (header_len > bytes.size() - header_start)
    throw InputError(source, "byte 8", fmt::format("expected a header within the first {} bytes, got {} header bytes",
                                                   bytes.size(), header_len));
  HeaderParser p(bytes.substr(header_start, header_len), header_start, source);

  std::optional<DType> dtype;
  std::optional<bool> fortran_order;
  std::optional<std::vector<int64_t>> shape;
  p.expect('{', "opening the header dict");
  while (!p.consume('}')) {
    size_t key_pos = p.pos();
    std::string key = p.string();
    p.expect(':', "after a header key");
    if (key == "descr") {
      p.skip_space();
      size_t descr_pos = p.pos();
      if (!p.at_string()) p.fail("'descr' as a dtype string such as '<f4' (structured arrays are not supported)");
      dtype = parse_descr(p.string(), p, descr_pos);
    } else if (key == "fortran_order") {
      fortran_order = p.boolean();
    } else if (key == "shape") {
      shape = p.tuple();
    } else {
      p.seek(key_pos);
      p.fail(fmt::format("only the keys 'descr', 'fortran_order' and 'shape', got '{}'", key));
    }
    if (!p.consume(',')) {
      p.expect('}', "closing the header dict");
      break;
    }
  }
  if (!dtype || !fortran_order || !shape) {
    p.seek(0);
    p.fail("a header with 'descr', 'fortran_order' and 'shape'");
  }
  if (*fortran_order)
    throw InputError(source, fmt::format("byte {}", header_start),
                     "expected C-order data (fortran_order: False); save with numpy.ascontiguousarray()");

  // The data must be exactly the promised size: checked with the file size before any allocation.
  size_t data_offset = header_start + header_len;
  uint64_t available = file_size - data_offset;
  uint64_t elements = 1;
  bool zero = std::find(shape->begin(), shape->end(), 0) != shape->end();
  for (int64_t d : *shape) {
    if (d == 0) continue;
    // With a zero dimension the others only need to keep numel() from overflowing.
    uint64_t limit = zero ? (uint64_t{1} << 62) : available;
    if (elements > limit / static_cast<uint64_t>(d)) {
      throw InputError(source, fmt::format("byte {}", data_offset),
                       fmt::format("shape ({}) of {} needs more than the {} data bytes in the file",
                                   join_dims(*shape, ", "), to_string(*dtype), available));
    }
    elements *= static_cast<uint64_t>(d);
  }
  uint64_t expected = zero ? 0 : elements * static_cast<uint64_t>(dtype_size(*dtype));
  if (expected != available)
    throw InputError(source, fmt::format("byte {}", data_offset),
                     fmt::format("expected {} data bytes for shape ({}) of {}, got {}", expected, join_dims(*shape, ", "),
                                 to_string(*dtype), available));
  return NpyHeader{*dtype, std::move(*shape), data_offset};
}

Array parse_npy(std::string_view bytes, const std::string& source) {
  NpyHeader h = parse_npy_header(bytes, bytes.size(), source);
  Array a;
  a.dtype = h.dtype;
  a.shape = std::move(h.shape);
  a.bytes.assign(bytes.substr(h.data_offset));
  return a;
}

std::string encode_npy(const Array& array) {
  std::string shape;
  if (array.shape.size() == 1) shape = fmt::format("({},)", array.shape[0]);
  else shape = fmt::format("({})", join_dims(array.shape, ", "));
  std::string dict = "{'descr': '" + descr_of(array.dtype) + "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Version 1.0 keeps a 2-byte header length; numpy pads the whole preamble to a multiple of 64 bytes.
  bool v1 = dict.size() + 1 + 10 + 63 <= 65535;
  size_t preamble = v1 ? 10 : 12;
  size_t total = preamble + dict.size() + 1;
  size_t padded = (total + 63) / 64 * 64;
  dict.append(padded - total, ' ');
  dict.push_back('\n');
  std::string out(kMagic);
  out.push_back(static_cast<char>(v1 ? 1 : 2));
  out.push_back(0);
  uint64_t len = dict.size();
  for (size_t i = 0; i < preamble - 8; ++i) out.push_back(static_cast<char>((len >> (8 * i)) & 0xFF));
  out += dict;
  out += array.bytes;
  return out;
}

Array read_npy(const std::string& path) { return parse_npy(read_file(path, kMaxBinaryInputBytes), path); }

void write_npy(const std::string& path, const Array& array) { write_file_atomic(path, encode_npy(array)); }

}  // namespace dkm

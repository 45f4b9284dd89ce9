// safetensors: an 8-byte little-endian header length, a JSON header mapping each tensor name to its
// dtype, shape and [begin, end) byte range in the data buffer that follows, and an optional
// "__metadata__" map of strings. https://github.com/huggingface/safetensors (format section)
#include <algorithm>
#include <limits>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "models/atomic_file.hpp"
#include "models/error.hpp"
#include "models/input_file.hpp"
#include "models/json_reader.hpp"
#include "models/tensor_io.hpp"

namespace dkm {
namespace {

using nlohmann::json;

struct StEntry {
  std::string_view code;
  DType dtype;
};
constexpr StEntry kDTypes[] = {{"F16", DType::f16}, {"F32", DType::f32}, {"F64", DType::f64},
                               {"I8", DType::i8},   {"U8", DType::u8},   {"I16", DType::i16},
                               {"U16", DType::u16}, {"I32", DType::i32}, {"U32", DType::u32},
                               {"I64", DType::i64}};

std::string_view code_of(DType dtype) {
  for (const auto& e : kDTypes)
    if (e.dtype == dtype) return e.code;
  return "?";
}

struct Range {
  uint64_t begin, end;
  std::string name;
};

}  // namespace

uint64_t safetensors_header_length(std::string_view first8, uint64_t file_size, const std::string& source) {
  if (first8.size() < 8 || file_size < 8)
    throw InputError(source, "byte 0", "expected an 8-byte safetensors header length (file too short)");
  uint64_t header_len = 0;
  for (int i = 0; i < 8; ++i) header_len |= static_cast<uint64_t>(static_cast<unsigned char>(first8[i])) << (8 * i);
  if (header_len > file_size - 8)
    throw InputError(source, "byte 0", fmt::format("expected a header length within the file ({} bytes after the length "
                                                   "field), got {}", file_size - 8, header_len));
  return header_len;
}

SafetensorsIndex parse_safetensors_header(std::string_view head, uint64_t file_size, const std::string& source) {
  const uint64_t header_len = safetensors_header_length(head, file_size, source);
  if (head.size() < 8 + header_len)
    throw std::invalid_argument("parse_safetensors_header: the header's bytes must be given whole");
  // dkm's one JSON reader: a tensor name or metadata key given twice is refused, not "last one wins".
  const Json header = parse_json(head.substr(8, header_len), source, "a JSON header", "header");
  if (!header.is_object()) JsonReader(source).wrong(header, "header", "a JSON object as the safetensors header");

  const uint64_t data_offset = 8 + header_len;
  const uint64_t buffer = file_size - data_offset;
  SafetensorsIndex file;
  file.data_offset = data_offset;
  std::vector<Range> ranges;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) throw InputError(source, "__metadata__", "expected an object of strings");
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string())
          throw InputError(source, fmt::format("__metadata__.{}", key), "expected a string value");
        file.metadata.emplace(key, value.get<std::string>());
      }
      continue;
    }
    std::string where = fmt::format("tensor '{}'", name);
    auto fail = [&](const std::string& expected) { throw InputError(source, where, expected); };
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") || !entry.contains("data_offsets"))
      fail("expected an object with 'dtype', 'shape' and 'data_offsets'");
    const Json& dt = entry["dtype"];
    const StEntry* found = nullptr;
    if (dt.is_string())
      for (const auto& e : kDTypes)
        if (dt.get<std::string>() == e.code) found = &e;
    if (!found) fail(fmt::format("expected dtype one of F16 F32 F64 I8 U8 I16 U16 I32 U32 I64, got {}", dt.dump()));
    const Json& shape_json = entry["shape"];
    if (!shape_json.is_array()) fail("expected 'shape' as an array of non-negative integers");
    std::vector<int64_t> shape;
    for (const Json& d : shape_json) {
      if (!d.is_number_unsigned() || d.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        fail(fmt::format("expected 'shape' as an array of non-negative integers, got {}", shape_json.dump()));
      shape.push_back(d.get<int64_t>());
    }
    const Json& offsets = entry["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned())
      fail(fmt::format("expected 'data_offsets' as [begin, end] byte offsets, got {}", offsets.dump()));
    uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
    if (begin > end || end > buffer)
      fail(fmt::format("expected 'data_offsets' [{}, {}] within the {}-byte data buffer", begin, end, buffer));
    // The element count must match the byte range; the range is inside the file, so nothing huge is allocated.
    uint64_t need = static_cast<uint64_t>(dtype_size(found->dtype));
    bool zero = std::find(shape.begin(), shape.end(), 0) != shape.end();
    for (int64_t d : shape) {
      if (d == 0) continue;
      if (need > buffer / static_cast<uint64_t>(d))
        fail(fmt::format("shape [{}] of {} needs more than the {}-byte data buffer", join_dims(shape, ", "),
                         found->code, buffer));
      need *= static_cast<uint64_t>(d);
    }
    if (zero) need = 0;
    if (need != end - begin)
      fail(fmt::format("expected {} bytes for shape [{}] of {}, got data_offsets [{}, {}] ({} bytes)", need,
                       join_dims(shape, ", "), found->code, begin, end, end - begin));
    ranges.push_back({begin, end, name});
    file.tensors.emplace(name, SafetensorsEntry{found->dtype, std::move(shape), data_offset + begin, data_offset + end});
  }
  // The tensors must tile the buffer exactly: no overlap, no hole, nothing after the last one.
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t covered = 0;
  for (const Range& r : ranges) {
    if (r.begin != covered)
      throw InputError(source, fmt::format("tensor '{}'", r.name),
                       fmt::format("expected data_offsets starting at byte {} of the buffer (tensors must be contiguous and "
                                   "not overlap), got {}", covered, r.begin));
    covered = r.end;
  }
  if (covered != buffer)
    throw InputError(source, fmt::format("byte {}", data_offset + covered),
                     fmt::format("expected the end of the file after the last tensor, got {} more bytes", buffer - covered));
  return file;
}

Safetensors parse_safetensors(std::string_view bytes, const std::string& source) {
  SafetensorsIndex index = parse_safetensors_header(bytes, bytes.size(), source);
  Safetensors file;
  file.metadata = std::move(index.metadata);
  for (auto& [name, e] : index.tensors) {
    Array& a = file.tensors[name];
    a.dtype = e.dtype;
    a.shape = std::move(e.shape);
    a.bytes.assign(bytes.substr(e.begin, e.end - e.begin));
  }
  return file;
}

std::string safetensors_header(const std::vector<SafetensorsSpan>& tensors,
                               const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  for (const SafetensorsSpan& t : tensors) {
    if (t.name == "__metadata__") throw std::invalid_argument("a tensor cannot be called __metadata__");
    if (header.contains(t.name)) throw std::invalid_argument(fmt::format("tensor '{}' given twice", t.name));
    header[t.name] = {{"dtype", code_of(t.dtype)}, {"shape", t.shape}, {"data_offsets", {t.begin, t.end}}};
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string text = header.dump();
  // Pad with spaces so the data buffer starts 8-byte aligned, as the reference writer does.
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string out;
  out.reserve(8 + text.size());
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((text.size() >> (8 * i)) & 0xFF));
  return out + text;
}

std::string encode_safetensors(const Safetensors& file) {
  std::vector<SafetensorsSpan> spans;
  uint64_t offset = 0;
  for (const auto& [name, array] : file.tensors) {
    uint64_t size = array.bytes.size();
    if (array.numel() * dtype_size(array.dtype) != static_cast<int64_t>(size))
      throw std::invalid_argument(fmt::format("tensor '{}': {} bytes do not match its shape", name, size));
    spans.push_back({name, array.dtype, array.shape, offset, offset + size});
    offset += size;
  }
  std::string out = safetensors_header(spans, file.metadata);
  out.reserve(out.size() + offset);
  for (const auto& [name, array] : file.tensors) out += array.bytes;
  return out;
}

Safetensors read_safetensors(const std::string& path) { return parse_safetensors(read_file(path, kMaxBinaryInputBytes), path); }

void write_safetensors(const std::string& path, const Safetensors& file) {
  write_file_atomic(path, encode_safetensors(file));
}

}  // namespace dkm

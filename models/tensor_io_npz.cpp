// NumPy .npz: a zip archive of .npy members. Reading walks the central directory (so data descriptors
// and zip64 records, which numpy.savez writes, are handled) and inflates deflated members with zlib.
// Writing stores the members uncompressed, as numpy.savez does.
#include <zlib.h>

#include <cstring>
#include <limits>
#include <set>

#include <fmt/format.h>

#include "models/atomic_file.hpp"
#include "models/error.hpp"
#include "models/input_file.hpp"
#include "models/tensor_io.hpp"

namespace dkm {
namespace {

constexpr uint32_t kLocalHeader = 0x04034b50;
constexpr uint32_t kCentralHeader = 0x02014b50;
constexpr uint32_t kEndOfCentralDir = 0x06054b50;
constexpr uint32_t kZip64EndOfCentralDir = 0x06064b50;
constexpr uint32_t kZip64Locator = 0x07064b50;
constexpr uint64_t kMaxDeflateRatio = 1032;  // deflate cannot expand data by more than this factor

// Bounds-checked little-endian reads over the archive; failures name the byte offset.
class Reader {
 public:
  Reader(std::string_view bytes, const std::string& source) : bytes_(bytes), source_(source) {}

  [[noreturn]] void fail(uint64_t offset, const std::string& expected) const {
    throw InputError(source_, fmt::format("byte {}", offset), "expected " + expected);
  }
  // A failure inside one member names it before the byte, as an error in its .npy header does.
  [[noreturn]] void fail(std::string_view member, uint64_t offset, const std::string& expected) const {
    throw InputError(source_, fmt::format("member '{}', byte {}", member, offset), "expected " + expected);
  }
  void need(uint64_t offset, uint64_t size, std::string_view what) const {
    if (offset > bytes_.size() || size > bytes_.size() - offset)
      fail(offset, fmt::format("{} ({} bytes) inside the {}-byte file", what, size, bytes_.size()));
  }
  uint64_t le(uint64_t offset, int width) const {
    need(offset, static_cast<uint64_t>(width), "a zip record field");
    uint64_t v = 0;
    for (int i = 0; i < width; ++i)
      v |= static_cast<uint64_t>(static_cast<unsigned char>(bytes_[offset + static_cast<uint64_t>(i)])) << (8 * i);
    return v;
  }
  std::string_view slice(uint64_t offset, uint64_t size, std::string_view what) const {
    need(offset, size, what);
    return bytes_.substr(offset, size);
  }
  uint64_t size() const { return bytes_.size(); }

 private:
  std::string_view bytes_;
  const std::string& source_;
};

struct Member {
  std::string name;
  uint16_t flags = 0, method = 0;
  uint32_t crc = 0;
  uint64_t compressed = 0, uncompressed = 0, local_offset = 0;
  uint64_t central_offset = 0;  // for error messages
};

struct Directory {
  uint64_t entries = 0, size = 0, offset = 0;
};

Directory find_directory(const Reader& r) {
  // The end-of-central-directory record is 22 bytes plus a comment of at most 65535 bytes.
  if (r.size() < 22) r.fail(0, "a zip archive (.npz), got a file shorter than a zip end record");
  uint64_t lowest = r.size() >= 22 + 65535 ? r.size() - 22 - 65535 : 0;
  for (uint64_t pos = r.size() - 22 + 1; pos-- > lowest;) {
    if (r.le(pos, 4) != kEndOfCentralDir) continue;
    if (pos + 22 + r.le(pos + 20, 2) != r.size()) continue;  // a signature inside data, not the record
    Directory d{r.le(pos + 10, 2), r.le(pos + 12, 4), r.le(pos + 16, 4)};
    if (r.le(pos + 4, 2) != 0 || r.le(pos + 6, 2) != 0) r.fail(pos + 4, "a single-disk zip archive");
    bool zip64 = d.entries == 0xFFFF || d.size == 0xFFFFFFFF || d.offset == 0xFFFFFFFF;
    if (pos >= 20 && r.le(pos - 20, 4) == kZip64Locator) {
      uint64_t record = r.le(pos - 20 + 8, 8);
      if (r.le(record, 4) != kZip64EndOfCentralDir) r.fail(record, "the zip64 end-of-central-directory record");
      d = Directory{r.le(record + 32, 8), r.le(record + 40, 8), r.le(record + 48, 8)};
    } else if (zip64) {
      r.fail(pos, "a zip64 locator before a zip64 end record");
    }
    if (d.offset > r.size() || d.size > r.size() - d.offset)
      r.fail(pos, fmt::format("a central directory inside the file, got {} bytes at byte {}", d.size, d.offset));
    // Each central record takes at least 46 bytes: bounds the entry count before anything is allocated.
    if (d.entries > d.size / 46)
      r.fail(pos, fmt::format("{} entries to fit a {}-byte central directory", d.entries, d.size));
    return d;
  }
  r.fail(r.size(), "a zip end-of-central-directory record (not a .npz / zip archive)");
}

std::vector<Member> read_directory(const Reader& r, const Directory& dir) {
  std::vector<Member> members;
  members.reserve(dir.entries);
  uint64_t pos = dir.offset;
  for (uint64_t i = 0; i < dir.entries; ++i) {
    if (r.le(pos, 4) != kCentralHeader) r.fail(pos, "a zip central directory record");
    Member m;
    m.central_offset = pos;
    m.flags = static_cast<uint16_t>(r.le(pos + 8, 2));
    m.method = static_cast<uint16_t>(r.le(pos + 10, 2));
    m.crc = static_cast<uint32_t>(r.le(pos + 16, 4));
    m.compressed = r.le(pos + 20, 4);
    m.uncompressed = r.le(pos + 24, 4);
    uint64_t name_len = r.le(pos + 28, 2), extra_len = r.le(pos + 30, 2), comment_len = r.le(pos + 32, 2);
    m.local_offset = r.le(pos + 42, 4);
    m.name = std::string(r.slice(pos + 46, name_len, "a member name"));
    // The zip64 extra field holds, in this order, only the fields saturated in the fixed record.
    uint64_t extra = pos + 46 + name_len, extra_end = extra + extra_len;
    r.need(extra, extra_len, "the member's extra fields");
    while (extra + 4 <= extra_end) {
      uint64_t id = r.le(extra, 2), len = r.le(extra + 2, 2);
      if (extra + 4 + len > extra_end) r.fail(extra, "an extra field inside the central record");
      if (id == 0x0001) {
        uint64_t field = extra + 4, field_end = field + len;
        for (uint64_t* value : {&m.uncompressed, &m.compressed, &m.local_offset}) {
          if (*value != 0xFFFFFFFF) continue;
          if (field + 8 > field_end) r.fail(field, "a zip64 extra field with the saturated sizes");
          *value = r.le(field, 8);
          field += 8;
        }
      }
      extra += 4 + len;
    }
    members.push_back(std::move(m));
    pos += 46 + name_len + extra_len + comment_len;
  }
  return members;
}

// Inflates into `out` until it is full or the stream ends; returns zlib's last code. zlib's counters are
// 32-bit: fed and drained in chunks.
int inflate_into(z_stream& z, std::string_view data, uint64_t& in_done, char* out, uint64_t out_size) {
  uint64_t out_done = 0;
  int rc = Z_OK;
  while (rc == Z_OK && out_done < out_size) {
    uInt in_chunk = static_cast<uInt>(std::min<uint64_t>(data.size() - in_done, 1u << 30));
    uInt out_chunk = static_cast<uInt>(std::min<uint64_t>(out_size - out_done, 1u << 30));
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data() + in_done));
    z.avail_in = in_chunk;
    z.next_out = reinterpret_cast<Bytef*>(out + out_done);
    z.avail_out = out_chunk;
    rc = inflate(&z, Z_NO_FLUSH);
    in_done += in_chunk - z.avail_in;
    out_done += out_chunk - z.avail_out;
    if (rc == Z_OK && in_chunk == z.avail_in && out_chunk == z.avail_out) rc = Z_BUF_ERROR;  // no progress
  }
  return out_done == out_size ? rc : (rc == Z_OK ? Z_BUF_ERROR : rc);
}

uint32_t crc_of(uint32_t crc, std::string_view bytes) {
  for (uint64_t done = 0; done < bytes.size();) {
    uInt chunk = static_cast<uInt>(std::min<uint64_t>(bytes.size() - done, 1u << 30));
    crc = static_cast<uint32_t>(crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + done), chunk));
    done += chunk;
  }
  return crc;
}

// A .npy error inside a member, placed in the archive: "member 'w.npy', byte 10".
template <class F>
auto in_member(const Member& m, const std::string& source, F&& parse) {
  try {
    return parse();
  } catch (const InputError& e) {
    throw InputError(source, fmt::format("member '{}', {}", m.name, e.where()), e.expected());
  }
}

struct Inflater {
  z_stream z{};
  Inflater() {
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) throw std::runtime_error("zlib inflateInit2 failed");
  }
  ~Inflater() { inflateEnd(&z); }
};

// A deflated member, streamed: first its .npy header (the first 1 MiB at most), whose shape must account
// for exactly the member's declared size; only then is the data's memory taken, and the rest inflated
// straight into it. Never more than the declared size is inflated.
Array inflate_member(const Reader& r, const Member& m, std::string_view data, uint64_t data_offset,
                     const std::string& source) {
  if (m.uncompressed > m.compressed * kMaxDeflateRatio + 64)
    r.fail(m.name, m.central_offset, fmt::format("an uncompressed size deflate can reach from {} bytes, got {}",
                                                 m.compressed, m.uncompressed));
  Inflater inf;
  uint64_t in_done = 0;
  auto corrupt = [&](int rc, const char* what) {
    r.fail(m.name, data_offset + in_done, fmt::format("a valid deflate stream of {} bytes ({})",
                                                      m.uncompressed, rc == Z_STREAM_END ? what : "corrupt"));
  };
  std::string head(static_cast<size_t>(std::min<uint64_t>(m.uncompressed, uint64_t{1} << 20)), '\0');
  int rc = inflate_into(inf.z, data, in_done, head.data(), head.size());
  if (head.size() < m.uncompressed ? rc != Z_OK : rc != Z_STREAM_END && rc != Z_OK) corrupt(rc, "it ends early");
  // A member that fits in the head is whole: a CRC mismatch then says more than what the header looks like.
  if (head.size() == m.uncompressed && rc == Z_STREAM_END && crc_of(0, head) != m.crc)
    r.fail(m.name, data_offset, fmt::format("CRC-32 {:08x}, got {:08x} (corrupt data)", m.crc, crc_of(0, head)));
  NpyHeader h = in_member(m, source, [&] { return parse_npy_header(head, m.uncompressed, source); });
  Array a;
  a.dtype = h.dtype;
  a.shape = std::move(h.shape);
  a.bytes.resize(static_cast<size_t>(m.uncompressed - h.data_offset));
  std::memcpy(a.bytes.data(), head.data() + h.data_offset, head.size() - h.data_offset);
  const uint64_t have = head.size() - h.data_offset;
  if (have < a.bytes.size()) rc = inflate_into(inf.z, data, in_done, a.bytes.data() + have, a.bytes.size() - have);
  if (rc == Z_OK) {  // the output is full: the stream must end here, with no byte more
    char extra = 0;
    const uLong before = inf.z.total_out;
    rc = inflate_into(inf.z, data, in_done, &extra, 1);
    if (inf.z.total_out != before) corrupt(Z_STREAM_END, "it inflates to more");
  }
  if (rc != Z_STREAM_END) corrupt(rc, "it ends early");
  const uint32_t crc = crc_of(crc_of(0, std::string_view(head).substr(0, h.data_offset)), a.bytes);
  if (crc != m.crc)
    r.fail(m.name, data_offset, fmt::format("CRC-32 {:08x}, got {:08x} (corrupt data)", m.crc, crc));
  return a;
}

Array extract(const Reader& r, const Member& m, const std::string& source) {
  if (m.flags & 0x1) r.fail(m.name, m.central_offset, "an unencrypted member");
  if (m.method != 0 && m.method != 8)
    r.fail(m.name, m.central_offset, fmt::format("compression method 0 (stored) or 8 (deflate), got {}", m.method));
  if (r.le(m.local_offset, 4) != kLocalHeader) r.fail(m.name, m.local_offset, "a local file header");
  uint64_t data_offset = m.local_offset + 30 + r.le(m.local_offset + 26, 2) + r.le(m.local_offset + 28, 2);
  std::string_view data = r.slice(data_offset, m.compressed, fmt::format("member '{}' data", m.name));
  if (m.method == 8) return inflate_member(r, m, data, data_offset, source);
  if (m.compressed != m.uncompressed)
    r.fail(m.name, m.central_offset, fmt::format("equal sizes for a stored member, got {} and {}", m.compressed,
                                                 m.uncompressed));
  const uint32_t crc = crc_of(0, data);
  if (crc != m.crc)
    r.fail(m.name, data_offset, fmt::format("CRC-32 {:08x}, got {:08x} (corrupt data)", m.crc, crc));
  return in_member(m, source, [&] { return parse_npy(data, source); });
}

void put(std::string& out, uint64_t value, int width) {
  for (int i = 0; i < width; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

}  // namespace

ArrayMap read_npz(const std::string& path) {
  std::string bytes = read_file(path, kMaxBinaryInputBytes);
  Reader r(bytes, path);
  std::vector<Member> members = read_directory(r, find_directory(r));
  ArrayMap arrays;
  // What the members inflate to is held in memory: the declared sizes are bounded before any inflation.
  uint64_t inflated = 0;
  for (const Member& m : members) {
    if (m.uncompressed > kMaxBinaryInputBytes - inflated)
      r.fail(m.central_offset, fmt::format("members that inflate to at most {} in all, got {} bytes more in '{}'",
                                           describe_limit(kMaxBinaryInputBytes), m.uncompressed, m.name));
    inflated += m.uncompressed;
  }
  for (const Member& m : members) {
    if (m.name.size() < 5 || !m.name.ends_with(".npy"))
      r.fail(m.central_offset, fmt::format("only .npy members, got '{}'", m.name));
    std::string name = m.name.substr(0, m.name.size() - 4);
    if (arrays.contains(name)) r.fail(m.central_offset, fmt::format("one member named '{}', got two", m.name));
    arrays.emplace(name, extract(r, m, path));
  }
  return arrays;
}

std::string encode_npz(const ArrayMap& arrays, const std::string& path) {
  std::string out, directory;
  for (const auto& [name, array] : arrays) {
    std::string member_name = name + ".npy";
    std::string data = encode_npy(array);
    if (out.size() > 0xFFFFFFFEu || data.size() > 0xFFFFFFFEu || member_name.size() > 0xFFFF)
      throw InputError(path, fmt::format("tensor '{}'", name), "expected an archive under 4 GiB (write .safetensors instead)");
    uint32_t crc = 0;
    for (size_t done = 0; done < data.size();) {
      uInt chunk = static_cast<uInt>(std::min<size_t>(data.size() - done, 1u << 30));
      crc = static_cast<uint32_t>(crc32(crc, reinterpret_cast<const Bytef*>(data.data() + done), chunk));
      done += chunk;
    }
    uint64_t offset = out.size();
    // A fixed DOS timestamp (1980-01-01 00:00) keeps the output byte-identical across runs.
    auto common = [&](std::string& s) {
      put(s, 20, 2);           // version needed to extract: 2.0
      put(s, 0, 2);            // flags
      put(s, 0, 2);            // method: stored
      put(s, 0, 2);            // time
      put(s, 0x21, 2);         // date
      put(s, crc, 4);
      put(s, data.size(), 4);  // compressed size
      put(s, data.size(), 4);  // uncompressed size
      put(s, member_name.size(), 2);
      put(s, 0, 2);            // extra length
    };
    put(out, kLocalHeader, 4);
    common(out);
    out += member_name;
    out += data;
    put(directory, kCentralHeader, 4);
    put(directory, 20, 2);  // version made by
    common(directory);
    put(directory, 0, 2);  // comment length
    put(directory, 0, 2);  // disk number
    put(directory, 0, 2);  // internal attributes
    put(directory, 0, 4);  // external attributes
    put(directory, offset, 4);
    directory += member_name;
  }
  if (out.size() + directory.size() > 0xFFFFFFFEu || arrays.size() > 0xFFFF)
    throw InputError(path, "", "expected an archive under 4 GiB and 65535 tensors (write .safetensors instead)");
  uint64_t directory_offset = out.size();
  out += directory;
  put(out, kEndOfCentralDir, 4);
  put(out, 0, 2);
  put(out, 0, 2);
  put(out, arrays.size(), 2);
  put(out, arrays.size(), 2);
  put(out, directory.size(), 4);
  put(out, directory_offset, 4);
  put(out, 0, 2);  // comment length
  return out;
}

void write_npz(const std::string& path, const ArrayMap& arrays) { write_file_atomic(path, encode_npz(arrays, path)); }

}  // namespace dkm

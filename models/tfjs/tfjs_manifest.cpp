// The TF.js weights manifest (docs/tfjs.md): groups of shard files, each group's weights stored back to
// back in its shards concatenated, float32 / int32 or quantised to uint8, uint16 (affine: stored * scale +
// min) or float16.
#include <fmt/core.h>

#include <cmath>
#include <cstring>

#include "models/error.hpp"
#include "models/tfjs/tfjs_internal.hpp"

namespace dkm::models::tfjs {

namespace {

// A weight larger than this many elements is not a layer weight of any model that fits kMaxWeightBytes.
constexpr int64_t kMaxElements = int64_t{1} << 31;

uint64_t stored_bytes_per_element(const std::string& stored) {
  if (stored == "uint8") return 1;
  if (stored == "uint16" || stored == "float16") return 2;
  return 4;  // float32, int32
}

// IEEE 754 half to single: exact, subnormals and infinities included.
float half_to_float(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exponent = (h >> 10) & 0x1f;
  uint32_t mantissa = h & 0x3ff;
  uint32_t bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000 | (mantissa << 13);
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {  // subnormal half: a normal float after shifting the leading one into place
    int shift = 0;
    while (!(mantissa & 0x400)) {
      mantissa <<= 1;
      ++shift;
    }
    bits = sign | (uint32_t(113 - shift) << 23) | ((mantissa & 0x3ff) << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

class ManifestReader {
 public:
  ManifestReader(const std::string& source) : source_(source) {}

  [[noreturn]] void fail(const std::string& where, const std::string& expected) const {
    throw InputError(source_, where, expected);
  }

  const Json& key(const Json& obj, const std::string& where, const char* name) const {
    if (!obj.contains(name)) fail(where, fmt::format("expected the key \"{}\"", name));
    return obj[name];
  }

  std::string string(const Json& v, const std::string& where, const char* expected) const {
    if (!v.is_string()) fail(where, fmt::format("expected {}, got {} ({})", expected, json_type_name(v), json_shown(v)));
    return v.get<std::string>();
  }

  double finite(const Json& v, const std::string& where, const char* expected) const {
    if (!v.is_number() || !std::isfinite(v.get<double>()))
      fail(where, fmt::format("expected {}, got {} ({})", expected, json_type_name(v), json_shown(v)));
    return v.get<double>();
  }

  ManifestWeight weight(const Json& j, const std::string& where, size_t group) const {
    if (!j.is_object()) fail(where, fmt::format("expected a weight entry (an object), got {}", json_type_name(j)));
    ManifestWeight w;
    w.where = where;
    w.group = group;
    w.name = string(key(j, where, "name"), where + ".name", "a weight name (a string)");
    const Json& shape = key(j, where, "shape");
    if (!shape.is_array() || shape.size() > 8)
      fail(where + ".shape", fmt::format("expected the weight's shape (an array of at most 8 sizes), got {}", json_shown(shape)));
    int64_t numel = 1;
    for (size_t i = 0; i < shape.size(); ++i) {
      const Json& d = shape[i];
      std::string at = fmt::format("{}.shape[{}]", where, i);
      if (!d.is_number_integer() || (d.is_number_unsigned() ? d.get<uint64_t>() > uint64_t(kMaxElements)
                                                              : d.get<int64_t>() < 0 || d.get<int64_t>() > kMaxElements))
        fail(at, fmt::format("expected a size from 0 to {}, got {}", kMaxElements, json_shown(d)));
      int64_t v = d.get<int64_t>();
      w.shape.push_back(v);
      if (v != 0 && numel > kMaxElements / v)
        fail(where + ".shape", fmt::format("expected a weight of at most {} elements ('{}')", kMaxElements, w.name));
      numel *= v;
    }
    w.dtype = string(key(j, where, "dtype"), where + ".dtype", "a dtype (a string)");
    if (w.dtype != "float32" && w.dtype != "int32")
      fail(where + ".dtype", fmt::format("expected the dtype \"float32\" or \"int32\" for '{}', got \"{}\"", w.name, w.dtype));
    w.stored = w.dtype;
    for (const auto& [k, v] : j.items())
      if (k != "name" && k != "shape" && k != "dtype" && k != "quantization" && k != "group")
        fail(where + "." + k, "unknown key for a weight entry; expected name, shape, dtype, quantization, group");
    if (j.contains("quantization")) quantization(j["quantization"], where + ".quantization", w);
    w.bytes = uint64_t(numel) * stored_bytes_per_element(w.stored);
    return w;
  }

  void quantization(const Json& q, const std::string& where, ManifestWeight& w) const {
    if (!q.is_object()) fail(where, fmt::format("expected a quantization object, got {}", json_type_name(q)));
    w.stored = string(key(q, where, "dtype"), where + ".dtype", "a quantised dtype (a string)");
    for (const auto& [k, v] : q.items())
      if (k != "dtype" && k != "scale" && k != "min" && k != "original_dtype")
        fail(where + "." + k, "unknown key for a quantization; expected dtype, scale, min, original_dtype");
    if (w.stored == "uint8" || w.stored == "uint16") {
      w.scale = finite(key(q, where, "scale"), where + ".scale", "the quantisation scale (a finite number)");
      w.min = finite(key(q, where, "min"), where + ".min", "the quantisation minimum (a finite number)");
    } else if (w.stored != "float16") {
      fail(where + ".dtype",
           fmt::format("expected a quantised dtype \"uint8\", \"uint16\" or \"float16\" for '{}', got \"{}\"", w.name,
                       w.stored));
    }
    if (w.dtype != "float32")
      fail(where, fmt::format("expected quantisation only of float32 weights, '{}' is {}", w.name, w.dtype));
  }

 private:
  const std::string& source_;
};

}  // namespace

int64_t ManifestWeight::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;  // bounded by kMaxElements when parsed
  return n;
}

Manifest parse_manifest(const Json& manifest, const std::string& source, const std::string& at) {
  ManifestReader r(source);
  if (!manifest.is_array())
    r.fail(at, fmt::format("expected the weights manifest (an array of groups), got {}", json_type_name(manifest)));
  Manifest m;
  uint64_t total = 0;
  for (size_t g = 0; g < manifest.size(); ++g) {
    std::string where = fmt::format("{}[{}]", at, g);
    const Json& group = manifest[g];
    if (!group.is_object()) r.fail(where, fmt::format("expected a weight group (an object), got {}", json_type_name(group)));
    ManifestGroup mg;
    mg.where = where;
    const Json& paths = r.key(group, where, "paths");
    if (!paths.is_array() || paths.empty())
      r.fail(where + ".paths", fmt::format("expected a non-empty array of shard file names, got {}", json_shown(paths)));
    for (size_t i = 0; i < paths.size(); ++i)
      mg.paths.push_back(r.string(paths[i], fmt::format("{}.paths[{}]", where, i), "a shard file name (a string)"));
    const Json& weights = r.key(group, where, "weights");
    if (!weights.is_array())
      r.fail(where + ".weights", fmt::format("expected an array of weight entries, got {}", json_type_name(weights)));
    for (size_t i = 0; i < weights.size(); ++i) {
      ManifestWeight w = r.weight(weights[i], fmt::format("{}.weights[{}]", where, i), g);
      w.offset = mg.bytes;
      mg.bytes += w.bytes;  // each at most 2^33, so no overflow before the check below
      total += w.bytes;
      if (total > kMaxWeightBytes)
        r.fail(w.where, fmt::format("expected weights of at most {} bytes in all, '{}' takes the total to {}",
                                    kMaxWeightBytes, w.name, total));
      m.weights.push_back(std::move(w));
    }
    m.groups.push_back(std::move(mg));
  }
  return m;
}

Tensor decode_weight(const ManifestWeight& w, std::string_view group_bytes, const std::string& source) {
  if (w.offset + w.bytes > group_bytes.size())
    throw InputError(source, w.where,
                     fmt::format("expected {} bytes for '{}' at offset {} of its group's shards, which hold {}", w.bytes,
                                 w.name, w.offset, group_bytes.size()));
  Tensor t;
  t.shape = w.shape;
  const size_t n = static_cast<size_t>(w.numel());
  t.values.resize(n);
  const auto* p = reinterpret_cast<const unsigned char*>(group_bytes.data() + w.offset);
  for (size_t i = 0; i < n; ++i) {  // little-endian, as TF.js writes them
    float v;
    if (w.stored == "uint8") {
      v = static_cast<float>(p[i] * w.scale + w.min);
    } else if (w.stored == "uint16") {
      v = static_cast<float>((p[2 * i] | p[2 * i + 1] << 8) * w.scale + w.min);
    } else if (w.stored == "float16") {
      v = half_to_float(static_cast<uint16_t>(p[2 * i] | p[2 * i + 1] << 8));
    } else {
      uint32_t bits = uint32_t(p[4 * i]) | uint32_t(p[4 * i + 1]) << 8 | uint32_t(p[4 * i + 2]) << 16 |
                      uint32_t(p[4 * i + 3]) << 24;
      if (w.stored == "int32") {
        v = static_cast<float>(static_cast<int32_t>(bits));
      } else {
        std::memcpy(&v, &bits, sizeof v);
      }
    }
    if (!std::isfinite(v))
      throw InputError(source, w.where, fmt::format("expected finite values in '{}', got {} at element {}", w.name, v, i));
    t.values[i] = v;
  }
  return t;
}

}  // namespace dkm::models::tfjs

// Dtypes, Array <-> Tensor conversion, and the format-neutral load_weights/save_weights. The three
// file formats live in tensor_io_npy.cpp, tensor_io_npz.cpp and tensor_io_safetensors.cpp.
#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

#include <fmt/format.h>

#include "models/atomic_file.hpp"
#include "models/error.hpp"
#include "models/tensor_io.hpp"

namespace dkm {

static_assert(std::endian::native == std::endian::little, "tensor I/O assumes a little-endian host");

// By hand: fmt::join on int64 trips a GCC 12 -Wstringop-overflow false positive.
std::string join_dims(const std::vector<int64_t>& dims, std::string_view sep) {
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i > 0) s.append(sep);
    s.append(std::to_string(dims[i]));
  }
  return s;
}

std::string_view to_string(DType dtype) {
  switch (dtype) {
    case DType::f16: return "float16";
    case DType::f32: return "float32";
    case DType::f64: return "float64";
    case DType::i8: return "int8";
    case DType::u8: return "uint8";
    case DType::i16: return "int16";
    case DType::u16: return "uint16";
    case DType::i32: return "int32";
    case DType::u32: return "uint32";
    case DType::i64: return "int64";
  }
  return "unknown";
}

int64_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::i8:
    case DType::u8: return 1;
    case DType::f16:
    case DType::i16:
    case DType::u16: return 2;
    case DType::f32:
    case DType::i32:
    case DType::u32: return 4;
    case DType::f64:
    case DType::i64: return 8;
  }
  return 0;
}

int64_t Array::numel() const {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

Array Array::from_tensor(const Tensor& t) {
  Array a;
  a.dtype = DType::f32;
  a.shape = t.shape;
  a.bytes.assign(reinterpret_cast<const char*>(t.values.data()), t.values.size() * sizeof(float));
  return a;
}

namespace {

// IEEE 754 binary16 to binary32, exact for every input (subnormals, infinities and NaN included).
float half_to_float(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1Fu;
  uint32_t mantissa = h & 0x3FFu;
  uint32_t bits;
  if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      int shift = 0;
      while ((mantissa & 0x400u) == 0) {
        mantissa <<= 1;
        ++shift;
      }
      mantissa &= 0x3FFu;
      bits = sign | (static_cast<uint32_t>(127 - 15 + 1 - shift) << 23) | (mantissa << 13);
    }
  } else if (exponent == 0x1F) {
    bits = sign | 0x7F800000u | (mantissa << 13);
  } else {
    bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  }
  return std::bit_cast<float>(bits);
}

template <typename T>
void convert(const std::string& bytes, std::vector<float>& out) {
  for (size_t i = 0; i < out.size(); ++i) {
    T v;
    std::memcpy(&v, bytes.data() + i * sizeof(T), sizeof(T));
    out[i] = static_cast<float>(v);
  }
}

}  // namespace

Tensor Array::to_tensor(const std::string& source, const std::string& name) const {
  int64_t n = numel();
  if (n < 0 || static_cast<int64_t>(bytes.size()) != n * dtype_size(dtype))
    throw InputError(source, fmt::format("tensor '{}'", name),
                     fmt::format("expected {} bytes for {} {} values, got {}", n * dtype_size(dtype), n,
                                 to_string(dtype), bytes.size()));
  Tensor t;
  t.shape = shape;
  t.values.resize(static_cast<size_t>(n));
  switch (dtype) {
    case DType::f16:
      for (size_t i = 0; i < t.values.size(); ++i) {
        uint16_t h;
        std::memcpy(&h, bytes.data() + 2 * i, 2);
        t.values[i] = half_to_float(h);
      }
      break;
    case DType::f32:  // an empty array has no buffer to copy from (memcpy from null is undefined)
      if (!bytes.empty()) std::memcpy(t.values.data(), bytes.data(), bytes.size());
      break;
    case DType::f64: convert<double>(bytes, t.values); break;
    case DType::i8: convert<int8_t>(bytes, t.values); break;
    case DType::u8: convert<uint8_t>(bytes, t.values); break;
    case DType::i16: convert<int16_t>(bytes, t.values); break;
    case DType::u16: convert<uint16_t>(bytes, t.values); break;
    case DType::i32: convert<int32_t>(bytes, t.values); break;
    case DType::u32: convert<uint32_t>(bytes, t.values); break;
    case DType::i64: convert<int64_t>(bytes, t.values); break;
  }
  return t;
}

namespace {

std::string extension_of(const std::string& path) {
  return std::filesystem::path(path).extension().string();
}

Weights to_weights(const ArrayMap& arrays, const std::string& source) {
  Weights w;
  for (const auto& [name, array] : arrays) w.emplace(name, array.to_tensor(source, name));
  return w;
}

}  // namespace

Weights load_weights(const std::string& path) {
  std::string ext = extension_of(path);
  if (ext == ".npy") {
    Weights w;
    std::string name = std::filesystem::path(path).stem().string();
    w.emplace(name, read_npy(path).to_tensor(path, name));
    return w;
  }
  if (ext == ".npz") return to_weights(read_npz(path), path);
  if (ext == ".safetensors") return to_weights(read_safetensors(path).tensors, path);
  throw InputError(path, "", "expected a weights file ending in .npy, .npz or .safetensors");
}

std::string encode_weights(const std::string& path, const Weights& weights) {
  std::string ext = extension_of(path);
  if (ext != ".npz" && ext != ".safetensors")
    throw UsageError(fmt::format("output '{}': expected a name ending in .npz or .safetensors", path));
  ArrayMap arrays;
  for (const auto& [name, tensor] : weights) {
    if (tensor.numel() != static_cast<int64_t>(tensor.values.size()))
      throw std::invalid_argument(fmt::format("tensor '{}': shape does not match its {} values", name,
                                              tensor.values.size()));
    arrays.emplace(name, Array::from_tensor(tensor));
  }
  if (ext == ".npz") return encode_npz(arrays, path);
  return encode_safetensors(Safetensors{std::move(arrays), {}});
}

void save_weights(const std::string& path, const Weights& weights) { write_file_atomic(path, encode_weights(path, weights)); }

void require_finite(const Tensor& tensor, const std::string& source, const std::string& name) {
  for (size_t i = 0; i < tensor.values.size(); ++i)
    if (!std::isfinite(tensor.values[i]))
      throw InputError(source, name, fmt::format("expected finite values, got {} at index {}", tensor.values[i], i));
}

void require_finite(const Weights& weights, const std::string& source) {
  for (const auto& [name, tensor] : weights) require_finite(tensor, source, name);
}

}  // namespace dkm

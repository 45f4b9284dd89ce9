#pragma once
// Arrays in and out: NumPy .npy/.npz and safetensors. Readers validate every header field against the
// file size before allocating and throw dkm::InputError naming the file, the entry and the byte offset.
// Writers are atomic (models/atomic_file.hpp).
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "models/tensor.hpp"

namespace dkm {

enum class DType { f16, f32, f64, i8, u8, i16, u16, i32, u32, i64 };

std::string_view to_string(DType dtype);  // NumPy-style: "float32", "int32", ...
std::string join_dims(const std::vector<int64_t>& dims, std::string_view sep);  // {2, 3}, "x" -> "2x3"
int64_t dtype_size(DType dtype);          // bytes per element

// A typed array with its little-endian bytes.
struct Array {
  DType dtype = DType::f32;
  std::vector<int64_t> shape;
  std::string bytes;

  int64_t numel() const;
  static Array from_tensor(const Tensor& t);
  // Converts f16/f32/f64 and integer types to float32; `source` and `name` are for error messages.
  Tensor to_tensor(const std::string& source, const std::string& name) const;
};

using ArrayMap = std::map<std::string, Array>;

Array parse_npy(std::string_view bytes, const std::string& source);
std::string encode_npy(const Array& array);
Array read_npy(const std::string& path);
void write_npy(const std::string& path, const Array& array);

// .npz: a zip of .npy members, stored or deflated (numpy.savez and numpy.savez_compressed). Entry names
// drop the ".npy" suffix.
ArrayMap read_npz(const std::string& path);
void write_npz(const std::string& path, const ArrayMap& arrays);

struct Safetensors {
  ArrayMap tensors;
  std::map<std::string, std::string> metadata;  // the "__metadata__" object (string values only)
};
Safetensors parse_safetensors(std::string_view bytes, const std::string& source);
std::string encode_safetensors(const Safetensors& file);
Safetensors read_safetensors(const std::string& path);
void write_safetensors(const std::string& path, const Safetensors& file);

// Model weights from .npy (one tensor, named after the file stem), .npz or .safetensors, as float32.
Weights load_weights(const std::string& path);
// .npz or .safetensors, chosen by the extension.
void save_weights(const std::string& path, const Weights& weights);

// NaN and infinite weights or biases must not enter a container or an export: throws dkm::InputError
// (source, tensor name, "expected finite values, got nan at index I") for the first one.
void require_finite(const Tensor& tensor, const std::string& source, const std::string& name);
void require_finite(const Weights& weights, const std::string& source);

}  // namespace dkm

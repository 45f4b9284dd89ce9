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
// The header alone, from the first bytes of a .npy of `file_size` bytes: its data must be exactly the
// rest of the file (so a reader can check the size before holding the data, as the .npz reader does).
struct NpyHeader {
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t data_offset = 0;
};
NpyHeader parse_npy_header(std::string_view first_bytes, uint64_t file_size, const std::string& source);
std::string encode_npy(const Array& array);
Array read_npy(const std::string& path);
void write_npy(const std::string& path, const Array& array);

// .npz: a zip of .npy members, stored or deflated (numpy.savez and numpy.savez_compressed). Entry names
// drop the ".npy" suffix.
ArrayMap read_npz(const std::string& path);
void write_npz(const std::string& path, const ArrayMap& arrays);
std::string encode_npz(const ArrayMap& arrays, const std::string& path);  // `path` names the file in errors

struct Safetensors {
  ArrayMap tensors;
  std::map<std::string, std::string> metadata;  // the "__metadata__" object (string values only)
};
Safetensors parse_safetensors(std::string_view bytes, const std::string& source);
std::string encode_safetensors(const Safetensors& file);

// The header alone, for reading one tensor at a time (models/weight_source.hpp): every check of
// parse_safetensors, against a file of `file_size` bytes. `first8` holds at least the length field.
uint64_t safetensors_header_length(std::string_view first8, uint64_t file_size, const std::string& source);
struct SafetensorsEntry {
  DType dtype = DType::f32;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte range in the file (not the data buffer)
};
struct SafetensorsIndex {
  std::map<std::string, SafetensorsEntry> tensors;
  std::map<std::string, std::string> metadata;
  uint64_t data_offset = 0;
};
// `head`: the file's first 8 + header length bytes (or more).
SafetensorsIndex parse_safetensors_header(std::string_view head, uint64_t file_size, const std::string& source);
// The length field and padded JSON header for tensors at these data-buffer offsets, in any order: what
// precedes the data in a file whose tensors are written one after another (kmeans/container.hpp).
struct SafetensorsSpan {
  std::string name;
  DType dtype = DType::f32;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;
};
std::string safetensors_header(const std::vector<SafetensorsSpan>& tensors,
                               const std::map<std::string, std::string>& metadata);
Safetensors read_safetensors(const std::string& path);
void write_safetensors(const std::string& path, const Safetensors& file);

// Model weights from .npy (one tensor, named after the file stem), .npz or .safetensors, as float32.
Weights load_weights(const std::string& path);
// .npz or .safetensors, chosen by the extension.
void save_weights(const std::string& path, const Weights& weights);
std::string encode_weights(const std::string& path, const Weights& weights);  // the bytes save_weights writes

// NaN and infinite weights or biases must not enter a container or an export: throws dkm::InputError
// (source, tensor name, "expected finite values, got nan at index I") for the first one.
void require_finite(const Tensor& tensor, const std::string& source, const std::string& name);
void require_finite(const Weights& weights, const std::string& source);

}  // namespace dkm

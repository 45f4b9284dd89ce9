// Reading the ONNX protobuf and converting its tensors to and from dkm's float32 values.
#include <fmt/core.h>
#include <google/protobuf/io/coded_stream.h>

#include <bit>
#include <climits>
#include <cmath>
#include <cstring>

#include "models/input_file.hpp"
#include "models/error.hpp"
#include "models/onnx/onnx_internal.hpp"

namespace dkm::models::onnx_detail {

namespace {

float half_to_float(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);  // inf, nan
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;
  } else {  // subnormal half: normalise
    int e = -1;
    do {
      ++e;
      mant <<= 1;
    } while ((mant & 0x400u) == 0);
    bits = sign | static_cast<uint32_t>(112 - e) << 23 | ((mant & 0x3ffu) << 13);
  }
  return std::bit_cast<float>(bits);
}

// Round to nearest even, as numpy's astype(float16) does.
uint16_t float_to_half(float f) {
  uint32_t x = std::bit_cast<uint32_t>(f);
  uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) return static_cast<uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0));
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // overflows to infinity
  if (abs < 0x38800000u) {                                              // subnormal or zero half
    float scaled = std::bit_cast<float>(abs) * 16777216.0f;              // 2^24: units of the smallest half
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(std::nearbyint(scaled)));
  }
  uint32_t mant_odd = (abs >> 13) & 1u;
  abs += 0xc8000fffu + mant_odd;  // rebias exponent (-112 << 23) and round
  return static_cast<uint16_t>(sign | (abs >> 13));
}

int64_t element_bytes(int type) {
  switch (type) {
    case onnx::TensorProto::FLOAT: case onnx::TensorProto::INT32: case onnx::TensorProto::UINT32: return 4;
    case onnx::TensorProto::DOUBLE: case onnx::TensorProto::INT64: case onnx::TensorProto::UINT64: return 8;
    case onnx::TensorProto::FLOAT16: case onnx::TensorProto::BFLOAT16: case onnx::TensorProto::INT16:
    case onnx::TensorProto::UINT16: return 2;
    case onnx::TensorProto::INT8: case onnx::TensorProto::UINT8: case onnx::TensorProto::BOOL: return 1;
    default: return 0;
  }
}

template <typename T>
T load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // ONNX raw_data is little-endian, as is every host dkm builds on
  return v;
}

void put_element(Constant& c, int type, const char* p) {
  switch (type) {
    case onnx::TensorProto::FLOAT: c.floats.push_back(load<float>(p)); break;
    case onnx::TensorProto::DOUBLE: c.floats.push_back(static_cast<float>(load<double>(p))); break;
    case onnx::TensorProto::FLOAT16: c.floats.push_back(half_to_float(load<uint16_t>(p))); break;
    case onnx::TensorProto::BFLOAT16:
      c.floats.push_back(std::bit_cast<float>(static_cast<uint32_t>(load<uint16_t>(p)) << 16));
      break;
    case onnx::TensorProto::INT64: c.ints.push_back(load<int64_t>(p)); break;
    case onnx::TensorProto::UINT64: c.ints.push_back(static_cast<int64_t>(load<uint64_t>(p))); break;
    case onnx::TensorProto::INT32: c.ints.push_back(load<int32_t>(p)); break;
    case onnx::TensorProto::UINT32: c.ints.push_back(load<uint32_t>(p)); break;
    case onnx::TensorProto::INT16: c.ints.push_back(load<int16_t>(p)); break;
    case onnx::TensorProto::UINT16: c.ints.push_back(load<uint16_t>(p)); break;
    case onnx::TensorProto::INT8: c.ints.push_back(load<int8_t>(p)); break;
    default: c.ints.push_back(load<uint8_t>(p)); break;  // UINT8, BOOL
  }
}

bool is_float_type(int type) {
  return type == onnx::TensorProto::FLOAT || type == onnx::TensorProto::DOUBLE ||
         type == onnx::TensorProto::FLOAT16 || type == onnx::TensorProto::BFLOAT16;
}

}  // namespace

onnx::ModelProto read_model_proto(const std::string& path) {
  std::string bytes = read_file(path, kMaxBinaryInputBytes);
  if (bytes.size() > static_cast<size_t>(INT_MAX))
    throw InputError(path, "", "expected an ONNX file under 2 GiB (protobuf's limit; external data is not supported)");
  onnx::ModelProto model;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  in.SetTotalBytesLimit(INT_MAX);
  bool ok = model.MergePartialFromCodedStream(&in) && in.ConsumedEntireMessage();
  if (!ok || in.CurrentPosition() != static_cast<int>(bytes.size()))
    throw InputError(path, fmt::format("byte {}", in.CurrentPosition()),
                     fmt::format("expected an ONNX ModelProto (protobuf) of {} bytes; parsing stopped here: the file is "
                                 "truncated or not an ONNX model",
                                 bytes.size()));
  if (!model.has_graph() || model.graph().node_size() == 0)
    throw InputError(path, "graph", fmt::format("expected an ONNX model with a graph of at least one node ({} bytes "
                                                "parsed as a ModelProto without one: not an ONNX model?)",
                                                bytes.size()));
  return model;
}

Constant decode_tensor(const onnx::TensorProto& t, const std::string& path, const std::string& where) {
  if (t.data_location() == onnx::TensorProto::EXTERNAL)
    throw InputError(path, where, "expected tensor data inside the file, got external data (not supported)");
  const int type = t.data_type();
  const int64_t esize = element_bytes(type);
  if (esize == 0)
    throw InputError(path, where, fmt::format("expected a numeric tensor, got data type {} ({})", type,
                                              onnx::TensorProto::DataType_Name(t.data_type())));
  Constant c;
  c.is_int = !is_float_type(type);
  int64_t n = 1;
  for (int64_t d : t.dims()) {
    if (d < 0 || (d > 0 && n > (int64_t{1} << 40) / d))
      throw InputError(path, where, fmt::format("expected tensor dimensions between 0 and 2^40 elements, got {}", d));
    c.dims.push_back(d);
    n *= d;
  }
  if (t.has_raw_data()) {
    const std::string& raw = t.raw_data();
    if (static_cast<int64_t>(raw.size()) != n * esize)
      throw InputError(path, where, fmt::format("expected {} bytes of raw_data ({} elements of {} bytes), got {}", n * esize,
                                                n, esize, raw.size()));
    if (c.is_int) c.ints.reserve(n);
    else c.floats.reserve(n);
    for (int64_t i = 0; i < n; ++i) put_element(c, type, raw.data() + i * esize);
    return c;
  }
  auto check_count = [&](int64_t got, const char* field) {
    if (got != n) throw InputError(path, where, fmt::format("expected {} values in {}, got {}", n, field, got));
  };
  switch (type) {
    case onnx::TensorProto::FLOAT:
      check_count(t.float_data_size(), "float_data");
      c.floats.assign(t.float_data().begin(), t.float_data().end());
      break;
    case onnx::TensorProto::DOUBLE:
      check_count(t.double_data_size(), "double_data");
      for (double v : t.double_data()) c.floats.push_back(static_cast<float>(v));
      break;
    case onnx::TensorProto::INT64:
      check_count(t.int64_data_size(), "int64_data");
      c.ints.assign(t.int64_data().begin(), t.int64_data().end());
      break;
    case onnx::TensorProto::UINT32: case onnx::TensorProto::UINT64:
      check_count(t.uint64_data_size(), "uint64_data");
      for (uint64_t v : t.uint64_data()) c.ints.push_back(static_cast<int64_t>(v));
      break;
    case onnx::TensorProto::FLOAT16:
      check_count(t.int32_data_size(), "int32_data");
      for (int32_t v : t.int32_data()) c.floats.push_back(half_to_float(static_cast<uint16_t>(v)));
      break;
    case onnx::TensorProto::BFLOAT16:
      check_count(t.int32_data_size(), "int32_data");
      for (int32_t v : t.int32_data()) c.floats.push_back(std::bit_cast<float>(static_cast<uint32_t>(v) << 16));
      break;
    default:  // the small integer types and bool live in int32_data
      check_count(t.int32_data_size(), "int32_data");
      c.ints.assign(t.int32_data().begin(), t.int32_data().end());
      break;
  }
  return c;
}

void encode_float_tensor(onnx::TensorProto& t, const std::vector<float>& values) {
  const int type = t.data_type();
  std::string raw;
  if (type == onnx::TensorProto::FLOAT16) {
    raw.resize(values.size() * 2);
    for (size_t i = 0; i < values.size(); ++i) {
      uint16_t h = float_to_half(values[i]);
      std::memcpy(raw.data() + 2 * i, &h, 2);
    }
  } else if (type == onnx::TensorProto::DOUBLE) {
    raw.resize(values.size() * 8);
    for (size_t i = 0; i < values.size(); ++i) {
      double d = values[i];
      std::memcpy(raw.data() + 8 * i, &d, 8);
    }
  } else if (type == onnx::TensorProto::BFLOAT16) {
    raw.resize(values.size() * 2);
    for (size_t i = 0; i < values.size(); ++i) {
      uint32_t x = std::bit_cast<uint32_t>(values[i]);
      uint16_t b = static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);  // round to nearest even
      std::memcpy(raw.data() + 2 * i, &b, 2);
    }
  } else {
    raw.resize(values.size() * 4);
    std::memcpy(raw.data(), values.data(), raw.size());
  }
  t.clear_float_data();
  t.clear_double_data();
  t.clear_int32_data();
  t.clear_int64_data();
  t.clear_uint64_data();
  t.set_raw_data(std::move(raw));
}

}  // namespace dkm::models::onnx_detail

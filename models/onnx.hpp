#pragma once
// ONNX in and out (docs/onnx.md). load_onnx() reads a model with the official ONNX library (Debian's
// libonnx-dev) and returns the same in-memory Model a JSON spec gives, with the conv and linear weights
// attached as "<layer>.weight" / "<layer>.bias" (conv OIHW, linear out x in). write_onnx_with_weights()
// writes the original graph back with some of those weights replaced, so any ONNX runtime can measure
// what compression did to accuracy.
//
// The ONNX part is optional: without libonnx-dev at configure time DKM_HAVE_ONNX is not defined and both
// functions throw an InputError saying that ONNX support was not built.
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "models/error.hpp"
#include "models/model.hpp"
#include "models/tensor.hpp"

namespace dkm::models {

struct OnnxOptions {
  // The input's shape in the ONNX input's own layout (NCHW "1,3,H,W", or "1,H,W,3" for an NHWC input).
  // Required when the file leaves an input dimension symbolic; must agree with every fixed dimension.
  std::vector<int64_t> input_shape;
};

// "1,3,224,224" -> {1, 3, 224, 224}; throws dkm::UsageError on anything else.
inline std::vector<int64_t> parse_input_shape(std::string_view text) {
  std::vector<int64_t> dims;
  size_t at = 0;
  while (at <= text.size()) {
    size_t end = std::min(text.find(',', at), text.size());
    std::string_view item = text.substr(at, end - at);
    int64_t v = 0;
    auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (item.empty() || ec != std::errc() || ptr != item.data() + item.size() || v < 1)
      throw UsageError("--input-shape: expected positive integers separated by commas (1,3,224,224), got \"" +
                       std::string(text) + "\"");
    dims.push_back(v);
    at = end + 1;
  }
  return dims;
}

// Options used by load_onnx(path) and so by load_model() on an .onnx path: `dkm --input-shape` sets them
// once for every command.
inline OnnxOptions& default_onnx_options() {
  static OnnxOptions options;
  return options;
}

#ifdef DKM_HAVE_ONNX

// Throws dkm::InputError naming the file and the node, tensor or byte offset for unreadable files,
// unsupported operators, non-constant weights and missing --input-shape.
Model load_onnx(const std::string& path, const OnnxOptions& options);
inline Model load_onnx(const std::string& path) { return load_onnx(path, default_onnx_options()); }

// Copies `src_onnx` to `out_path` (atomically) with each tensor of `replaced` (names as load_onnx gives
// them) written into the initializer or Constant node it was imported from, in the source's float type
// (float32 for float32 models). Names, shapes and layouts are checked against the import of `src_onnx`.
void write_onnx_with_weights(const std::string& src_onnx, const Weights& replaced, const std::string& out_path,
                             const OnnxOptions& options = {});
// The bytes write_onnx_with_weights writes (`out_path` only names the output in errors).
std::string encode_onnx_with_weights(const std::string& src_onnx, const Weights& replaced,
                                     const std::string& out_path, const OnnxOptions& options = {});

#else

inline Model load_onnx(const std::string& path, const OnnxOptions& = {}) {
  throw InputError(path, "", "ONNX support was not built (install libonnx-dev and libprotobuf-dev, re-run cmake)");
}
inline void write_onnx_with_weights(const std::string& src_onnx, const Weights&, const std::string&,
                                    const OnnxOptions& = {}) {
  throw InputError(src_onnx, "", "ONNX support was not built (install libonnx-dev and libprotobuf-dev, re-run cmake)");
}
inline std::string encode_onnx_with_weights(const std::string& src_onnx, const Weights&, const std::string&,
                                            const OnnxOptions& = {}) {
  throw InputError(src_onnx, "", "ONNX support was not built (install libonnx-dev and libprotobuf-dev, re-run cmake)");
}

#endif

}  // namespace dkm::models

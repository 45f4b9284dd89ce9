// ONNX import (docs/onnx.md), built only where libonnx-dev is found; load_onnx() takes a path.
#include "models/onnx.hpp"
#include "tests/fuzz/fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string path = dkm::fuzz::write_temp(data, size, ".onnx");
  dkm::fuzz::expect_clean([&] { dkm::models::load_onnx(path, dkm::models::OnnxOptions{}); });
  return 0;
}

// safetensors, then conversion to float32 as load_weights() does.
#include "models/tensor_io.hpp"
#include "tests/fuzz/fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  dkm::fuzz::expect_clean([&] {
    dkm::Safetensors s = dkm::parse_safetensors(dkm::fuzz::as_text(data, size), "fuzz.safetensors");
    for (const auto& [name, array] : s.tensors) array.to_tensor("fuzz.safetensors", name);
  });
  return 0;
}

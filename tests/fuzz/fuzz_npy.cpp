// NumPy .npy, then conversion to float32 as load_weights() does.
#include "models/tensor_io.hpp"
#include "tests/fuzz/fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  dkm::fuzz::expect_clean([&] {
    dkm::Array a = dkm::parse_npy(dkm::fuzz::as_text(data, size), "fuzz.npy");
    a.to_tensor("fuzz.npy", "a");
  });
  return 0;
}

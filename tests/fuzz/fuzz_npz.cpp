// NumPy .npz (zip of .npy members, stored or deflated); read_npz() takes a path.
#include "models/tensor_io.hpp"
#include "tests/fuzz/fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string path = dkm::fuzz::write_temp(data, size, ".npz");
  dkm::fuzz::expect_clean([&] {
    for (const auto& [name, array] : dkm::read_npz(path)) array.to_tensor(path, name);
  });
  return 0;
}

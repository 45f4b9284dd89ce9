// The compressed container (docs/container.md): read_compressed() validates, decompress() rebuilds weights.
#include "kmeans/container.hpp"
#include "tests/fuzz/fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string path = dkm::fuzz::write_temp(data, size, ".dkm.safetensors");
  dkm::fuzz::expect_clean([&] { dkm::kmeans::decompress(dkm::kmeans::read_compressed(path)); });
  return 0;
}

// Compression plan JSON (kmeans/plan.hpp).
#include "kmeans/plan.hpp"
#include "tests/fuzz/fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  dkm::fuzz::expect_clean([&] { dkm::kmeans::parse_plan(dkm::fuzz::as_text(data, size), "fuzz.json"); });
  return 0;
}

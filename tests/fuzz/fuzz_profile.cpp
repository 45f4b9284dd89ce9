// Hardware profile JSON (docs/hwprofile.md).
#include "estimator/profile.hpp"
#include "tests/fuzz/fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  dkm::fuzz::expect_clean([&] { dkm::estimator::parse_profile(dkm::fuzz::as_text(data, size), "fuzz.json"); });
  return 0;
}

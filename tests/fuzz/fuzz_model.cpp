// Model spec JSON (docs/model-spec.md): parse and shape inference.
#include "models/model.hpp"
#include "tests/fuzz/fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  dkm::fuzz::expect_clean([&] {
    dkm::models::Model m = dkm::models::parse_model(dkm::fuzz::as_text(data, size), "fuzz.json");
    // What parses must write back and re-parse (the writer sees every accepted value).
    dkm::models::parse_model(dkm::models::to_json_spec(m), "roundtrip.json");
  });
  return 0;
}

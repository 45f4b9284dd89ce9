// Model spec JSON (docs/model-spec.md): parse and shape inference. What parses must also write back and
// read back to the same spec (the writer sees every accepted value); a failure there is a finding.
#include <optional>

#include "models/model.hpp"
#include "tests/fuzz/fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::optional<dkm::models::Model> model;
  dkm::fuzz::expect_clean([&] { model = dkm::models::parse_model(dkm::fuzz::as_text(data, size), "fuzz.json"); });
  if (!model) return 0;
  std::string spec = dkm::models::to_json_spec(*model);
  if (dkm::models::to_json_spec(dkm::models::parse_model(spec, "roundtrip.json")) != spec) __builtin_trap();
  return 0;
}

// TF.js model.json: JSON, the weights manifest and the layers topology, with each group's shard bytes
// given as zeros of the size the manifest declares (up to 1 MiB; a larger group is refused as the file
// reader refuses missing bytes), so layer conversion and dequantisation run too.
#include "models/error.hpp"
#include "models/tfjs/tfjs_internal.hpp"
#include "tests/fuzz/fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dkm::models::tfjs;
  dkm::fuzz::expect_clean([&] {
    const dkm::Json doc = dkm::parse_json(dkm::fuzz::as_text(data, size), "fuzz/model.json", "a TF.js model.json");
    auto zeros = [](const ManifestGroup& g) {
      if (g.bytes > (uint64_t{1} << 20)) throw dkm::InputError("fuzz/model.json", g.where, "a group of at most 1 MiB");
      return std::string(g.bytes, '\0');
    };
    convert_layers_model(doc, "fuzz/model.json", zeros, {});
  });
  return 0;
}

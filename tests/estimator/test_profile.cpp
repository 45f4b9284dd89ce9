// Hardware profiles: the shipped ones load with the documented numbers; every bad field is an error
// naming its JSON path.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "estimator/profile.hpp"
#include "tests/estimator/fixtures.hpp"
#include "models/atomic_file.hpp"
#include "models/error.hpp"
#include "tests/support.hpp"

using namespace dkm;
using namespace dkm::estimator;
using nlohmann::json;

TEST_CASE("shipped profiles load with their documented numbers") {
  CHECK(profile_files().size() >= 4);
  const HwProfile e = load_profile("eyeriss-65nm");
  CHECK(e.unit == EnergyUnit::mac_normalised);
  CHECK(e.technology_nm == 65);
  CHECK(e.pe_rows * e.pe_cols == 168);
  CHECK(e.mac_energy == 1.0);
  CHECK(e.rf_weights.energy.energy == 1.0);
  CHECK(e.array.energy == 2.0);
  CHECK(e.buffer.energy == 6.0);
  CHECK(e.dram.energy == 200.0);
  CHECK(e.buffer_bytes == 108 * 1024);
  CHECK((e.rf_weights.words + e.rf_inputs.words + e.rf_psums.words) * 2 == 520);  // the 0.5 KB RF
  CHECK(e.access_energy(Level::buffer, DataType::inputs, 16) == 6.0);
  CHECK(e.access_energy(Level::dram, DataType::weights, 8) == 100.0);
  CHECK(e.mac_energy_at(8, 8) == 0.25);

  const HwProfile l = load_profile("eyeriss-like");
  CHECK(l.unit == EnergyUnit::pj);
  CHECK(l.rf_weights.words == 192);
  CHECK(l.rf_inputs.words == 12);
  CHECK(l.rf_psums.words == 16);
  CHECK(l.buffer_bytes == 128 * 1024);
  CHECK(l.bypasses_buffer(DataType::weights));
  CHECK_FALSE(l.bypasses_buffer(DataType::inputs));
  CHECK(l.mac_energy == 2.20);
  CHECK(l.access_energy(Level::buffer, DataType::inputs, 64) == doctest::Approx(37.1));
  CHECK(l.access_energy(Level::dram, DataType::inputs, 16) == doctest::Approx(128.0));

  for (const char* name : {"horowitz-45nm", "accelergy-45nm"}) {
    const HwProfile p = load_profile(name);
    CHECK(p.unit == EnergyUnit::pj);
    CHECK(p.technology_nm == 45);
    CHECK_FALSE(p.scaling_rules.empty());
  }
}

TEST_CASE("a profile can be read from a file path") {
  test::TempDir dir;
  write_file_atomic(dir / "p.json", test::tiny_profile_json());
  const HwProfile p = load_profile(dir / "p.json");
  CHECK(p.name == "tiny");
  CHECK(p.file == dir / "p.json");
  CHECK_THROWS_WITH_AS(load_profile("no-such-profile"), doctest::Contains("eyeriss-65nm"), InputError);
}

namespace {

// Applies `edit` to the tiny profile and returns the InputError's JSON path (or "no error").
template <class Edit>
std::string error_path(Edit edit) {
  json j = json::parse(test::tiny_profile_json());
  edit(j);
  try {
    parse_profile(j.dump(), "bad.json");
  } catch (const InputError& e) {
    CHECK(e.file() == "bad.json");
    return e.where();
  }
  return "no error";
}

}  // namespace

TEST_CASE("every missing or ill-typed profile field is an error naming its JSON path") {
  CHECK(error_path([](json&) {}) == "no error");
  CHECK(error_path([](json& j) { j.erase("format"); }) == "");  // a missing key: the object holding it
  CHECK(error_path([](json& j) { j["format"] = "dkm-hwprofile/3"; }) == "format");
  CHECK(error_path([](json& j) { j["format"] = "dkm-hwprofile/2"; }) == "");  // version 2 adds "levels"
  CHECK(error_path([](json& j) { j.erase("name"); }) == "");
  CHECK(error_path([](json& j) { j["energy_unit"] = "nJ"; }) == "energy_unit");
  CHECK(error_path([](json& j) { j["technology"].erase("source"); }) == "technology");
  CHECK(error_path([](json& j) { j["technology"]["node_nm"] = "65"; }) == "technology.node_nm");
  CHECK(error_path([](json& j) { j["bits"]["weights"] = 8.5; }) == "bits.weights");
  CHECK(error_path([](json& j) { j["bits"].erase("psums"); }) == "bits");
  CHECK(error_path([](json& j) { j["pe_array"]["rows"] = 0; }) == "pe_array.rows");
  CHECK(error_path([](json& j) { j["mac"].erase("value"); }) == "mac");
  CHECK(error_path([](json& j) { j["mac"]["value"] = 0; }) == "mac.value");
  CHECK(error_path([](json& j) { j["mac"]["unit"] = "pJ"; }) == "mac.unit");
  CHECK(error_path([](json& j) { j["mac"]["scaling"] = "linear"; }) == "mac.scaling");
  CHECK(error_path([](json& j) { j["rf"].erase("psums"); }) == "rf");
  CHECK(error_path([](json& j) { j["rf"]["weights"]["words"] = "224"; }) == "rf.weights.words");
  CHECK(error_path([](json& j) { j["rf"]["inputs"]["energy"]["value"] = -1; }) == "rf.inputs.energy.value");
  CHECK(error_path([](json& j) { j["rf"]["inputs"]["energy"]["unit"] = "pJ"; }) == "rf.inputs.energy.unit");
  CHECK(error_path([](json& j) { j["rf"]["inputs"]["energy"].erase("word_bits"); }) == "rf.inputs.energy");
  CHECK(error_path([](json& j) { j["rf"]["inputs"]["energy"]["per"] = "access"; }) == "rf.inputs.energy.per");
  CHECK(error_path([](json& j) { j["rf"]["inputs"]["energy"]["source"] = ""; }) == "rf.inputs.energy.source");
  CHECK(error_path([](json& j) { j["array"]["energy"]["per"] = "bit"; }) == "array.energy.word_bits");
  CHECK(error_path([](json& j) { j["buffer"].erase("bytes"); }) == "buffer");
  CHECK(error_path([](json& j) { j["buffer"]["bypass"] = "weights"; }) == "buffer.bypass");
  CHECK(error_path([](json& j) { j["buffer"]["bypass"] = json::array({"psums"}); }) == "buffer.bypass[0]");
  CHECK(error_path([](json& j) { j["buffer"]["bypass"] = json::array({"weights", 3}); }) == "buffer.bypass[1]");
  CHECK(error_path([](json& j) { j["dram"]["energy"] = 200; }) == "dram.energy");
  CHECK(error_path([](json& j) { j["dram"].erase("energy"); }) == "dram");
  CHECK(error_path([](json& j) { j["scaling_rules"] = json::array({1}); }) == "scaling_rules[0]");
  CHECK(error_path([](json& j) { j["dram"]["extra"] = 1; }) == "dram.extra");
  CHECK(error_path([](json& j) { j["mac_energy"] = 1; }) == "mac_energy");

  // The rules and wording of every JSON input (models/json_reader.hpp).
  CHECK_THROWS_WITH_AS(parse_profile("{\n  not json", "x.json"), doctest::Contains("x.json: line 2, column 4: expected valid JSON"),
                       InputError);
  CHECK_THROWS_WITH_AS(parse_profile("[]", "x.json"), "x.json: expected an object, got an array ([])", InputError);
  CHECK_THROWS_WITH_AS(parse_profile("", "x.json"), "x.json: expected a hardware profile, got an empty file", InputError);
  CHECK_THROWS_WITH_AS(parse_profile(R"({"format": "dkm-hwprofile/1", "bits": {"weights": 8, "weights": 16}})", "x.json"),
                       "x.json: bits.weights: expected each key once in an object, got a duplicate key", InputError);
  CHECK_THROWS_WITH_AS(parse_profile(R"({"format": "dkm-hwprofile/1", "mac": {"value": 1e999}})", "x.json"),
                       "x.json: expected valid JSON with numbers a double can hold", InputError);
}

TEST_CASE("per-bit and per-word energies price a datum by its bits") {
  json j = json::parse(test::tiny_profile_json());
  j["dram"]["energy"] = {{"value", 8}, {"unit", "mac_normalised"}, {"per", "bit"}, {"source", "t"}};
  const HwProfile p = parse_profile(j.dump(), "t.json");
  CHECK(p.dram.word_bits == 1);
  CHECK(p.access_energy(Level::dram, DataType::weights, 16) == 128.0);
  CHECK(p.access_energy(Level::array, DataType::weights, 4) == 0.5);
  CHECK(p.access_energy(Level::rf, DataType::codebook, 16) == 1.0);
}

namespace {

// Applies `edit` to the shipped format-2 profile and returns the InputError's JSON path (or "no error").
template <class Edit>
std::string level_error_path(Edit edit) {
  json j = json::parse(test::slurp(test::source_path("hwprofiles/eyeriss-like-timeloop.json")));
  edit(j);
  try {
    parse_profile(j.dump(), "bad.json");
  } catch (const InputError& e) {
    return e.where();
  }
  return "no error";
}

}  // namespace

TEST_CASE("format 2: the storage levels load, and every bad level field is an error naming its JSON path") {
  const HwProfile p = load_profile("eyeriss-like-timeloop");
  REQUIRE(p.levels.size() == 6);
  CHECK(p.levels[1].name == "shared_glb");
  CHECK(p.levels[1].capacity_words == 65536);
  CHECK(!p.levels[1].keeps[static_cast<size_t>(Space::weights)]);
  CHECK(p.levels[1].read.energy * 4 == doctest::Approx(29.63));
  CHECK(p.levels[0].read.energy == 200);
  CHECK(p.pes() == 168);
  CHECK(p.levels[4].constraints.temporal[static_cast<size_t>(Dim::R)] == kAll);
  // A version-1 profile gets levels derived from its sections.
  const HwProfile v1 = load_profile("eyeriss-65nm");
  REQUIRE(v1.levels.size() == 5);
  CHECK(v1.levels[1].capacity_words == 108 * 1024 / 2);
  CHECK(v1.pes() == 168);

  CHECK(level_error_path([](json&) {}) == "no error");
  CHECK(level_error_path([](json& j) { j.erase("levels"); }) == "");
  CHECK(level_error_path([](json& j) { j["levels"][1]["capacity"]["words"] = -1; }) == "levels[1].capacity.words");
  CHECK(level_error_path([](json& j) { j["levels"][0]["keeps"] = json::array({"weights"}); }) == "levels[0].keeps");
  CHECK(level_error_path([](json& j) { j["levels"][3]["keeps"][0] = "psums"; }) == "levels[3].keeps[0]");
  CHECK(level_error_path([](json& j) { j["levels"][2]["energy"].erase("source"); }) == "levels[2].energy");
  CHECK(level_error_path([](json& j) { j["levels"][5]["energy"]["read"] = "1"; }) == "levels[5].energy.read");
  CHECK(level_error_path([](json& j) { j["levels"][1]["fanout"]["x"] = 13; }) == "levels");  // 13 x 12 != 168
  CHECK(level_error_path([](json& j) { j["levels"][1]["constraints"]["spatial_x"] = "MZ"; }) ==
        "levels[1].constraints.spatial_x");
  CHECK(level_error_path([](json& j) { j["levels"][1]["constraints"]["temporal_order"] = "QRS"; }) ==
        "levels[1].constraints.temporal_order");
  CHECK(level_error_path([](json& j) { j["levels"][1]["constraints"]["temporal_factors"]["P"] = 0; }) ==
        "levels[1].constraints.temporal_factors.P");
  CHECK(level_error_path([](json& j) { j["levels"][0]["constraints"]["spatial_x"] = "M"; }) ==
        "levels[0].constraints.spatial_x");
  CHECK(level_error_path([](json& j) { j["levels"][2]["name"] = j["levels"][1]["name"]; }) == "levels[2].name");
  CHECK(level_error_path([](json& j) { j["levels"][4]["extra"] = 1; }) == "levels[4].extra");
  // fanout.forward: read-only data spaces, once each, only where there is a fan-out.
  CHECK(level_error_path([](json& j) { j["levels"][1]["fanout"].erase("forward"); }) == "levels[1].fanout");
  CHECK(level_error_path([](json& j) { j["levels"][1]["fanout"]["forward"] = "inputs"; }) == "levels[1].fanout.forward");
  CHECK(level_error_path([](json& j) { j["levels"][1]["fanout"]["forward"] = json::array({"outputs"}); }) ==
        "levels[1].fanout.forward[0]");
  CHECK(level_error_path([](json& j) { j["levels"][1]["fanout"]["forward"] = json::array({"inputs", "inputs"}); }) ==
        "levels[1].fanout.forward[1]");
  CHECK(level_error_path([](json& j) { j["levels"][3]["fanout"]["forward"] = json::array({"inputs"}); }) ==
        "levels[3].fanout.forward");
  CHECK(level_error_path([](json& j) { j["levels"][1]["fanout"]["forward"] = json::array({"inputs"}); }) == "no error");
}

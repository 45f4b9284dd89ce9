#include "estimator/profile.hpp"

#include <cmath>
#include <filesystem>
#include <optional>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "models/atomic_file.hpp"
#include "models/error.hpp"

namespace dkm::estimator {

namespace {

using nlohmann::json;

constexpr std::string_view kFormat = "dkm-hwprofile/1";

// Reads fields of one JSON object, naming the JSON path of anything missing or ill-typed.
class Reader {
 public:
  Reader(const json& j, std::string path, const std::string& file) : j_(j), path_(std::move(path)), file_(file) {
    if (!j_.is_object()) fail("", "an object");
  }

  [[noreturn]] void fail(const std::string& key, const std::string& expected) const {
    throw InputError(file_, at(key), expected);
  }
  std::string at(const std::string& key) const {
    if (key.empty()) return path_.empty() ? "(top level)" : path_;
    return path_.empty() ? key : path_ + "." + key;
  }
  const json& get(const std::string& key) const {
    auto it = j_.find(key);
    if (it == j_.end()) fail(key, "a value (missing)");
    return *it;
  }
  Reader object(const std::string& key) const { return Reader(get(key), at(key), file_); }
  std::string string(const std::string& key) const {
    const json& v = get(key);
    if (!v.is_string()) fail(key, "a string");
    return v.get<std::string>();
  }
  std::string source(const std::string& key = "source") const {
    std::string s = string(key);
    if (s.empty()) fail(key, "a non-empty source for the numbers beside it");
    return s;
  }
  double number(const std::string& key, double min, bool min_exclusive) const {
    const json& v = get(key);
    if (!v.is_number()) fail(key, "a number");
    double d = v.get<double>();
    if (!std::isfinite(d) || d < min || (min_exclusive && d == min))
      fail(key, fmt::format("a finite number {} {}", min_exclusive ? ">" : ">=", min));
    return d;
  }
  int64_t integer(const std::string& key, int64_t min, int64_t max) const {
    const json& v = get(key);
    if (!v.is_number_integer()) fail(key, "an integer");
    int64_t i = v.get<int64_t>();
    if (i < min || i > max) fail(key, fmt::format("an integer in [{}, {}]", min, max));
    return i;
  }
  void only(std::initializer_list<std::string_view> keys) const {
    for (auto it = j_.begin(); it != j_.end(); ++it) {
      bool known = false;
      for (auto k : keys) known = known || it.key() == k;
      if (!known) fail(it.key(), "no such key (unknown field)");
    }
  }
  const json& raw() const { return j_; }
  const std::string& file() const { return file_; }

 private:
  const json& j_;
  std::string path_;
  const std::string& file_;
};

// {"value": 6, "unit": "mac_normalised", "per": "word", "word_bits": 16, "source": "..."}
AccessEnergy read_energy(const Reader& r, EnergyUnit unit) {
  r.only({"value", "unit", "per", "word_bits", "source"});
  AccessEnergy e;
  e.energy = r.number("value", 0, false);
  if (r.string("unit") != to_string(unit))
    r.fail("unit", fmt::format("\"{}\" (the profile's energy_unit)", to_string(unit)));
  std::string per = r.string("per");
  if (per == "bit") {
    if (r.raw().contains("word_bits")) r.fail("word_bits", "no word_bits when \"per\" is \"bit\"");
    e.word_bits = 1;
  } else if (per == "word") {
    e.word_bits = static_cast<int>(r.integer("word_bits", 1, 4096));
  } else {
    r.fail("per", "\"bit\" or \"word\"");
  }
  e.source = r.source();
  return e;
}

Scratchpad read_scratchpad(const Reader& r, EnergyUnit unit) {
  r.only({"words", "source", "energy"});
  Scratchpad s;
  s.words = r.integer("words", 1, int64_t{1} << 32);
  s.source = r.source();
  s.energy = read_energy(r.object("energy"), unit);
  return s;
}

std::optional<DataType> parse_data_type(std::string_view s) {
  for (DataType t : kDataTypes)
    if (to_string(t) == s) return t;
  return std::nullopt;
}

}  // namespace

std::string_view to_string(EnergyUnit unit) { return unit == EnergyUnit::pj ? "pJ" : "mac_normalised"; }

std::string_view to_string(DataType type) {
  switch (type) {
    case DataType::weights: return "weights";
    case DataType::inputs: return "inputs";
    case DataType::psums: return "psums";
    case DataType::codebook: return "codebook";
  }
  return "?";
}

std::string_view to_string(Level level) {
  switch (level) {
    case Level::dram: return "dram";
    case Level::buffer: return "buffer";
    case Level::array: return "array";
    case Level::rf: return "rf";
  }
  return "?";
}

const Scratchpad& HwProfile::scratchpad(DataType type) const {
  switch (type) {
    case DataType::inputs: return rf_inputs;
    case DataType::psums: return rf_psums;
    case DataType::weights:
    case DataType::codebook: return rf_weights;
  }
  return rf_weights;
}

double HwProfile::mac_energy_at(int w_bits, int x_bits) const {
  return mac_energy * (static_cast<double>(w_bits) / ref_weight_bits) * (static_cast<double>(x_bits) / ref_act_bits);
}

double HwProfile::access_energy(Level level, DataType type, double bits) const {
  switch (level) {
    case Level::dram: return dram.per_bit() * bits;
    case Level::buffer: return buffer.per_bit() * bits;
    case Level::array: return array.per_bit() * bits;
    case Level::rf: return scratchpad(type).energy.per_bit() * bits;
  }
  return 0;
}

HwProfile parse_profile(std::string_view json_text, const std::string& source) {
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::parse_error& e) {
    throw InputError(source, fmt::format("byte {}", e.byte), "valid JSON");
  } catch (const json::out_of_range&) {  // a number beyond double range, such as 1e999
    throw InputError(source, "", "valid JSON with numbers a double can hold");
  }
  Reader top(j, "", source);
  top.only({"format", "name", "description", "energy_unit", "technology", "bits", "pe_array", "mac", "rf",
            "array", "buffer", "dram", "scaling_rules"});
  if (top.string("format") != kFormat) top.fail("format", fmt::format("\"{}\"", kFormat));

  HwProfile p;
  p.file = source;
  p.name = top.string("name");
  if (p.name.empty()) top.fail("name", "a non-empty name");
  p.description = top.string("description");
  std::string unit = top.string("energy_unit");
  if (unit == "pJ") p.unit = EnergyUnit::pj;
  else if (unit == "mac_normalised") p.unit = EnergyUnit::mac_normalised;
  else top.fail("energy_unit", "\"pJ\" or \"mac_normalised\"");

  Reader tech = top.object("technology");
  tech.only({"node_nm", "source"});
  p.technology_nm = static_cast<int>(tech.integer("node_nm", 1, 1000));
  p.technology_source = tech.source();

  Reader bits = top.object("bits");
  bits.only({"weights", "activations", "psums", "source"});
  p.weight_bits = static_cast<int>(bits.integer("weights", 1, 64));
  p.act_bits = static_cast<int>(bits.integer("activations", 1, 64));
  p.psum_bits = static_cast<int>(bits.integer("psums", 1, 64));
  p.bits_source = bits.source();

  Reader pe = top.object("pe_array");
  pe.only({"rows", "cols", "source"});
  p.pe_rows = pe.integer("rows", 1, 4096);
  p.pe_cols = pe.integer("cols", 1, 4096);
  p.pe_array_source = pe.source();

  Reader mac = top.object("mac");
  mac.only({"value", "unit", "per", "weight_bits", "activation_bits", "scaling", "source"});
  p.mac_energy = mac.number("value", 0, true);
  if (mac.string("unit") != to_string(p.unit))
    mac.fail("unit", fmt::format("\"{}\" (the profile's energy_unit)", to_string(p.unit)));
  if (mac.string("per") != "mac") mac.fail("per", "\"mac\"");
  p.ref_weight_bits = static_cast<int>(mac.integer("weight_bits", 1, 64));
  p.ref_act_bits = static_cast<int>(mac.integer("activation_bits", 1, 64));
  if (mac.string("scaling") != "bit_product")
    mac.fail("scaling", "\"bit_product\" (energy x (b_w/weight_bits) x (b_x/activation_bits))");
  p.mac_source = mac.source();

  Reader rf = top.object("rf");
  rf.only({"weights", "inputs", "psums"});
  p.rf_weights = read_scratchpad(rf.object("weights"), p.unit);
  p.rf_inputs = read_scratchpad(rf.object("inputs"), p.unit);
  p.rf_psums = read_scratchpad(rf.object("psums"), p.unit);

  Reader array = top.object("array");
  array.only({"energy"});
  p.array = read_energy(array.object("energy"), p.unit);

  Reader buffer = top.object("buffer");
  buffer.only({"bytes", "bypass", "source", "energy"});
  p.buffer_bytes = buffer.integer("bytes", 1, int64_t{1} << 40);
  p.buffer_source = buffer.source();
  const json& bypass = buffer.get("bypass");
  if (!bypass.is_array()) buffer.fail("bypass", "an array of data types (\"weights\", \"inputs\", \"psums\")");
  for (size_t i = 0; i < bypass.size(); ++i) {
    std::string where = buffer.at(fmt::format("bypass[{}]", i));
    if (!bypass[i].is_string()) throw InputError(source, where, "a data type name");
    auto t = parse_data_type(bypass[i].get<std::string>());
    if (!t || *t == DataType::codebook)
      throw InputError(source, where, "\"weights\", \"inputs\" or \"psums\"");
    if (*t == DataType::psums)
      throw InputError(source, where, "\"weights\" or \"inputs\" (partial sums accumulate in the buffer)");
    p.buffer_bypass[static_cast<size_t>(*t)] = true;
  }
  p.buffer = read_energy(buffer.object("energy"), p.unit);

  Reader dram = top.object("dram");
  dram.only({"energy"});
  p.dram = read_energy(dram.object("energy"), p.unit);

  const json& rules = top.get("scaling_rules");
  if (!rules.is_array()) top.fail("scaling_rules", "an array of strings (may be empty)");
  for (size_t i = 0; i < rules.size(); ++i) {
    if (!rules[i].is_string()) throw InputError(source, fmt::format("scaling_rules[{}]", i), "a string");
    p.scaling_rules.push_back(rules[i].get<std::string>());
  }
  return p;
}

HwProfile load_profile(const std::string& name_or_path) {
  if (const EmbeddedFile* f = shipped_file(profile_files(), name_or_path))
    return parse_profile(f->text, "<embedded>/" + std::string(f->name));
  if (std::filesystem::exists(name_or_path)) return parse_profile(read_file(name_or_path), name_or_path);
  std::string names;
  for (const auto& f : profile_files()) {
    if (!names.empty()) names += ", ";
    names += f.name.substr(0, f.name.size() - 5);
  }
  throw InputError(name_or_path, "", fmt::format("a hardware profile file or a shipped profile name ({})", names));
}

}  // namespace dkm::estimator

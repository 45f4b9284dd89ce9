#include "estimator/profile.hpp"

#include <cmath>
#include <limits>
#include <optional>
#include <vector>

#include <fmt/core.h>

#include "models/input_file.hpp"
#include "models/json_reader.hpp"
#include "models/error.hpp"

namespace dkm::estimator {

namespace {

constexpr std::string_view kFormat = "dkm-hwprofile/1";
constexpr std::string_view kFormat2 = "dkm-hwprofile/2";  // version 1 plus "levels"

// Reads fields of one JSON object at `path` through the shared JsonReader, so that profiles follow the
// rules and wording of every other JSON input ("expected ..., got ..." with the JSON path).
class Reader {
 public:
  Reader(const Json& j, std::string path, const JsonReader& jr) : j_(j), path_(std::move(path)), jr_(jr) {
    jr_.object(j_, path_, "an object");
  }

  // "expected EXPECTED, got ..." for the value at `key` (the object itself for ""), or "expected
  // EXPECTED" when the key is missing.
  [[noreturn]] void fail(const std::string& key, const std::string& expected) const {
    if (key.empty()) jr_.wrong(j_, path_, expected);
    if (auto it = j_.find(key); it != j_.end()) jr_.wrong(*it, at(key), expected);
    jr_.fail(at(key), "expected " + expected);
  }
  std::string at(const std::string& key) const { return key.empty() ? path_ : JsonReader::join(path_, key); }
  const Json& get(const std::string& key) const { return jr_.field(j_, path_, key); }
  Reader object(const std::string& key) const { return Reader(get(key), at(key), jr_); }
  std::string string(const std::string& key) const { return jr_.string(get(key), at(key), "a string"); }
  std::string source(const std::string& key = "source") const {
    std::string s = string(key);
    if (s.empty()) fail(key, "a non-empty source for the numbers beside it");
    return s;
  }
  double number(const std::string& key, double min, bool min_exclusive) const {
    return jr_.number(get(key), at(key), min, std::numeric_limits<double>::max(),
                      fmt::format("a finite number {} {}", min_exclusive ? ">" : ">=", min),
                      min_exclusive ? JsonReader::Ends::open_min : JsonReader::Ends::closed);
  }
  int64_t integer(const std::string& key, int64_t min, int64_t max) const {
    return jr_.integer(get(key), at(key), min, max, fmt::format("an integer in [{}, {}]", min, max));
  }
  void only(const std::vector<std::string_view>& keys) const {
    jr_.check_keys(j_, path_, keys, path_.empty() ? "a hardware profile" : "\"" + path_ + "\"");
  }
  const Json& raw() const { return j_; }
  const JsonReader& json() const { return jr_; }

 private:
  const Json& j_;
  std::string path_;
  const JsonReader& jr_;
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

// {"M": 1, "P": "all"}: per dimension a fixed factor or the whole remaining bound.
std::array<int64_t, kDims> read_factors(const Reader& r, const std::string& key) {
  const Json& j = r.get(key);
  if (!j.is_object()) r.fail(key, "an object of dimension: factor (an integer >= 1 or \"all\")");
  std::array<int64_t, kDims> f{};
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string where = r.at(key) + "." + it.key();
    size_t d = it.key().size() == 1 ? kDimNames.find(it.key()[0]) : std::string_view::npos;
    if (d == std::string_view::npos) r.json().fail(where, fmt::format("expected a dimension N, M, C, P, Q, R or S, got \"{}\"", it.key()));
    if (it->is_string() && it->get<std::string>() == "all") f[d] = kAll;
    else if (it->is_number_integer() && it->get<int64_t>() >= 1 && it->get<int64_t>() <= (int64_t{1} << 40))
      f[d] = it->get<int64_t>();
    else r.json().wrong(*it, where, "an integer factor >= 1 or \"all\"");
  }
  return f;
}

std::string read_dims(const Reader& r, const std::string& key, bool unique_permutation) {
  std::string dims = r.string(key);
  for (size_t i = 0; i < dims.size(); ++i)
    if (kDimNames.find(dims[i]) == std::string_view::npos || dims.find(dims[i]) != i)
      r.fail(key, "dimension letters from NMCPQRS, each at most once");
  if (unique_permutation && !dims.empty() && dims.size() != kDimNames.size())
    r.fail(key, "\"\" (the mapper picks) or all seven of NMCPQRS, innermost first");
  return dims;
}

StorageLevel read_level(const Reader& r, EnergyUnit unit, bool outermost) {
  r.only({"name", "keeps", "capacity", "energy", "fanout", "constraints"});
  StorageLevel l;
  l.name = r.string("name");
  if (l.name.empty() || l.name.find_first_of(" [\n") != std::string::npos)
    r.fail("name", "a non-empty name without spaces or '['");
  const Json& keeps = r.get("keeps");
  if (!keeps.is_array()) r.fail("keeps", "an array of data spaces (\"weights\", \"inputs\", \"outputs\")");
  for (size_t i = 0; i < keeps.size(); ++i) {
    bool ok = false;
    for (int s = 0; s < kSpaces; ++s)
      if (keeps[i].is_string() && keeps[i].get<std::string>() == to_string(static_cast<Space>(s)))
        ok = !l.keeps[static_cast<size_t>(s)] && (l.keeps[static_cast<size_t>(s)] = true);
    if (!ok) r.json().wrong(keeps[i], JsonReader::index(r.at("keeps"), i), "\"weights\", \"inputs\" or \"outputs\", once each");
  }
  if (outermost && !(l.keeps[0] && l.keeps[1] && l.keeps[2]))
    r.fail("keeps", "all three data spaces at the outermost level (DRAM)");

  Reader cap = r.object("capacity");
  cap.only({"words", "word_bits", "source"});
  l.capacity_words = cap.integer("words", outermost ? 0 : 1, int64_t{1} << 40);
  l.word_bits = static_cast<int>(cap.integer("word_bits", 1, 4096));
  l.capacity_source = cap.source();

  Reader e = r.object("energy");
  e.only({"read", "fill", "update", "unit", "per", "word_bits", "source"});
  if (e.string("unit") != to_string(unit)) e.fail("unit", fmt::format("\"{}\" (the profile's energy_unit)", to_string(unit)));
  if (e.string("per") != "word") e.fail("per", "\"word\"");
  const int bits = static_cast<int>(e.integer("word_bits", 1, 4096));
  const std::string src = e.source();
  l.read = {e.number("read", 0, false), bits, src};
  l.fill = {e.number("fill", 0, false), bits, src};
  l.update = {e.number("update", 0, false), bits, src};

  Reader f = r.object("fanout");
  f.only({"x", "y", "forward", "source"});
  l.fanout_x = f.integer("x", 1, 1 << 20);
  l.fanout_y = f.integer("y", 1, 1 << 20);
  // Partial sums meet by spatial reduction, never by forwarding: only read-only data are forwarded.
  const Json& fwd = f.get("forward");
  if (!fwd.is_array()) f.fail("forward", "an array of data spaces (\"weights\", \"inputs\")");
  for (size_t i = 0; i < fwd.size(); ++i) {
    bool ok = false;
    for (int s = 0; s < 2; ++s)
      if (fwd[i].is_string() && fwd[i].get<std::string>() == to_string(static_cast<Space>(s)))
        ok = !l.forwards[static_cast<size_t>(s)] && (l.forwards[static_cast<size_t>(s)] = true);
    if (!ok) r.json().wrong(fwd[i], JsonReader::index(f.at("forward"), i), "\"weights\" or \"inputs\", once each");
  }
  if (l.fanout_x * l.fanout_y == 1 && fwd.size() > 0) f.fail("forward", "[] (no fan-out below this level)");
  l.fanout_source = f.source();

  Reader c = r.object("constraints");
  c.only({"temporal_factors", "temporal_order", "spatial_factors", "spatial_x", "spatial_y", "source"});
  l.constraints.temporal = read_factors(c, "temporal_factors");
  l.constraints.spatial = read_factors(c, "spatial_factors");
  l.constraints.order = read_dims(c, "temporal_order", true);
  l.constraints.spatial_x = read_dims(c, "spatial_x", false);
  l.constraints.spatial_y = read_dims(c, "spatial_y", false);
  if (l.fanout_x == 1 && !l.constraints.spatial_x.empty()) c.fail("spatial_x", "\"\" (fanout.x is 1)");
  if (l.fanout_y == 1 && !l.constraints.spatial_y.empty()) c.fail("spatial_y", "\"\" (fanout.y is 1)");
  l.constraints_source = c.source();
  return l;
}

// A version-1 profile as storage levels: DRAM, the global buffer (what it does not bypass), then the
// per-PE scratchpads in Eyeriss' order (ifmap, weights, psum innermost), under the row-stationary
// constraints of Timeloop's Eyeriss-like exercise (docs/hwprofile.md). Every fill of a scratchpad
// crosses the array network, so it carries the array energy.
std::vector<StorageLevel> derive_levels(const HwProfile& p) {
  auto per_word = [&](const AccessEnergy& e) {
    return AccessEnergy{e.per_bit() * p.act_bits, p.act_bits, e.source};
  };
  auto plus = [](AccessEnergy a, const AccessEnergy& b) {
    a.energy += b.energy;
    a.source += "; plus the array network: " + b.source;
    return a;
  };
  const std::string rs = "row-stationary constraints of Timeloop's Eyeriss-like exercise (2020.ispass), as for version-1 profiles";
  std::vector<StorageLevel> levels;
  StorageLevel dram;
  dram.name = "DRAM";
  dram.keeps = {true, true, true};
  dram.word_bits = p.act_bits;
  dram.capacity_source = "unbounded";
  dram.read = dram.fill = dram.update = per_word(p.dram);
  dram.fanout_source = "no fan-out";
  dram.constraints.temporal[static_cast<size_t>(Dim::R)] = 1;
  dram.constraints.temporal[static_cast<size_t>(Dim::S)] = 1;
  dram.constraints.temporal[static_cast<size_t>(Dim::P)] = 1;
  dram.constraints.order = "RSPCMNQ";
  dram.constraints_source = rs;
  levels.push_back(dram);

  StorageLevel buf;
  buf.name = "buffer";
  buf.keeps = {!p.bypasses_buffer(DataType::weights), !p.bypasses_buffer(DataType::inputs), true};
  buf.word_bits = p.act_bits;
  buf.capacity_words = p.buffer_bytes * 8 / p.act_bits;
  buf.capacity_source = p.buffer_source;
  buf.read = buf.fill = buf.update = per_word(p.buffer);
  buf.fanout_x = p.pe_cols;
  buf.fanout_y = p.pe_rows;
  buf.fanout_source = p.pe_array_source;
  for (Dim d : {Dim::Q, Dim::R, Dim::S}) buf.constraints.temporal[static_cast<size_t>(d)] = 1;
  buf.constraints.temporal[static_cast<size_t>(Dim::P)] = kAll;
  buf.constraints.order = "QRSCPNM";
  buf.constraints.spatial[static_cast<size_t>(Dim::S)] = kAll;
  buf.constraints.spatial_x = "MQ";
  buf.constraints.spatial_y = "CMS";
  buf.constraints_source = rs;
  levels.push_back(buf);

  auto spad = [&](const char* name, Space s, const Scratchpad& sp) {
    StorageLevel l;
    l.name = name;
    l.keeps[static_cast<size_t>(s)] = true;
    l.word_bits = p.act_bits;
    l.capacity_words = sp.words;
    l.capacity_source = sp.source;
    l.read = per_word(sp.energy);
    l.fill = l.update = plus(per_word(sp.energy), per_word(p.array));
    l.fanout_source = "per PE: no fan-out";
    l.constraints.temporal.fill(1);
    l.constraints.order = "NMCPQRS";
    l.constraints_source = rs;
    return l;
  };
  StorageLevel ifmap = spad("ifmap_spad", Space::inputs, p.rf_inputs);
  StorageLevel weights = spad("weights_spad", Space::weights, p.rf_weights);
  weights.constraints.temporal[static_cast<size_t>(Dim::C)] = 0;
  weights.constraints.temporal[static_cast<size_t>(Dim::R)] = kAll;
  weights.constraints.order = "NMPQSCR";
  StorageLevel psum = spad("psum_spad", Space::outputs, p.rf_psums);
  psum.constraints.temporal[static_cast<size_t>(Dim::M)] = 0;
  psum.constraints.order = "NCPQRSM";
  // A psum read for accumulation does not cross the network.
  psum.update = per_word(p.rf_psums.energy);
  levels.push_back(ifmap);
  levels.push_back(weights);
  levels.push_back(psum);
  return levels;
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
  const Json j = parse_json(json_text, source, "a hardware profile");
  const JsonReader jr(source);
  Reader top(j, "", jr);
  const std::string format = top.string("format");
  const bool v2 = format == kFormat2;
  if (format != kFormat && !v2) top.fail("format", fmt::format("\"{}\" or \"{}\"", kFormat, kFormat2));
  if (v2)
    top.only({"format", "name", "description", "energy_unit", "technology", "bits", "pe_array", "mac", "rf",
              "array", "buffer", "dram", "scaling_rules", "levels"});
  else
    top.only({"format", "name", "description", "energy_unit", "technology", "bits", "pe_array", "mac", "rf",
              "array", "buffer", "dram", "scaling_rules"});

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
  const Json& bypass = buffer.get("bypass");
  if (!bypass.is_array()) buffer.fail("bypass", "an array of data types (\"weights\", \"inputs\", \"psums\")");
  for (size_t i = 0; i < bypass.size(); ++i) {
    std::string where = buffer.at(fmt::format("bypass[{}]", i));
    if (!bypass[i].is_string()) jr.wrong(bypass[i], where, "a data type name");
    auto t = parse_data_type(bypass[i].get<std::string>());
    if (!t || *t == DataType::codebook)
      jr.wrong(bypass[i], where, "\"weights\", \"inputs\" or \"psums\"");
    if (*t == DataType::psums)
      jr.wrong(bypass[i], where, "\"weights\" or \"inputs\" (partial sums accumulate in the buffer)");
    p.buffer_bypass[static_cast<size_t>(*t)] = true;
  }
  p.buffer = read_energy(buffer.object("energy"), p.unit);

  Reader dram = top.object("dram");
  dram.only({"energy"});
  p.dram = read_energy(dram.object("energy"), p.unit);

  const Json& rules = top.get("scaling_rules");
  if (!rules.is_array()) top.fail("scaling_rules", "an array of strings (may be empty)");
  for (size_t i = 0; i < rules.size(); ++i) {
    p.scaling_rules.push_back(jr.string(rules[i], JsonReader::index("scaling_rules", i), "a string"));
  }
  if (!v2) {
    p.levels = derive_levels(p);
    return p;
  }
  const Json& levels = top.get("levels");
  if (!levels.is_array() || levels.size() < 2 || levels.size() > 16)
    top.fail("levels", "an array of 2 to 16 storage levels, DRAM first");
  for (size_t i = 0; i < levels.size(); ++i) {
    p.levels.push_back(read_level(Reader(levels[i], JsonReader::index("levels", i), jr), p.unit, i == 0));
    for (size_t j = 0; j < i; ++j)
      if (p.levels[j].name == p.levels[i].name)
        jr.wrong(levels[i]["name"], JsonReader::index("levels", i) + ".name", "a name no other level has");
  }
  for (int s = 0; s < kSpaces; ++s) {
    bool kept = false;
    for (size_t i = 1; i < p.levels.size(); ++i) kept = kept || p.levels[i].keeps[static_cast<size_t>(s)];
    if (!kept)
      jr.fail("levels", fmt::format("expected a level below DRAM that keeps {}, got none", to_string(static_cast<Space>(s))));
  }
  if (p.pes() != p.pe_rows * p.pe_cols)
    jr.fail("levels", fmt::format("expected fan-outs that multiply to pe_array's {} PEs, got {}",
                                   p.pe_rows * p.pe_cols, p.pes()));
  return p;
}

int64_t HwProfile::pes() const {
  int64_t n = 1;
  for (const StorageLevel& l : levels) n *= l.fanout_x * l.fanout_y;
  return n;
}

HwProfile load_profile(const std::string& name_or_path) {
  if (const EmbeddedFile* f = shipped_file(profile_files(), name_or_path))
    return parse_profile(f->text, "<embedded>/" + std::string(f->name));
  if (path_kind(name_or_path) != PathKind::missing)
    return parse_profile(read_file(name_or_path, kMaxTextInputBytes), name_or_path);
  std::string names;
  for (const auto& f : profile_files()) {
    if (!names.empty()) names += ", ";
    names += f.name.substr(0, f.name.size() - 5);
  }
  throw InputError(name_or_path, "", fmt::format("a hardware profile file or a shipped profile name ({})", names));
}

}  // namespace dkm::estimator

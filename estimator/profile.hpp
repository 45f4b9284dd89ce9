#pragma once
// Hardware profiles: the energy of every access and operation of a row-stationary accelerator, with its
// unit, its granularity and its source. Profiles are JSON files ("format": "dkm-hwprofile/1",
// docs/hwprofile.md); the shipped ones (hwprofiles/*.json) are compiled into the binary. Parsing
// validates everything at the boundary: a missing or ill-typed value is a dkm::InputError naming its
// JSON path. There are no built-in default energies.
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "estimator/nest.hpp"
#include "models/embedded.hpp"

namespace dkm::estimator {

enum class EnergyUnit { pj, mac_normalised };
std::string_view to_string(EnergyUnit unit);  // "pJ", "mac_normalised"

// The data types a layer moves. `psums` covers partial sums and the final outputs; `codebook` holds the
// shared centres of a weight-shared layer (zero traffic otherwise).
enum class DataType { weights, inputs, psums, codebook };
inline constexpr std::array<DataType, 4> kDataTypes{DataType::weights, DataType::inputs, DataType::psums,
                                                    DataType::codebook};
std::string_view to_string(DataType type);

// Storage levels, outermost first. `array` is the inter-PE network (multicast counts one access per PE).
enum class Level { dram, buffer, array, rf };
inline constexpr std::array<Level, 4> kLevels{Level::dram, Level::buffer, Level::array, Level::rf};
std::string_view to_string(Level level);

// The energy of one access of `word_bits` bits (word_bits == 1: an energy per bit). Moving b bits costs
// energy * b / word_bits: data are packed into words (the linear-in-width rule of energy.md).
struct AccessEnergy {
  double energy = 0;
  int word_bits = 0;
  std::string source;
  double per_bit() const { return energy / word_bits; }
};

// Per-PE scratchpad of one data type: capacity in words of that type's bit width, and its access energy.
struct Scratchpad {
  int64_t words = 0;
  AccessEnergy energy;
  std::string source;  // of `words`
};

// What the mapper may choose at one storage level (Timeloop's mapspace constraints). Per dimension a
// factor is free (0), fixed (> 0) or the whole remaining bound (kAll).
inline constexpr int64_t kAll = -1;
struct LevelConstraints {
  std::array<int64_t, kDims> temporal{};  // temporal loop factors at this level
  std::array<int64_t, kDims> spatial{};   // spatial factors of the fan-out below this level
  std::string order;                      // temporal loop order, innermost first ("" = the mapper picks)
  std::string spatial_x, spatial_y;       // dimensions each fan-out axis may unroll ("" = none)
};

// One storage level of the accelerator, outermost (DRAM) first: Timeloop's architecture vocabulary.
struct StorageLevel {
  std::string name;
  std::array<bool, kSpaces> keeps{};  // data spaces held here; the others bypass it
  int64_t capacity_words = 0;         // words of word_bits shared by the kept data; 0 = unbounded (DRAM)
  int word_bits = 16;
  std::string capacity_source;
  AccessEnergy read, fill, update;    // per access of one word_bits word
  int64_t fanout_x = 1, fanout_y = 1; // spatial instances below one instance of this level
  std::array<bool, kSpaces> forwards{}; // data the instances below pass between neighbours (LevelCosts)
  std::string fanout_source;
  LevelConstraints constraints;
  std::string constraints_source;
};

struct HwProfile {
  std::string name;
  std::string description;
  std::string file;  // where it was read from, for messages
  EnergyUnit unit = EnergyUnit::mac_normalised;

  int technology_nm = 0;
  std::string technology_source;

  // Default bit widths of weights, activations and partial sums (a model's own widths override the
  // first two; psums keep this width).
  int weight_bits = 0, act_bits = 0, psum_bits = 0;
  std::string bits_source;

  int64_t pe_rows = 0, pe_cols = 0;
  std::string pe_array_source;

  // Energy of one MAC at ref_weight_bits x ref_act_bits; other widths scale by
  // (b_w / ref_weight_bits) * (b_x / ref_act_bits) (the "bit_product" rule, Timeloop's built-in model).
  double mac_energy = 0;
  int ref_weight_bits = 0, ref_act_bits = 0;
  std::string mac_source;

  Scratchpad rf_weights, rf_inputs, rf_psums;  // codebook reads are priced as weight-scratchpad reads
  AccessEnergy array;
  int64_t buffer_bytes = 0;
  std::string buffer_source;
  std::array<bool, 4> buffer_bypass{};  // per DataType: true = DRAM <-> PE array directly
  AccessEnergy buffer;
  AccessEnergy dram;

  std::vector<std::string> scaling_rules;  // every derivation used for the numbers above, in words

  // The storage hierarchy the mapper searches, DRAM first. A "dkm-hwprofile/2" file states it
  // ("levels"); for a "dkm-hwprofile/1" file it is derived from the sections above (docs/hwprofile.md,
  // "Levels of a version-1 profile").
  std::vector<StorageLevel> levels;
  int64_t pes() const;  // product of every level's fan-out

  const Scratchpad& scratchpad(DataType type) const;
  bool bypasses_buffer(DataType type) const { return buffer_bypass[static_cast<size_t>(type)]; }
  // Energy of one MAC at these widths, in `unit`.
  double mac_energy_at(int weight_bits, int act_bits) const;
  // Energy of one access of one datum of `bits` bits at `level` for `type` (RF: that type's scratchpad).
  double access_energy(Level level, DataType type, double bits) const;
};

// Throws dkm::InputError(source, JSON path, expectation) on any missing, ill-typed or out-of-range value.
HwProfile parse_profile(std::string_view json_text, const std::string& source);

// A shipped profile name ("eyeriss-65nm") or a path to a profile file.
HwProfile load_profile(const std::string& name_or_path);

// The profiles compiled into the binary (hwprofiles/*.json).
std::span<const EmbeddedFile> profile_files();

inline constexpr std::string_view kDefaultProfile = "eyeriss-65nm";

}  // namespace dkm::estimator

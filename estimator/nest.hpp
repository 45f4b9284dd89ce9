#pragma once
// A Timeloop-style cost model: a layer is the 7-dimensional problem N, M, C, P, Q, R, S (one group of a
// conv; a linear layer or a matmul is N/M/C/P with R = S = Q = 1), an accelerator is an ordered list of
// storage levels from DRAM inward, and a mapping is, per level, a list of loops (temporal or spatial,
// outermost first) whose bounds multiply to the problem's. `evaluate` counts per level and data space
// the reads, fills and updates per instance exactly as Timeloop v3's nest analysis does (tile deltas
// between consecutive iterations, reuse reset when the stride of the walk changes, multicast of data a
// spatial loop does not index, spatial reduction of outputs), and prices them with the level's energies
// (docs/hwprofile.md, "Loop nests and tiles").
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dkm::estimator {

enum class Dim : uint8_t { N, M, C, P, Q, R, S };
inline constexpr int kDims = 7;
inline constexpr std::string_view kDimNames = "NMCPQRS";

// Timeloop's data spaces.
enum class Space : uint8_t { weights, inputs, outputs };
inline constexpr int kSpaces = 3;
std::string_view to_string(Space s);  // "weights", "inputs", "outputs"

// Whether dimension `d` indexes data space `s` (R and P both index input rows, S and Q input columns).
bool indexes(Space s, Dim d);

// One group of a layer in Timeloop's CNN-Layer form: output rows P pair with kernel rows R (input row =
// P * stride_h + R * dilation_h), output columns Q with kernel columns S.
struct Workload {
  std::array<int64_t, kDims> bound{1, 1, 1, 1, 1, 1, 1};
  int64_t stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int64_t& operator[](Dim d) { return bound[static_cast<size_t>(d)]; }
  int64_t operator[](Dim d) const { return bound[static_cast<size_t>(d)]; }
  int64_t macs() const;
  bool operator==(const Workload&) const = default;
};

enum class LoopKind : uint8_t { temporal, spatial_x, spatial_y };

struct Loop {
  Dim dim = Dim::N;
  int64_t bound = 1;
  LoopKind kind = LoopKind::temporal;
  bool operator==(const Loop&) const = default;
};

// Loops per storage level, outermost level first (index as Architecture::levels); within a level the
// outermost loop first. Spatial loops at a level fan out to the instances of the levels below it.
struct LoopNest {
  std::vector<std::vector<Loop>> levels;
  bool operator==(const LoopNest&) const = default;
};

// What the cost model needs of one storage level (estimator/arch.hpp builds these from a profile).
struct LevelCosts {
  std::string name;
  std::array<bool, kSpaces> keeps{};
  int64_t capacity_words = 0;  // shared by the kept data spaces; 0 = unbounded (DRAM)
  // Energy of one word access, profile unit; per data space (a compressed weight is a narrower word).
  std::array<double, kSpaces> read{}, fill{}, update{};
  // Words a datum of each data space occupies (1 for a full word; index_bits / word_bits when shared).
  std::array<double, kSpaces> words_per_datum{1, 1, 1};
  int64_t fanout_x = 1, fanout_y = 1;  // spatial instances below one instance of this level
  // Data spaces the instances below this level's fan-out pass to their neighbours (a systolic or
  // shifting array): the next outer level keeping such a space sends only what the instances together
  // do not already hold (their tiles taken as one box), not every instance's tile.
  std::array<bool, kSpaces> forwards{};
};

struct SpaceCounts {
  int64_t tile = 0;        // utilized capacity, data (Timeloop's "utilized capacity")
  int64_t partition = 0;   // distinct data one instance holds over the run
  int64_t reads = 0, fills = 0, updates = 0;  // per instance
};

struct LevelResult {
  int64_t instances = 1;   // utilized instances
  std::array<SpaceCounts, kSpaces> space{};
  double energy = 0;       // all instances, profile unit
};

struct NestResult {
  std::vector<LevelResult> levels;  // as Architecture::levels
  int64_t macs = 0;
  int64_t cycles = 0;          // product of the temporal loop bounds (compute-bound, as the reference)
  int64_t pes_used = 0;        // product of the spatial loop bounds
  double mac_energy = 0;
  double energy = 0;           // storage levels + MACs, profile unit
  double utilization(int64_t pes) const {
    return cycles ? static_cast<double>(macs) / (static_cast<double>(cycles) * static_cast<double>(pes)) : 0.0;
  }
};

// Why a mapping is illegal for a workload and levels, or "" when it is legal: loop bounds must multiply
// to the workload's, spatial loops fit each level's fan-out, kept tiles fit each level's capacity.
std::string check_mapping(const Workload& w, const std::vector<LevelCosts>& levels, const LoopNest& m);

// Counts and energy of a legal mapping (check_mapping(...) == ""); mac_energy per MAC in profile unit.
NestResult evaluate(const Workload& w, const std::vector<LevelCosts>& levels, const LoopNest& m, double mac_energy);

// The non-trivial loops of a nest innermost first, each with its level: the form the mapper builds
// directly. evaluate_flat reuses `out`'s storage; it stops early and returns false once the energy is
// certain to exceed `bound` (the mapper's best so far), and `out` is then incomplete. `scale` multiplies
// each data space's access energies (the mapper's lower bound of a partial tiling; 1 for the cost model):
// `innermost` the reads (and updates) at its innermost keeping level, `other` every other access.
struct SpaceScale {
  std::array<double, kSpaces> innermost{1, 1, 1}, other{1, 1, 1};
};
struct FlatLoop {
  int level = 0;
  Loop loop;
};
inline constexpr int kMaxLevels = 16;
std::vector<FlatLoop> flatten(const LoopNest& m);
bool evaluate_flat(const Workload& w, const std::vector<LevelCosts>& levels, std::span<const FlatLoop> inner_first,
                   double mac_energy, NestResult& out, double bound,
                   const SpaceScale& scale = {});

// The mapping as Timeloop prints it (map.txt): levels outermost first, loops indented.
std::string format_loop_nest(const std::vector<LevelCosts>& levels, const LoopNest& m);

// Reads a mapping in Timeloop's map.txt form (as in ../shared/reference/timeloop/maps): a level header
// "NAME [ ... ]" then lines "for D in [0:n)" with an optional "(Spatial-X)" or "(Spatial-Y)". Levels
// not named keep no loops. Throws dkm::InputError naming `source` and the line on anything else.
LoopNest parse_timeloop_map(std::string_view text, const std::vector<LevelCosts>& levels, const std::string& source);

}  // namespace dkm::estimator

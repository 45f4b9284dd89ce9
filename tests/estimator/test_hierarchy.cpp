// The row-stationary hierarchy model: a tiny layer counted by hand, conservation laws on real layer
// shapes, pruning and sharing effects, overflow.
#include <doctest/doctest.h>

#include <vector>

#include "estimator/hierarchy.hpp"
#include "estimator/profile.hpp"
#include "tests/estimator/fixtures.hpp"
#include "models/error.hpp"

using namespace dkm;
using namespace dkm::estimator;

namespace {
int64_t at(const Hierarchy& h, DataType t, Level l) { return h.at(t, l); }
}  // namespace

TEST_CASE("hierarchy counts of a tiny layer, by hand") {
  // 1 channel, 4x4 input, one 3x3 filter, 2x2 output on a 3x2 array: one PE set of 3 filter rows x 2
  // output rows, q = 1 channel, p = 1 filter, one pass.
  const HwProfile hw = test::tiny_profile();
  const Hierarchy h = hierarchy_energy(test::tiny_layer(), {}, hw);
  CHECK(h.mapping.pe_set_rows == 3);
  CHECK(h.mapping.strip_rows == 2);
  CHECK(h.mapping.strips == 1);
  CHECK(h.mapping.active_pes == 6);
  CHECK(h.macs == 36);
  // Weights: 9 from DRAM, 9 from the buffer, each multicast to the 2 PEs of its row, 36 scratchpad reads.
  CHECK(at(h, DataType::weights, Level::dram) == 9);
  CHECK(at(h, DataType::weights, Level::buffer) == 9);
  CHECK(at(h, DataType::weights, Level::array) == 18);
  CHECK(at(h, DataType::weights, Level::rf) == 36);
  // Inputs: 16 from DRAM and buffer; each of the 6 PEs receives one 4-wide row: 24 array accesses.
  CHECK(at(h, DataType::inputs, Level::dram) == 16);
  CHECK(at(h, DataType::inputs, Level::buffer) == 16);
  CHECK(at(h, DataType::inputs, Level::array) == 24);
  CHECK(at(h, DataType::inputs, Level::rf) == 36);
  // Psums: 3 products per PE (2(3-1) = 4 scratchpad accesses) for 3 PEs per output; 2 array hops per
  // output; outputs written to DRAM once.
  CHECK(at(h, DataType::psums, Level::rf) == 4 * 3 * 4);
  CHECK(at(h, DataType::psums, Level::array) == 2 * 4);
  CHECK(at(h, DataType::psums, Level::buffer) == 0);
  CHECK(at(h, DataType::psums, Level::dram) == 4);
  for (Level l : kLevels) CHECK(at(h, DataType::codebook, l) == 0);
  // Energy = counts x costs.
  CHECK(h.mac_energy == 36.0);
  CHECK(h.type_energy(DataType::weights) == 9 * 200.0 + 9 * 6 + 18 * 2 + 36);
  CHECK(h.type_energy(DataType::inputs) == 16 * 200.0 + 16 * 6 + 24 * 2 + 36);
  CHECK(h.type_energy(DataType::psums) == 4 * 200.0 + 8 * 2 + 48);
  CHECK(h.total_energy() == 6206.0);
}

TEST_CASE("hierarchy: batch, groups and bit widths") {
  const HwProfile hw = test::tiny_profile();
  ConvProblem p = test::tiny_layer();
  p.batch = 3;
  const Hierarchy h = hierarchy_energy(p, {}, hw);
  CHECK(h.macs == 3 * 36);
  CHECK(h.mapping.batch_block == 3);  // weights stay in the PEs across the batch
  CHECK(at(h, DataType::weights, Level::dram) == 9);
  CHECK(at(h, DataType::inputs, Level::dram) == 3 * 16);
  CHECK(at(h, DataType::psums, Level::dram) == 3 * 4);

  ConvProblem g = test::conv(1, 4, 4, 4, 3, 1, 0, 2);  // two groups of 2->2 channels
  const Hierarchy hg = hierarchy_energy(g, {}, hw);
  CHECK(hg.macs == g.macs());
  CHECK(at(hg, DataType::weights, Level::rf) == g.macs());
  CHECK(at(hg, DataType::weights, Level::dram) >= g.weights());

  ConvProblem p8 = test::tiny_layer();
  p8.weight_bits = p8.act_bits = 8;
  const Hierarchy h8 = hierarchy_energy(p8, {}, hw);
  CHECK(h8.accesses == hierarchy_energy(test::tiny_layer(), {}, hw).accesses);
  CHECK(h8.mac_energy == 36.0 / 4);
  CHECK(h8.energy_at(DataType::weights, Level::dram) == 9 * 100.0);
  CHECK(h8.energy_at(DataType::psums, Level::dram) == 4 * 200.0);  // psums keep the profile's width
}

TEST_CASE("hierarchy conservation laws on real layer shapes and every shipped profile") {
  const std::vector<ConvProblem> layers{
      test::conv(1, 3, 96, 227, 11, 4, 0),     // AlexNet conv1
      test::conv(4, 96, 256, 27, 5, 1, 2, 2),  // AlexNet conv2 (groups 2), batch 4
      test::conv(1, 128, 256, 56, 3, 1, 1),    // VGG-16 conv3_1
      test::conv(2, 512, 512, 14, 3, 1, 1),    // VGG-16 conv5
      test::conv(1, 32, 32, 112, 3, 1, 1, 32), // depthwise
      test::conv(1, 9216, 4096, 1, 1, 1, 0),   // a fully connected layer as a 1x1 conv
      test::conv(1, 64, 64, 56, 13, 1, 6),     // kernel taller than the PE array: folded
  };
  for (const auto& f : profile_files()) {
    const HwProfile hw = load_profile(std::string(f.name.substr(0, f.name.size() - 5)));  // the bare name
    for (const ConvProblem& p : layers) {
      CAPTURE(hw.name);
      CAPTURE(p.in_channels);
      CAPTURE(p.kernel_h);
      const Hierarchy h = hierarchy_energy(p, {}, hw);
      const int64_t macs = p.macs();
      CHECK(h.macs == macs);
      // Every weight reaches every MAC it feeds, and every MAC reads its input from the scratchpad.
      CHECK(at(h, DataType::weights, Level::rf) == macs);
      CHECK(at(h, DataType::inputs, Level::rf) == macs);
      // Each level delivers at least what the level below needs from it.
      CHECK(at(h, DataType::weights, Level::dram) >= p.weights());
      CHECK(at(h, DataType::weights, Level::array) >= at(h, DataType::weights, Level::dram));
      if (!hw.bypasses_buffer(DataType::weights))
        CHECK(at(h, DataType::weights, Level::buffer) == at(h, DataType::weights, Level::dram));
      CHECK(at(h, DataType::inputs, Level::buffer) >= at(h, DataType::inputs, Level::dram));
      CHECK(at(h, DataType::inputs, Level::array) >= at(h, DataType::inputs, Level::buffer));
      CHECK(at(h, DataType::psums, Level::dram) >= p.outputs());
      // Inputs: with stride <= kernel every real input is read from DRAM at least once.
      CHECK(at(h, DataType::inputs, Level::dram) >= p.inputs());
      // Accumulations are conserved: each MAC either updates a psum in a scratchpad or starts one that
      // is merged over the array, in the buffer or finally written out.
      const int64_t buffer_psums = at(h, DataType::psums, Level::buffer) / 2 +
                                   (h.mapping.psums_stay_in_buffer ? p.outputs() : 0);
      const int64_t dram_merges = h.mapping.psums_stay_in_buffer ? 0 : (at(h, DataType::psums, Level::dram) - p.outputs()) / 2;
      CHECK(at(h, DataType::psums, Level::rf) / 2 + at(h, DataType::psums, Level::array) + buffer_psums + dram_merges +
                (h.mapping.psums_stay_in_buffer ? 0 : p.outputs()) ==
            macs);
      // Weight deliveries to PEs times their reuse in a PE equal the MACs when the batch divides evenly.
      if (p.batch % h.mapping.batch_block == 0)
        CHECK(at(h, DataType::weights, Level::array) * p.out_w * h.mapping.batch_block == macs);
      CHECK(h.mapping.active_pes <= hw.pe_rows * hw.pe_cols);
      CHECK(h.total_energy() > 0);
    }
  }
}

TEST_CASE("hierarchy under pruning (zero gating) and weight sharing") {
  const HwProfile hw = load_profile("eyeriss-65nm");
  const ConvProblem p = test::conv(1, 128, 256, 56, 3, 1, 1);
  const Hierarchy dense = hierarchy_energy(p, {}, hw);

  LayerCompression pruned;
  pruned.density = 0.5;
  const Hierarchy hp = hierarchy_energy(p, pruned, hw);
  CHECK(hp.macs == p.macs() / 2);
  CHECK(at(hp, DataType::weights, Level::dram) == at(dense, DataType::weights, Level::dram) / 2);
  CHECK(at(hp, DataType::inputs, Level::rf) == p.macs() / 2);
  CHECK(at(hp, DataType::inputs, Level::dram) == at(dense, DataType::inputs, Level::dram));
  CHECK(hp.total_energy() < dense.total_energy());

  LayerCompression shared;
  shared.k = 16;
  shared.index_bits = 4;
  const Hierarchy hs = hierarchy_energy(p, shared, hw);
  CHECK(hs.macs == p.macs());
  CHECK(hs.accesses[0] == dense.accesses[0]);  // weights counted as indexes, same number of accesses
  // 4-bit index per 3-weight row in place of 16-bit weights: DRAM weight energy x 4/48.
  CHECK(hs.energy_at(DataType::weights, Level::dram) ==
        doctest::Approx(dense.energy_at(DataType::weights, Level::dram) * 4.0 / 48.0));
  CHECK(at(hs, DataType::codebook, Level::rf) == p.macs());  // one centre read per MAC
  CHECK(at(hs, DataType::codebook, Level::dram) == 16 * 3 * hs.mapping.strips);
  CHECK(at(hs, DataType::codebook, Level::array) > 0);
  CHECK(at(hs, DataType::codebook, Level::array) <= at(hs, DataType::weights, Level::array));
  CHECK(hs.accesses[1] == dense.accesses[1]);
  CHECK(hs.accesses[2] == dense.accesses[2]);
}

TEST_CASE("hierarchy counts that overflow 64 bits are an error, not a wrapped number") {
  const HwProfile hw = test::tiny_profile();
  ConvProblem p = test::tiny_layer();
  p.batch = int64_t{1} << 40;
  p.in_channels = int64_t{1} << 20;
  CHECK_THROWS_AS(hierarchy_energy(p, {}, hw), InputError);
  CHECK_THROWS_WITH_AS(checked_mul(int64_t{1} << 62, 4, "x"), doctest::Contains("overflow"), InputError);
}

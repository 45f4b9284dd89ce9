// The paper's metric (paper.md section 4) on hand-computed layers.
#include <doctest/doctest.h>

#include <vector>

#include "estimator/hierarchy.hpp"
#include "estimator/paper_metric.hpp"
#include "tests/estimator/fixtures.hpp"
#include "models/error.hpp"

using namespace dkm;
using namespace dkm::estimator;

TEST_CASE("Eq. 5: computational cost in full adders") {
  // D*Bw*Bx + (D-1)*(Bx + Bw + ceil(log2 D) - 1)
  CHECK(comp_cost(1, 8, 8) == 64);
  CHECK(comp_cost(4, 8, 8) == 4 * 64 + 3 * (8 + 8 + 2 - 1));
  CHECK(comp_cost(9, 16, 16) == 2304 + 8 * 35);
  CHECK(comp_cost(5, 8, 4) == 5 * 32 + 4 * (4 + 8 + 3 - 1));
  CHECK(comp_cost(1152, 16, 16) == 1152 * 256 + 1151 * (16 + 16 + 11 - 1));
  CHECK_THROWS_AS(comp_cost(0, 8, 8), UsageError);
}

TEST_CASE("paper metric of an uncompressed layer: Eq. 5 exactly, R_w, R_x and the normalisation") {
  const HwProfile hw = test::tiny_profile();
  const ConvProblem p = test::tiny_layer();
  const LoadCounts loads{1.0, 1.0};
  const PaperMetric m = paper_metric(p, {}, loads, hw);
  CHECK(m.dot_products == 4);
  CHECK(m.dot_length == 9);
  CHECK(m.macs == 36);
  CHECK(m.comp_full_adders == 4.0 * 2584);
  CHECK(m.r_w_bits == 9.0 * 16);
  CHECK(m.r_x_bits == 16.0 * 16);
  // Dense at the reference widths: computation = MACs x E_MAC; a bit at the buffer costs 6/16.
  CHECK(m.comp_energy == doctest::Approx(36.0));
  CHECK(m.rep_energy == doctest::Approx((144.0 + 256.0) * 6.0 / 16.0));
  CHECK(m.per_mac() == doctest::Approx((36.0 + 150.0) / 36.0));

  // Load counts scale R_w and R_x linearly.
  const PaperMetric m3 = paper_metric(p, {}, {3.0, 2.0}, hw);
  CHECK(m3.r_w_bits == 3 * 144.0);
  CHECK(m3.r_x_bits == 2 * 256.0);

  // 8-bit layer: C_comp at 8 bits, normalised by the 16-bit full adders per MAC of the same D.
  ConvProblem p8 = p;
  p8.weight_bits = p8.act_bits = 8;
  const PaperMetric m8 = paper_metric(p8, {}, loads, hw);
  CHECK(m8.comp_full_adders == 4.0 * comp_cost(9, 8, 8));
  CHECK(m8.comp_energy == doctest::Approx(4.0 * comp_cost(9, 8, 8) * 9.0 / 2584.0));
  CHECK(m8.r_w_bits == 9.0 * 8);
}

TEST_CASE("load counts come from the row-stationary dataflow") {
  const HwProfile hw = test::tiny_profile();
  const Hierarchy h = hierarchy_energy(test::tiny_layer(), {}, hw);
  CHECK(h.weight_feed_reads == 9);  // every weight read once from the buffer
  CHECK(h.input_feed_reads == 16);  // every activation read once
  // Two filters that do not fit one filter fold: inputs are fetched once per fold.
  ConvProblem p = test::tiny_layer();
  p.out_channels = 4;
  const Hierarchy h4 = hierarchy_energy(p, {}, hw);
  CHECK(h4.mapping.filter_folds == 4);
  CHECK(h4.input_feed_reads == 4 * 16);
}

TEST_CASE("shared products collapse to distinct centres among the kernel rows meeting an input row") {
  // C=1, M=2, 2x2 kernels on a 3x3 input: vectors (o, r) = 0:(0,0) 1:(0,1) 2:(1,0) 3:(1,1).
  // Padded row 0 meets kernel row 0, row 1 meets rows 0 and 1, row 2 meets row 1; each distinct
  // centre costs F*S = 4 products.
  ConvProblem p = test::conv(1, 1, 2, 3, 2, 1, 0);
  REQUIRE(p.macs() == 32);
  LayerCompression c;
  c.k = 2;
  c.index_bits = 1;
  const std::vector<int32_t> same_per_row{0, 1, 0, 1};
  c.labels = same_per_row;
  CHECK(shared_products(p, c) == 4.0 * (1 + 2 + 1));
  const std::vector<int32_t> same_per_filter{0, 0, 1, 1};
  c.labels = same_per_filter;
  CHECK(shared_products(p, c) == 4.0 * (2 + 2 + 2));
  c.k = 4;
  c.index_bits = 2;
  const std::vector<int32_t> all_distinct{0, 1, 2, 3};
  c.labels = all_distinct;
  CHECK(shared_products(p, c) == 32.0);
  // Without labels: the expectation for uniform labels, K(1 - (1 - 1/K)^n) distinct among n.
  c.k = 2;
  c.labels = {};
  CHECK(shared_products(p, c) == doctest::Approx(4.0 * (1.5 + 1.875 + 1.5)));
  // Bad labels are input errors.
  const std::vector<int32_t> out_of_range{0, 1, 2, 1};
  c.labels = out_of_range;
  CHECK_THROWS_AS(shared_products(p, c), InputError);
  const std::vector<int32_t> too_few{0, 1};
  c.labels = too_few;
  CHECK_THROWS_AS(shared_products(p, c), InputError);
}

TEST_CASE("shared products at kernel, filter and scalar granularity") {
  ConvProblem p = test::conv(1, 1, 2, 3, 2, 1, 0);
  LayerCompression c;
  c.k = 2;
  c.index_bits = 1;
  c.granularity = kmeans::Granularity::kernel;  // vectors (o, c): both kernels share one centre
  const std::vector<int32_t> kernels{1, 1};
  c.labels = kernels;
  CHECK(shared_products(p, c) == 16.0);  // one kernel's E*F*R*S products
  c.granularity = kmeans::Granularity::filter;
  c.labels = kernels;
  CHECK(shared_products(p, c) == 16.0);
  c.granularity = kmeans::Granularity::scalar;  // 8 scalars all in centre 0: one product per activation
  const std::vector<int32_t> scalars(8, 0);
  c.labels = scalars;
  CHECK(shared_products(p, c) == 9.0);
}

TEST_CASE("shared products at the group granularity: partial dot products of equal slices") {
  // A linear layer 6 -> 2 (a 1x1 conv on one position): each output's 6 inputs cut into slices of G = 3.
  ConvProblem p = test::conv(1, 6, 2, 1, 1, 1, 0);
  REQUIRE(p.macs() == 12);
  LayerCompression c;
  c.k = 2;
  c.index_bits = 1;
  c.granularity = kmeans::Granularity::group;
  c.group_size = 3;
  CHECK(vector_count(p, c.granularity, c.group_size) == 4);
  // Vectors (o, j) = 0:(0,0) 1:(0,1) 2:(1,0) 3:(1,1). Both outputs share slice 0's centre: 3 products
  // there, 3 + 3 at slice 1.
  const std::vector<int32_t> labels{0, 1, 0, 0};
  c.labels = labels;
  CHECK(shared_products(p, c) == 3.0 + 6.0);
  const std::vector<int32_t> distinct{0, 1, 1, 0};
  c.labels = distinct;
  CHECK(shared_products(p, c) == 12.0);
  // A length that does not divide the inputs is refused.
  c.group_size = 4;
  CHECK_THROWS_AS(vector_count(p, c.granularity, c.group_size), InputError);
}

TEST_CASE("weight sharing lowers R_w by the compression ratio, leaves R_x; pruning lowers all three") {
  const HwProfile hw = test::tiny_profile();
  ConvProblem p = test::conv(1, 16, 32, 8, 3, 1, 1);
  const LoadCounts loads{2.0, 3.0};
  const PaperMetric dense = paper_metric(p, {}, loads, hw);

  LayerCompression shared;
  shared.k = 16;
  shared.index_bits = 4;
  const PaperMetric s = paper_metric(p, shared, loads, hw);
  const double vectors = 32.0 * 16 * 3;
  const double stored = vectors * 4 + 16.0 * 3 * 16;
  const double cr = (vectors * 3 * 16) / stored;
  CHECK(s.weight_bits_stored == stored);
  CHECK(dense.r_w_bits / s.r_w_bits == doctest::Approx(cr));
  CHECK(s.r_x_bits == dense.r_x_bits);
  CHECK(s.comp_full_adders < dense.comp_full_adders);
  CHECK(s.products < static_cast<double>(p.macs()));

  LayerCompression pruned;
  pruned.density = 0.25;
  const PaperMetric q = paper_metric(p, pruned, loads, hw);
  CHECK(q.r_w_bits == doctest::Approx(dense.r_w_bits * 0.25));
  CHECK(q.r_x_bits == doctest::Approx(dense.r_x_bits * 0.25));
  CHECK(q.products == doctest::Approx(0.25 * static_cast<double>(p.macs())));
  const double d_eff = 0.25 * 144;  // 36 terms: ceil(log2 36) = 6
  CHECK(q.comp_full_adders ==
        doctest::Approx(static_cast<double>(p.dot_products()) * (d_eff * 256 + (d_eff - 1) * (16 + 16 + 6 - 1))));
  CHECK(q.total_energy() < dense.total_energy());

  LayerCompression bad;
  bad.density = 0;
  CHECK_THROWS_AS(paper_metric(p, bad, loads, hw), UsageError);
}

TEST_CASE("pruned and shared: the zero centre's saving is counted once") {
  // C = 1, M = 4 filters of 1 x 3 on a 1 x 5 input: E = 1, F = 3, one kernel row per filter, so the 4
  // row vectors (one per filter) all meet the one input row; each distinct non-zero centre costs
  // F * S = 9 products. Zero-norm sparsity p = 0.5: vectors 0 and 2 are in the zero centre (label 0),
  // vectors 1 and 3 in two non-zero centres. Dense: 4 * 3 * 3 = 36 MACs.
  ConvProblem p;
  p.in_channels = 1;
  p.out_channels = 4;
  p.in_h = 1;
  p.in_w = 5;
  p.kernel_h = 1;
  p.kernel_w = 3;
  p.out_h = 1;
  p.out_w = 3;
  REQUIRE(p.macs() == 36);
  const HwProfile hw = test::tiny_profile();
  const LoadCounts loads{1.0, 1.0};
  LayerCompression c;
  c.k = 3;
  c.index_bits = 2;
  c.density = 0.5;
  c.zero_label = 0;
  const std::vector<int32_t> labels{0, 1, 0, 2};
  c.labels = labels;
  // Two distinct non-zero centres meet the row: 2 x 9 = 18 products, the zero centre none. Counting the
  // zero centre as a distinct centre (27) and then scaling by the density (x 0.5 = 13.5) was the bug.
  CHECK(shared_products(p, c) == 18.0);
  CHECK(paper_metric(p, c, loads, hw).products == 18.0);
  // Uniform labels from a plan: a vector is non-zero with probability 0.5 and then on one of the 2
  // non-zero centres: expected distinct non-zero centres among 4 = 2 (1 - (1 - 0.25)^4) = 1.3671875.
  c.labels = {};
  CHECK(paper_metric(p, c, loads, hw).products == doctest::Approx(9 * 1.3671875));
  // Pruning without a zero centre still scales the products by the density.
  LayerCompression scattered = c;
  scattered.zero_label = -1;
  scattered.labels = labels;
  CHECK(paper_metric(p, scattered, loads, hw).products == doctest::Approx(0.5 * 27));
}

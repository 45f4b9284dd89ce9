// Compression ratio three ways, by hand, and the WRN-16-4 plans against paper.md section 3.
#include <doctest/doctest.h>

#include <vector>

#include "estimator/compression_ratio.hpp"
#include "kmeans/compress.hpp"
#include "kmeans/plan.hpp"
#include "models/model.hpp"

using namespace dkm;

TEST_CASE("one layer by hand: 8 vectors of 3, K = 4, histogram {4, 2, 1, 1}, 2 biases") {
  const std::vector<int64_t> hist{4, 2, 1, 1};
  const auto l = estimator::layer_ratio("x", 8, 3, 2, hist, {});
  CHECK(l.original_bits == 8 * 3 * 32 + 2 * 32);  // 832
  CHECK(l.codebook_bits == 4 * 3 * 32);           // 384
  CHECK(l.bias_bits == 64);
  CHECK(l.index_bits.fixed == 16);    // 8 x ceil(log2 4)
  CHECK(l.index_bits.entropy == 14);  // 8 x 1.75
  CHECK(l.index_bits.huffman == 14);  // lengths 1, 2, 3, 3
  CHECK(l.total_bits.fixed == 464);
  CHECK(l.ratio.fixed == doctest::Approx(832.0 / 464));
  CHECK(l.ratio.entropy == doctest::Approx(832.0 / 462));
  // Other counting rules: 8-bit codebook, biases left out.
  estimator::CountingRules r;
  r.codebook_bits = 8;
  r.count_biases = false;
  const auto m = estimator::layer_ratio("x", 8, 3, 2, hist, r);
  CHECK(m.original_bits == 768);
  CHECK(m.total_bits.fixed == 96 + 16);
  // K = 5 needs 3-bit fixed indexes; a uniform histogram's entropy is log2 K.
  const std::vector<int64_t> five{2, 2, 2, 2, 2};
  const auto u = estimator::layer_ratio("u", 10, 1, 0, five, {});
  CHECK(u.index_bits.fixed == 30);
  CHECK(u.index_bits.entropy == doctest::Approx(10 * 2.321928094887362));
  CHECK(u.index_bits.huffman == 24);  // lengths 2, 2, 2, 3, 3
}

TEST_CASE("whole model: kept layers, batch-norm switch, K == N layers stay at 32 bits") {
  const auto model = models::parse_model(R"({"format": "dkm-model/1", "name": "tiny", "input": [1, 6, 6],
    "layers": [{"name": "c", "type": "conv2d", "out_channels": 2, "kernel": 3},
               {"name": "bn", "type": "batchnorm"},
               {"name": "f", "type": "flatten"},
               {"name": "fc", "type": "linear", "out_features": 3}]})", "tiny.json");
  // conv: 2 x 1 x 3 x 3 = 18 weights (6 rows of 3) + 2 biases; fc: 3 x 32 + 3; bn: 4.
  kmeans::CompressedModel cm;
  cm.model = "tiny";
  kmeans::CompressedLayer l;
  l.name = "c";
  l.k = 2;
  l.dim = 3;
  l.weight_shape = {2, 1, 3, 3};
  l.codebook.assign(6, 0.5f);
  l.labels = {0, 0, 0, 1, 1, 1};
  cm.layers.push_back(l);
  const auto r = estimator::compression_ratio(model, cm);
  const double original = (18 + 2 + 96 + 3) * 32.0;
  CHECK(r.original_bits == original);
  CHECK(r.kept_bits == 99 * 32.0);
  // conv after: codebook 6 x 32 + 6 one-bit labels + 2 biases x 32.
  CHECK(r.total_bits.fixed == 99 * 32.0 + 192 + 6 + 64);
  CHECK(r.total_bits.entropy == r.total_bits.fixed);
  CHECK(r.total_bits.huffman == r.total_bits.fixed);
  CHECK(r.ratio.fixed == doctest::Approx(original / (99 * 32.0 + 262)));
  estimator::CountingRules bn;
  bn.count_batchnorm = true;
  const auto with_bn = estimator::compression_ratio(model, cm, bn);
  CHECK(with_bn.original_bits == original + 4 * 32);
  CHECK(with_bn.kept_bits == (99 + 4) * 32.0);
  // K == N: the layer is kept as it is.
  cm.layers[0].k = 6;
  cm.layers[0].labels = {0, 1, 2, 3, 4, 5};
  const auto kept = estimator::compression_ratio(model, cm);
  CHECK(kept.layers.empty());
  CHECK(kept.ratio.fixed == 1.0);
}

TEST_CASE("WRN-16-4 plans: the paper's 43.5 / 45.4 / 48.1 are the sparse-plus-uniform entropy bound") {
  // paper.md section 3 quotes CR about 43.5 / 45.4 / 48.1 for these settings "with a fixed-length or
  // uniform-entropy index bound". What reproduces them is the entropy of the label histogram that the
  // plan implies: floor(pN) vectors in the sparse cluster, the rest spread evenly over K - 1 clusters.
  // Fixed ceil(log2 K)-bit indexes give about half (22.3 / 23.5 / 23.5): the sparsity only pays with
  // entropy coding.
  const auto model = models::load_model("wrn-16-4");
  const double expected_entropy[] = {43.5, 45.4, 48.1};
  const double expected_fixed[] = {22.32, 23.50, 23.50};
  const char* plans[] = {"wrn-16-4-cr45", "wrn-16-4-cr47", "wrn-16-4-cr50"};
  for (int i = 0; i < 3; ++i) {
    CAPTURE(plans[i]);
    const auto settings = kmeans::resolve_plan(kmeans::load_plan(plans[i]), model);
    const auto r = estimator::compression_ratio(model, settings);
    CHECK(r.original_bits == 2747530.0 * 32);  // conv + fc weights and biases, no batch-norm
    CHECK(r.layers.size() == 15);              // conv1 has K == N = 144: kept unchanged
    CHECK(r.ratio.entropy == doctest::Approx(expected_entropy[i]).epsilon(0.001));
    CHECK(r.ratio.fixed == doctest::Approx(expected_fixed[i]).epsilon(0.001));
    CHECK(r.ratio.huffman <= r.ratio.entropy);
  }
}

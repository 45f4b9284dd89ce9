// Pricing a conv_transpose2d layer as the convolution it transposes (docs/hwprofile.md, "Transposed
// convolutions"): the problem's loops, MACs, weights and footprints are the layer's, with the layer's output
// where a conv's input is; both metrics and the mapper price it, compressed or not.
#include <doctest/doctest.h>

#include "estimator/estimate.hpp"
#include "estimator/profile.hpp"
#include "estimator/problem.hpp"
#include "models/model.hpp"

using namespace dkm;
using namespace dkm::estimator;

namespace {

models::Model decoder() {
  return models::parse_model(R"({"format": "dkm-model/1", "name": "dec", "input": [8, 6, 5], "layers": [
      {"name": "up", "type": "conv_transpose2d", "out_channels": 6, "kernel": 3, "stride": 2, "padding": 1,
       "output_padding": 1, "groups": 2},
      {"name": "relu", "type": "relu"},
      {"name": "conv", "type": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1}]})",
                             "dec.json");
}

}  // namespace

TEST_CASE("conv_transpose2d is priced as its adjoint conv: the layer's loops, MACs and weight layout") {
  const models::Model m = decoder();
  const models::Layer& up = m.layers[0];
  REQUIRE(up.output_shape == models::Shape{6, 12, 10});
  const ConvProblem p = conv_problem(m, up, 2);
  CHECK(p.groups == 2);
  CHECK(p.in_channels == 3);   // the layer's M / groups: the problem reads the layer's output
  CHECK(p.out_channels == 4);  // the layer's C_in / groups: the problem's output is the layer's input
  CHECK(p.in_h == 12);
  CHECK(p.in_w == 10);
  CHECK(p.out_h == 6);  // loop bounds P = H_in, Q = W_in
  CHECK(p.out_w == 5);
  CHECK(p.stride_h == 2);
  CHECK(p.pad_top == 1);
  CHECK(p.macs() == 2 * up.macs);
  CHECK(p.weights() == up.weight_count);
  // The weight [C_in, M/g, kH, kW] is the problem's OIHW: a row is kW taps, a group run lies in one C_in row.
  CHECK(vector_dim(p, kmeans::Granularity::row) == 3);
  CHECK(vector_count(p, kmeans::Granularity::row) == up.weight_count / 3);
  CHECK(vector_dim(p, kmeans::Granularity::group, 9) == 9);
}

TEST_CASE("estimate prices a conv_transpose2d layer with both metrics and the mapper, shared or not") {
  const models::Model m = decoder();
  const HwProfile hw = load_profile("eyeriss-like-timeloop");
  EstimateOptions o;
  o.mapper = MapperOptions{Objective::energy};
  const Estimate dense = estimate(m, hw, o);
  REQUIRE(dense.layers.size() == 2);
  const LayerEstimate& up = dense.layers[0];
  CHECK(up.kind == models::LayerKind::conv_transpose2d);
  CHECK(up.paper.total_energy() > 0);
  CHECK(up.hierarchy.total_energy() > 0);
  REQUIRE(up.mapped);
  CHECK(up.mapped->energy() > 0);
  CHECK(dense.totals.macs == m.total_macs());

  LayerCompression c;
  c.k = 4;
  c.granularity = kmeans::Granularity::row;
  c.index_bits = index_bits_for(c.k);
  o.compression["up"] = c;
  const Estimate shared = estimate(m, hw, o);
  CHECK(shared.layers[0].paper.total_energy() < up.paper.total_energy());
  CHECK(shared.layers[0].compression.k == 4);
  CHECK(shared.layers[0].compression.dim == 3);  // row vectors: kW taps
}

// A plan on a model with a transposed conv (docs/plan.md): "conv2d" covers it, its weight [C_in, M/g, kH,
// kW] is cut as a conv weight is, and the settings that assume the OIHW layout are refused by name.
#include <doctest/doctest.h>

#include "kmeans/compress.hpp"
#include "kmeans/plan.hpp"
#include "models/model.hpp"
#include "tests/support.hpp"

using namespace dkm;
using namespace dkm::kmeans;

namespace {

models::Model decoder() {
  return models::parse_model(R"({"format": "dkm-model/1", "name": "dec", "input": [4, 3, 3], "layers": [
      {"name": "up", "type": "conv_transpose2d", "out_channels": 6, "kernel": [3, 2], "stride": 2, "groups": 2},
      {"name": "conv", "type": "conv2d", "out_channels": 2, "kernel": 1}]})",
                             "dec.json");
}

std::string plan_error(const std::string& defaults) {
  const Plan p = parse_plan(R"({"format": "dkm-plan/1", "defaults": )" + defaults + "}", "p.json");
  return test::input_error([&] { resolve_plan(p, decoder()); });
}

}  // namespace

TEST_CASE("plan: a conv_transpose2d layer is a conv weight [C_in, M/groups, kH, kW], cut by row, kernel or group") {
  const models::Model m = decoder();
  CHECK(weight_shape(m.layers[0]) == std::vector<int64_t>{4, 3, 3, 2});
  const Plan p = parse_plan(R"({"format": "dkm-plan/1", "defaults": {"k": 4}})", "p.json");
  const auto settings = resolve_plan(p, m);
  REQUIRE(settings.size() == 2);
  CHECK(settings[0].layer == "up");
  CHECK(settings[0].dim == 2);  // a row: kW taps
  CHECK(settings[0].vectors == 4 * 3 * 3);
  CHECK(settings[1].conv_index == 1);
  const Plan g = parse_plan(R"({"format": "dkm-plan/1", "defaults": {"k": 4, "granularity": "group", "group_size": 3}})",
                            "p.json");
  CHECK(resolve_plan(g, m)[0].vectors == 4 * 3 * 3 * 2 / 3);
}

TEST_CASE("plan: filter granularity, activation weighting and bias correction are refused for conv_transpose2d") {
  CHECK(plan_error(R"({"k": 4, "granularity": "filter"})") ==
        "p.json: defaults: expected granularity row, kernel, scalar or group for the transposed conv layer \"up\" (its "
        "weight is [C_in, M/groups, kH, kW]), got filter");
  CHECK(plan_error(R"({"k": 4, "weighting": "activation"})") ==
        "p.json: defaults: expected no weighting activation or bias_correction for the transposed conv layer \"up\" "
        "(they are defined for conv2d and linear weights)");
  CHECK(plan_error(R"({"k": 4, "granularity": "group", "group_size": 4})") ==
        "p.json: defaults: expected group_size dividing the 18 weights per input channel of layer \"up\" (granularity "
        "group), got 4");
}

// Plans: parsing, every error with its JSON path, resolution against the WRN-16-4 zoo model.
#include <doctest/doctest.h>

#include <string>

#include "kmeans/plan.hpp"
#include "models/error.hpp"
#include "models/model.hpp"

using namespace dkm::kmeans;

namespace {

std::string error_of(const std::string& text) {
  try {
    parse_plan(text, "p.json");
  } catch (const dkm::InputError& e) {
    return e.what();
  }
  return "no error";
}

std::string resolve_error(const std::string& text, const dkm::models::Model& m) {
  try {
    resolve_plan(parse_plan(text, "p.json"), m);
  } catch (const dkm::InputError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("glob matching") {
  CHECK(glob_match("conv1", "conv1"));
  CHECK_FALSE(glob_match("conv1", "conv10"));
  CHECK(glob_match("stage*.conv1", "stage1.block1.conv1"));
  CHECK(glob_match("*shortcut", "stage3.block1.shortcut"));
  CHECK(glob_match("stage?.block2.*", "stage2.block2.conv2"));
  CHECK_FALSE(glob_match("stage?.block2.*", "stage2.block1.conv2"));
  CHECK(glob_match("*", "anything"));
  CHECK(glob_match("a*b*c", "aXbYbZc"));
  CHECK_FALSE(glob_match("a*b*c", "aXbYbZ"));
}

TEST_CASE("the shipped WRN-16-4 CR 47 plan resolves to the reference code's settings") {
  const auto model = dkm::models::load_model("wrn-16-4");
  const auto settings = resolve_plan(load_plan("wrn-16-4-cr47"), model);
  REQUIRE(settings.size() == 16);
  const std::vector<int64_t> n{144,   3072,   12288, 1024,  12288,  12288, 24576,  49152,
                               8192,  49152,  49152, 98304, 196608, 32768, 196608, 196608};
  const std::vector<int64_t> k{144, 90, 80, 50, 30, 30, 100, 50, 10, 50, 50, 7, 6, 12, 7, 7};
  const std::vector<double> p{0, .3, .4, .5, .4, .4, .5, .5, .5, .5, .5, .6, .9, .5, .75, .9};
  for (size_t i = 0; i < 16; ++i) {
    CAPTURE(settings[i].layer);
    CHECK(settings[i].vectors == n[i]);
    CHECK(settings[i].k == k[i]);
    CHECK(settings[i].sparsity == p[i]);
    CHECK(settings[i].seed == 1000 + i);
    CHECK(settings[i].conv_index == static_cast<int64_t>(i));
    CHECK(settings[i].granularity == Granularity::row);
    CHECK(settings[i].init == Init::kmeans_plus_plus);
    CHECK(settings[i].dim == (i == 3 || i == 8 || i == 13 ? 1 : 3));
    CHECK(settings[i].sparsity_variant == (p[i] > 0 ? SparsityVariant::near_mean : SparsityVariant::none));
  }
  CHECK(settings[0].layer == "conv1");
  CHECK(settings[13].layer == "stage3.block1.shortcut");
  // CR 45 and 50 differ from 47 only where paper.md says.
  const auto s45 = resolve_plan(load_plan("wrn-16-4-cr45"), model);
  const auto s50 = resolve_plan(load_plan("wrn-16-4-cr50"), model);
  CHECK(s45[11].k == 30);
  CHECK(s45[12].k == 7);
  CHECK(s45[11].sparsity == 0.62);
  CHECK(s50[11].k == 7);
  CHECK(s50[11].sparsity == 0.87);
}

TEST_CASE("defaults, rules in order, cluster rate, seeds, clamping") {
  const auto model = dkm::models::load_model("wrn-16-4");
  const auto s = resolve_plan(parse_plan(R"({
    "format": "dkm-plan/1",
    "defaults": {"cluster_rate": 0.01, "granularity": "kernel", "seed": 7},
    "layers": [
      {"match": "stage*", "k": 20, "sparsity": 0.5},
      {"match": "stage3.*", "granularity": "scalar", "init": "optimal-1d", "k": 9},
      {"match": "*shortcut", "compress": false},
      {"match": "conv1", "k": 500, "seed": 3}
    ]})", "p.json"), model);
  CHECK(s[0].k == 48);  // 500 clamped to the 48 kernels of conv1
  CHECK(s[0].warning.find("clamped") != std::string::npos);
  CHECK(s[0].seed == 3);
  CHECK(s[1].k == 20);
  CHECK(s[1].granularity == Granularity::kernel);
  CHECK(s[1].vectors == 64 * 16);
  CHECK(s[1].sparsity_variant == SparsityVariant::zero_norm);  // default variant when p > 0
  CHECK(s[1].seed == 7);
  CHECK_FALSE(s[3].compress);
  CHECK(s[11].granularity == Granularity::scalar);
  CHECK(s[11].init == Init::optimal_1d);
  CHECK(s[11].k == 9);
  CHECK(s[11].vectors == 256 * 128 * 9);
  // Cluster rate without rules: round(0.01 N).
  const auto r = resolve_plan(parse_plan(R"({"format": "dkm-plan/1", "defaults": {"cluster_rate": 0.01}})", "p"), model);
  CHECK(r[1].k == 31);  // 0.01 x 3072 = 30.72
  CHECK(r[0].k == 1);   // 1.44 -> 1
  CHECK(r[5].seed == 1005);
}

TEST_CASE("layer_types: linear layers are planned like conv layers, as the 1x1 convolution they equal") {
  const auto model = dkm::models::load_model("lenet5");  // conv1, conv2, ip1 (800 -> 500), ip2 (500 -> 10)
  const auto conv_only = resolve_plan(parse_plan(R"({"format": "dkm-plan/1", "defaults": {"k": 4}})", "p.json"), model);
  REQUIRE(conv_only.size() == 2);
  const auto s = resolve_plan(parse_plan(R"({"format": "dkm-plan/1", "layer_types": ["conv2d", "linear"],
    "defaults": {"k": 4}, "layers": [{"match": "ip1", "granularity": "filter"}]})", "p.json"), model);
  REQUIRE(s.size() == 4);
  CHECK(s[2].layer == "ip1");
  CHECK(s[2].weight_shape == std::vector<int64_t>{500, 800});
  CHECK(s[2].vectors == 500);  // filter: one row of 800 inputs per output feature
  CHECK(s[2].dim == 800);
  CHECK(s[2].seed == 1002);    // index among the covered layers
  CHECK(s[3].granularity == Granularity::row);
  CHECK(s[3].vectors == 5000);  // row of a 1x1 kernel: single values
  CHECK(s[3].dim == 1);
  // Linear only: the conv layers are left alone, and a rule naming one matches nothing.
  const auto fc = resolve_plan(parse_plan(R"({"format": "dkm-plan/1", "layer_types": ["linear"], "defaults": {"k": 4}})", "p"), model);
  REQUIRE(fc.size() == 2);
  CHECK(fc[0].layer == "ip1");
  CHECK(resolve_error(R"({"format": "dkm-plan/1", "layer_types": ["linear"], "defaults": {"k": 4}, "layers": [{"match": "conv1"}]})",
                      model) == "p.json: layers[0].match: expected a name or glob matching a linear layer of model \"lenet5\" "
                                "(ip1, ip2), got \"conv1\", which matches none");
  // Group granularity: vectors of G consecutive inputs of one output feature.
  const auto grouped = resolve_plan(parse_plan(R"({"format": "dkm-plan/1", "layer_types": ["linear"],
    "defaults": {"k": 4, "granularity": "group", "group_size": 50}})", "p"), model);
  CHECK(grouped[0].vectors == 500 * 800 / 50);
  CHECK(grouped[0].dim == 50);
  CHECK(grouped[1].vectors == 10 * 500 / 50);
  CHECK(resolve_error(R"({"format": "dkm-plan/1", "layer_types": ["linear"], "defaults": {"k": 4, "granularity": "group",
    "group_size": 300}})", model) == "p.json: defaults: expected group_size dividing the 800 weights per output channel of "
                                     "layer \"ip1\" (granularity group), got 300");
  CHECK(resolve_error(R"({"format": "dkm-plan/1", "defaults": {"k": 4, "granularity": "group"}})", model) ==
        "p.json: defaults: expected group_size dividing the 25 weights per output channel of layer \"conv1\" "
        "(granularity group), got none");
  CHECK(resolve_error(R"({"format": "dkm-plan/1", "layer_types": ["linear"]})", model) ==
        "p.json: defaults: expected k or cluster_rate for linear layer \"ip1\" (in defaults or a rule), got neither");
}

TEST_CASE("plan errors name the file, the JSON path and what was expected") {
  CHECK(error_of("{") == "p.json: line 1, column 2: expected valid JSON: syntax error while parsing object key - "
                         "unexpected end of input; expected string literal");
  CHECK(error_of("[]") == "p.json: expected a JSON object with \"format\": \"dkm-plan/1\", got an array ([])");
  CHECK(error_of(R"({"layers": []})") == "p.json: expected the key \"format\"");
  CHECK(error_of(R"({"format": "dkm-plan/2"})") == "p.json: format: expected \"dkm-plan/1\", got \"dkm-plan/2\"");
  CHECK(error_of(R"({"format": "dkm-plan/1", "bogus": 1})") ==
        "p.json: bogus: unknown key for a plan; expected one of: format, model, description, layer_types, defaults, layers");
  CHECK(error_of(R"({"format": "dkm-plan/1", "layer_types": []})") ==
        "p.json: layer_types: expected a non-empty array of distinct layer types, each \"conv2d\" or \"linear\", got an "
        "array ([])");
  CHECK(error_of(R"({"format": "dkm-plan/1", "layer_types": ["linear", "matmul"]})") ==
        "p.json: layer_types[1]: expected a non-empty array of distinct layer types, each \"conv2d\" or \"linear\", got "
        "\"matmul\"");
  CHECK(error_of(R"({"format": "dkm-plan/1", "layer_types": ["linear", "linear"]})").starts_with("p.json: layer_types[1]: "));
  CHECK(error_of(R"({"format": "dkm-plan/1", "defaults": {"kk": 1}})") ==
        "p.json: defaults.kk: unknown key for plan defaults (did you mean \"k\"?); expected one of: k, cluster_rate, "
        "granularity, group_size, sparsity, sparsity_variant, init, seed, max_iter, tol, compress, weighting, bias_correction");
  CHECK(error_of(R"({"format": "dkm-plan/1", "layers": [{"match": "a"}, {"match": "b", "k": "8"}]})") ==
        "p.json: layers[1].k: expected a positive integer, got a string (\"8\")");
  CHECK(error_of(R"({"format": "dkm-plan/1", "defaults": {"k": 0}})") == "p.json: defaults.k: expected a positive integer, got 0");
  CHECK(error_of(R"({"format": "dkm-plan/1", "defaults": {"sparsity": 1}})") ==
        "p.json: defaults.sparsity: expected a sparsity in [0, 1), got 1");
  CHECK(error_of(R"({"format": "dkm-plan/1", "defaults": {"cluster_rate": 0}})") ==
        "p.json: defaults.cluster_rate: expected a cluster rate K/N in (0, 1], got 0");
  CHECK(error_of(R"({"format": "dkm-plan/1", "defaults": {"granularity": "pixel"}})") ==
        "p.json: defaults.granularity: expected one of row, kernel, filter, scalar, group, got \"pixel\"");
  CHECK(error_of(R"({"format": "dkm-plan/1", "defaults": {"init": "kmeans"}})") ==
        "p.json: defaults.init: expected one of k-means++, linear, random, optimal-1d, afk-mc2, got \"kmeans\"");
  CHECK(error_of(R"({"format": "dkm-plan/1", "defaults": {"sparsity_variant": "zero"}})") ==
        "p.json: defaults.sparsity_variant: expected one of none, zero-norm, near-mean, got \"zero\"");
  CHECK(error_of(R"({"format": "dkm-plan/1", "defaults": {"seed": -1}})") ==
        "p.json: defaults.seed: expected a non-negative integer, got a number (-1)");
  CHECK(error_of(R"({"format": "dkm-plan/1", "defaults": {"compress": 1}})") ==
        "p.json: defaults.compress: expected true or false, got a number (1)");
  CHECK(error_of(R"({"format": "dkm-plan/1", "defaults": {"k": 4, "cluster_rate": 0.1}})") ==
        "p.json: defaults: expected either k or cluster_rate, got both");
  CHECK(error_of(R"({"format": "dkm-plan/1", "layers": [{"k": 4}]})") == "p.json: layers[0]: expected the key \"match\"");
  CHECK(error_of(R"({"format": "dkm-plan/1", "layers": {}})") == "p.json: layers: expected an array of rules, got an object ({})");

  const auto model = dkm::models::load_model("wrn-16-4");
  CHECK(resolve_error(R"({"format": "dkm-plan/1", "defaults": {"k": 4}, "layers": [{"match": "conv1"}, {"match": "stage9.*"}]})", model)
            .starts_with("p.json: layers[1].match: expected a name or glob matching a conv layer of model \"wrn-16-4\" (conv1, "));
  CHECK(resolve_error(R"({"format": "dkm-plan/1", "defaults": {"k": 4}, "layers": [{"match": "conv1"}, {"match": "stage9.*"}]})", model)
            .ends_with("), got \"stage9.*\", which matches none"));
  CHECK(resolve_error(R"({"format": "dkm-plan/1", "defaults": {"k": 4}, "layers": [{"match": "fc"}]})", model).find("layers[0].match") != std::string::npos);
  CHECK(resolve_error(R"({"format": "dkm-plan/1"})", model) ==
        "p.json: defaults: expected k or cluster_rate for conv layer \"conv1\" (in defaults or a rule), got neither");
  CHECK(resolve_error(R"({"format": "dkm-plan/1", "defaults": {"k": 4}, "layers": [{"match": "conv1", "init": "optimal-1d"}]})", model) ==
        "p.json: layers[0]: expected init optimal-1d only for vectors of length 1, got layer \"conv1\" with length 3 at "
        "granularity row");
  try {
    load_plan("no-such-plan");
    FAIL("no error");
  } catch (const dkm::InputError& e) {
    CHECK(std::string(e.what()).find("wrn-16-4-cr47") != std::string::npos);
  }
}

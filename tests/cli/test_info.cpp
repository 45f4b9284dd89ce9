// `dkm info` and `dkm models` end to end: the JSON shape and values, CSV output, bad specs exit 2.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support.hpp"

using dkm::test::run_dkm;

TEST_CASE("dkm info lenet5 --json: layers and totals") {
  auto r = run_dkm("info lenet5 --json");
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["model"] == "lenet5");
  const auto& layers = j["layers"];
  REQUIRE(layers.size() == 7);
  CHECK(layers[0] == nlohmann::json{{"name", "conv1"}, {"type", "conv2d"}, {"output_shape", {20, 24, 24}},
                                    {"params", 520}, {"macs", 288000}, {"element_ops", 0}});
  CHECK(layers[1]["type"] == "maxpool");
  CHECK(layers[1]["output_shape"] == nlohmann::json{20, 12, 12});
  CHECK(layers[2]["params"] == 25050);
  CHECK(layers[2]["macs"] == 1600000);
  CHECK(layers[1]["element_ops"] == 20 * 12 * 12 * 4);  // a 2x2 max pool: 4 compares per output
  CHECK(layers[4] == nlohmann::json{{"name", "ip1"}, {"type", "linear"}, {"output_shape", {500, 1, 1}},
                                    {"params", 400500}, {"macs", 400000}, {"element_ops", 0}});
  CHECK(layers[5]["type"] == "relu");
  CHECK(layers[6]["output_shape"] == nlohmann::json{10, 1, 1});
  CHECK(j["totals"]["params"] == 431080);
  CHECK(j["totals"]["macs"] == 2293000);
  CHECK(j["totals"]["conv_fc_params"] == 431080);
  CHECK(j["totals"]["bn_params"] == 0);
}

TEST_CASE("dkm info: table on stdout, CSV file, every zoo model") {
  dkm::test::TempDir dir;
  auto r = run_dkm("info resnet18 --csv '" + (dir / "r.csv") + "'");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("layer1.0.conv1") != std::string::npos);
  CHECK(r.out.find("11,689,512") != std::string::npos);  // total params incl. batch norm, as the table shows it
  std::string csv = dkm::test::slurp(dir / "r.csv");
  CHECK(csv.starts_with("name,type,output_shape,params,macs,element_ops\nconv1,conv2d,64x112x112,9408,118013952,0\n"));
  CHECK(csv.find("\ntotal,,,11689512,1814073344,") != std::string::npos);
  for (const char* name : {"lenet5", "wrn-16-4", "alexnet", "vgg16", "googlenet", "resnet18", "resnet50",
                           "mobilenet_v2", "squeezenet1_0"}) {
    CAPTURE(name);
    auto t = run_dkm(std::string("info ") + name);
    CHECK(t.exit_code == 0);
    auto js = run_dkm(std::string("info ") + name + " --json");
    REQUIRE(js.exit_code == 0);
    CHECK(nlohmann::json::parse(js.out)["model"] == name);
  }
}

TEST_CASE("dkm info: a spec file path, and bad specs exit 2 with one located message") {
  dkm::test::TempDir dir;
  std::string good = dir / "tiny.json";
  std::ofstream(good) << R"({"format": "dkm-model/1", "name": "tiny", "input": [1, 4, 4],
    "layers": [{"name": "c", "type": "conv2d", "out_channels": 2, "kernel": 3, "bias": false}]})";
  auto ok = run_dkm("info '" + good + "' --json");
  REQUIRE(ok.exit_code == 0);
  auto j = nlohmann::json::parse(ok.out);
  CHECK(j["model"] == "tiny");
  CHECK(j["totals"]["params"] == 18);
  CHECK(j["totals"]["macs"] == 2 * 4 * 9);

  std::string bad = dir / "bad.json";
  std::ofstream(bad) << R"({"format": "dkm-model/1", "name": "bad", "input": [1, 4, 4],
    "layers": [{"name": "c", "type": "conv2d", "out_channels": 2, "kernel": 5}]})";
  auto r = run_dkm("info '" + bad + "' --json");
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(r.err == "dkm: error: " + bad +
                     ": layers[0].kernel: expected a kernel height no larger than the padded input height (4 + padding 0 "
                     "+ 0 = 4), got 5\n");

  std::ofstream(dir / "empty.json") << "";
  auto e = run_dkm("info '" + (dir / "empty.json") + "'");
  CHECK(e.exit_code == 2);
  CHECK(e.err == "dkm: error: " + (dir / "empty.json") + ": expected a JSON model spec, got an empty file\n");

  auto missing = run_dkm("info resnet51");
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("resnet51: no such file or zoo model") != std::string::npos);
}

TEST_CASE("dkm models: the zoo with its totals") {
  auto r = run_dkm("models --json");
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.out)["models"];
  REQUIRE(j.size() == 9);
  CHECK(j[0]["name"] == "alexnet");
  CHECK(j[0]["input_shape"] == "3x227x227");
  CHECK(j[0]["conv_fc_params"] == 60965224);
  CHECK(j[0]["macs"] == 724406816);
  CHECK(j[5]["name"] == "resnet50");
  CHECK(j[5]["bn_params"] == 53120);
  auto t = run_dkm("models");
  CHECK(t.exit_code == 0);
  CHECK(t.out.find("mobilenet_v2") != std::string::npos);
  CHECK(t.out.find("15,470,264,320") != std::string::npos);
}

// The bad-input catalogue (tests/bad-inputs/catalogue.json): every malformed file gives its exact one-line
// error and exit code, never a crash, an internal error or an output file.
#include <doctest/doctest.h>

#include <filesystem>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/support.hpp"

namespace {

using dkm::test::run_dkm;
using dkm::test::source_path;
using dkm::test::TempDir;
using nlohmann::json;

const std::string kDir = source_path("tests/bad-inputs");

json catalogue() { return json::parse(dkm::test::slurp(kDir + "/catalogue.json")); }

std::string substitute(std::string s, const std::string& out) {
  for (auto [key, value] : {std::pair<std::string, std::string>{"{dir}", kDir}, {"{out}", out}})
    for (size_t at; (at = s.find(key)) != std::string::npos;) s.replace(at, key.size(), value);
  return s;
}

bool built(const json& c) {
#ifdef DKM_HAVE_ONNX
  (void)c;
  return true;
#else
  return c.value("requires", "") != "onnx";
#endif
}

// Runs every case whose file name starts with `prefix`; returns how many ran.
int run_cases(const std::string& prefix) {
  int ran = 0;
  const json all = catalogue();
  for (const json& c : all["cases"]) {
    if (!c["file"].get<std::string>().starts_with(prefix) || !built(c)) continue;
    TempDir out;
    std::string args;
    for (const json& a : c["args"]) args += " '" + substitute(a.get<std::string>(), out.path.string()) + "'";
    auto r = run_dkm(args);
    INFO("case ", c["name"].get<std::string>(), ": dkm", args);
    CHECK(r.exit_code == c["exit"].get<int>());
    std::string expected = substitute(c["stderr"].get<std::string>(), out.path.string());
    CHECK(r.err == (expected.empty() ? "" : expected + "\n"));
    if (c.contains("stdout_contains"))
      CHECK(r.out.find(c["stdout_contains"].get<std::string>()) != std::string::npos);
    if (c["exit"].get<int>() != 0) {
      // Nothing written, not even a temporary file.
      CHECK(std::filesystem::is_empty(out.path));
    }
    ++ran;
  }
  return ran;
}

}  // namespace

TEST_CASE("bad inputs: the catalogue has at least 40 cases and lists every file") {
  json cases = catalogue()["cases"];
  CHECK(cases.size() >= 40);
  std::set<std::string> listed, names;
  for (const json& c : cases) {
    listed.insert(c["file"].get<std::string>());
    CHECK(names.insert(c["name"].get<std::string>()).second);
    CHECK(std::filesystem::exists(kDir + "/" + c["file"].get<std::string>()));
  }
  std::set<std::string> support = {"catalogue.json", "make_bad_inputs.py", "tiny-model.json", "tiny-plan.json",
                                   "tiny-compressed.safetensors"};
  for (const auto& entry : std::filesystem::directory_iterator(kDir)) {
    std::string f = entry.path().filename().string();
    if (!support.contains(f)) CHECK_MESSAGE(listed.contains(f), f, " is not in catalogue.json");
  }
}

TEST_CASE("bad inputs: the base files of the catalogue are valid") {
  CHECK(run_dkm("info '" + kDir + "/tiny-model.json'").exit_code == 0);
  CHECK(run_dkm("estimate '" + kDir + "/tiny-model.json' --plan '" + kDir + "/tiny-plan.json'").exit_code == 0);
  TempDir out;
  CHECK(run_dkm("decompress '" + kDir + "/tiny-compressed.safetensors' -o '" + (out / "w.npz") + "'").exit_code == 0);
}

TEST_CASE("bad inputs: model specs") { CHECK(run_cases("model-") >= 10); }
TEST_CASE("bad inputs: hardware profiles") { CHECK(run_cases("profile-") >= 5); }
TEST_CASE("bad inputs: plans") { CHECK(run_cases("plan-") >= 5); }
TEST_CASE("bad inputs: npy") { CHECK(run_cases("npy-") >= 10); }
TEST_CASE("bad inputs: npz") { CHECK(run_cases("npz-") >= 5); }
TEST_CASE("bad inputs: safetensors") { CHECK(run_cases("st-") >= 5); }
TEST_CASE("bad inputs: compressed container and Huffman stream") { CHECK(run_cases("ct-") >= 10); }
TEST_CASE("bad inputs: run, calibrate and evaluate") { CHECK(run_cases("run-") >= 8); }
TEST_CASE("bad inputs: ONNX") {
#ifdef DKM_HAVE_ONNX
  CHECK(run_cases("onnx-") >= 2);
#else
  CHECK(run_cases("onnx-") == 0);
#endif
}

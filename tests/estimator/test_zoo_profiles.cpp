// Every zoo model on every shipped hardware profile through what the commands run, by their library entry
// points (one mapping search per model and profile): `dkm estimate` with the mapper and `dkm report`
// (reports::run_configuration), the cluster-rate sweep (`dkm sweep`, inside the report), the HTML report
// with its mapping panel, and a comparison row (`dkm compare`). Every conv, linear and matmul layer is
// mapped or counted as having no legal mapping; the weight- and output-stationary profiles map every
// layer. And the per-dataflow table of docs/validation.md, pinned with the tolerance of its printed digits.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <set>
#include <string>

#include <fmt/core.h>

#include "estimator/profile.hpp"
#include "models/model.hpp"
#include "reports/compare.hpp"
#include "reports/html.hpp"
#include "reports/pipeline.hpp"

using namespace dkm;

namespace {

// docs/validation.md, "Mapped energy per dataflow": mapped pJ per MAC of the whole model (batch 1, energy
// objective) on the row-stationary profiles (Timeloop's energies; Horowitz's), the weight-stationary and
// the output-stationary one.
const char* const kDataflowProfiles[] = {"eyeriss-like-timeloop", "horowitz-45nm", "tpu-like-ws", "shidiannao-like-os"};
struct DataflowRow {
  const char* model;
  double per_mac[4];  // as kDataflowProfiles
};
const DataflowRow kDataflowTable[] = {
    {"lenet5", {44.88, 76.07, 78.73, 76.87}},
    {"wrn-16-4", {7.59, 9.87, 9.31, 11.83}},
    {"alexnet", {22.83, 36.35, 36.99, 48.11}},
    {"vgg16", {7.85, 11.02, 9.96, 12.78}},
    {"googlenet", {7.60, 10.59, 9.68, 13.17}},
    {"resnet18", {7.30, 10.08, 9.54, 12.25}},
    {"resnet50", {8.20, 12.77, 10.42, 16.50}},
    {"mobilenet_v2", {17.35, 32.71, 37.10, 32.44}},
    {"squeezenet1_0", {8.32, 12.53, 10.67, 20.05}},
};

// The value as the document prints it: the tolerance is the rounding of the last printed digit.
std::string printed(double value) { return fmt::format("{:.2f}", value); }

bool finite_positive(double v) { return std::isfinite(v) && v > 0; }

// The shipped profile names (hwprofiles/*.json).
std::vector<std::string> shipped_profiles() {
  std::vector<std::string> names;
  for (const auto& f : estimator::profile_files()) names.emplace_back(f.name.substr(0, f.name.size() - 5));
  return names;
}

void check_model_on_every_profile(const std::string& model) {
  const DataflowRow* pinned = nullptr;
  for (const DataflowRow& r : kDataflowTable)
    if (r.model == model) pinned = &r;
  REQUIRE(pinned != nullptr);
  for (const std::string& hw : shipped_profiles()) {
    INFO(model, " on ", hw);
    const reports::Run run = reports::run_configuration({.model = model, .hw = hw});
    const estimator::Totals& t = run.estimate.totals;
    CHECK(finite_positive(t.paper_energy));
    CHECK(finite_positive(t.hierarchy_energy));
    CHECK(finite_positive(t.mapped_energy));
    CHECK(t.mapped_cycles > 0);
    int64_t unmapped = 0;
    for (const estimator::LayerEstimate& l : run.estimate.layers) {
      if (!l.mapped) {
        ++unmapped;
        continue;
      }
      INFO(l.name);
      CHECK(finite_positive(l.mapped->energy()));
    }
    CHECK(unmapped == t.unmapped_layers);
    // A weight- or output-stationary array maps every plain layer: its dataflow is not row-stationary's.
    if (hw == "tpu-like-ws" || hw == "shidiannao-like-os") CHECK(unmapped == 0);

    // The report: the sweep inside it, and the mapping panel naming every mapped layer.
    const reports::ReportInput in = reports::report_input(run, reports::paper_sweep_rates(), "", "test");
    REQUIRE(in.sweep.has_value());
    for (double e : in.sweep->hierarchy_energy) CHECK(finite_positive(e));
    for (double e : in.sweep->paper_energy) CHECK(finite_positive(e));
    const std::string html = reports::render_report(in);
    CHECK(html.find("<details class=\"mappings\">") != std::string::npos);
    for (const reports::ReportLayer& l : in.layers)
      if (!l.mapping.empty()) CHECK(html.find("<li><strong>" + l.name + "</strong>") != std::string::npos);

    reports::Comparison c;
    c.rows.push_back(reports::compare_row(run, "dense"));
    const nlohmann::json j = reports::compare_json(c);
    CHECK(!reports::render_compare(c, "test").empty());
    CHECK(j["configurations"].size() == 1);

    const double per_mac = t.mapped_per_mac();
    for (size_t i = 0; i < std::size(kDataflowProfiles); ++i)
      if (hw == kDataflowProfiles[i]) CHECK(printed(per_mac) == printed(pinned->per_mac[i]));
    MESSAGE(fmt::format("{} {} {:.3f} pJ/MAC mapped, {} unmapped", model, hw, per_mac, unmapped));
  }
}

}  // namespace

TEST_CASE("zoo x profiles: the test covers the whole zoo and the three dataflows are shipped") {
  std::set<std::string> zoo, covered;
  for (const auto& e : models::zoo()) zoo.insert(e.name);
  for (const DataflowRow& r : kDataflowTable) covered.insert(r.model);
  CHECK(zoo == covered);
  const std::vector<std::string> names = shipped_profiles();
  for (const char* hw : kDataflowProfiles) CHECK(std::find(names.begin(), names.end(), hw) != names.end());
}

TEST_CASE("zoo x profiles: lenet5") { check_model_on_every_profile("lenet5"); }
TEST_CASE("zoo x profiles: wrn-16-4") { check_model_on_every_profile("wrn-16-4"); }
TEST_CASE("zoo x profiles: alexnet") { check_model_on_every_profile("alexnet"); }
TEST_CASE("zoo x profiles: vgg16") { check_model_on_every_profile("vgg16"); }
TEST_CASE("zoo x profiles: googlenet") { check_model_on_every_profile("googlenet"); }
TEST_CASE("zoo x profiles: resnet18") { check_model_on_every_profile("resnet18"); }
TEST_CASE("zoo x profiles: resnet50") { check_model_on_every_profile("resnet50"); }
TEST_CASE("zoo x profiles: mobilenet_v2") { check_model_on_every_profile("mobilenet_v2"); }
TEST_CASE("zoo x profiles: squeezenet1_0") { check_model_on_every_profile("squeezenet1_0"); }

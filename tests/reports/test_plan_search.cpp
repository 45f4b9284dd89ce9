// The plan search (reports/plan_search.hpp) on LeNet-5 with random weights, random images and random labels:
// it meets its own --target-cr, keeps a zero accuracy budget, and gives the same plan for any thread count.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "estimator/profile.hpp"
#include "kmeans/compress.hpp"
#include "kmeans/plan.hpp"
#include "models/error.hpp"
#include "reports/plan_search.hpp"

using namespace dkm;

namespace {

struct Fixture {
  models::Model model = models::load_model("lenet5");
  Weights weights = kmeans::random_weights(model, 7);
  runtime::Activations data;
  estimator::HwProfile profile = estimator::load_profile("eyeriss-65nm");

  Fixture() {
    std::mt19937 rng(3);
    std::normal_distribution<float> n(0, 1);
    Tensor x{{6, 1, 28, 28}, {}};
    for (int64_t i = 0; i < x.numel(); ++i) x.values.push_back(n(rng));
    data = runtime::to_activations(model, x, "x.npy");
  }

  reports::PlanSearchOptions options(int threads, bool labels) const {
    reports::PlanSearchOptions o;
    o.candidates = {64, 16, 4};
    o.evaluation.score = runtime::score_rule(model, "", {});
    if (labels) o.evaluation.labels = std::vector<int64_t>{3, 1, 4, 1, 5, 9};
    o.evaluation.threads = threads;
    o.evaluation.weights_source = "random";
    return o;
  }
};

}  // namespace

TEST_CASE("plan search: --target-cr is met by the plan compressed afresh, and the plan is a valid dkm-plan/1") {
  Fixture f;
  auto o = f.options(2, false);
  o.target_cr = 3.0;
  const reports::PlanSearch r = reports::search_plan(f.model, f.weights, f.data, f.profile, o);
  CHECK(r.verified.compression_ratio >= 3.0);
  // The last kept point is the chosen plan: the same size and the same measured quality as the fresh run.
  const reports::CurvePoint* last = nullptr;
  for (const auto& p : r.curve)
    if (p.accepted) last = &p;
  REQUIRE(last);
  CHECK(last->compression_ratio == doctest::Approx(r.verified.compression_ratio).epsilon(1e-12));
  CHECK(last->quality.output_snr_db == r.verified.quality.output_snr_db);
  CHECK(r.verified.energy.hierarchy < r.curve.front().energy.hierarchy);
  // Every conv layer was measured at every candidate below its vector count.
  REQUIRE(r.sensitivity.size() == 2);
  CHECK(r.sensitivity[0].candidates.size() == 3);  // conv1: 100 row vectors
  CHECK(r.sensitivity[1].candidates.size() == 3);
  const auto settings = kmeans::resolve_plan(kmeans::parse_plan(r.plan_json, "p.json"), f.model);
  for (size_t i = 0; i < settings.size(); ++i) CHECK(settings[i].compress == (r.chosen_k[i] != 0));
}

TEST_CASE("plan search: --max-drop 0 keeps the accuracy, and an unreachable SNR keeps the model uncompressed") {
  Fixture f;
  auto o = f.options(1, true);
  o.max_drop_points = 0;
  const reports::PlanSearch r = reports::search_plan(f.model, f.weights, f.data, f.profile, o);
  REQUIRE(r.verified.quality.accuracy_drop_points);
  CHECK(*r.verified.quality.accuracy_drop_points <= 0);
  for (const auto& p : r.curve)
    if (p.accepted) CHECK(p.quality.accuracy_drop_points.value() <= 0);

  auto s = f.options(1, false);
  s.min_snr_db = 400;  // float32 rounding alone stays below this; only "identical" meets it
  const reports::PlanSearch u = reports::search_plan(f.model, f.weights, f.data, f.profile, s);
  for (int64_t k : u.chosen_k) CHECK(k == 0);
  CHECK(u.verified.compression_ratio == 1.0);
  CHECK(std::isinf(u.verified.quality.output_snr_db));
}

TEST_CASE("plan search: the same plan, sensitivities and curve for 1 and 2 threads") {
  Fixture f;
  auto a = f.options(1, true), b = f.options(2, true);
  a.target_cr = b.target_cr = 4.0;
  const reports::PlanSearch ra = reports::search_plan(f.model, f.weights, f.data, f.profile, a);
  const reports::PlanSearch rb = reports::search_plan(f.model, f.weights, f.data, f.profile, b);
  CHECK(ra.plan_json == rb.plan_json);
  REQUIRE(ra.curve.size() == rb.curve.size());
  for (size_t i = 0; i < ra.curve.size(); ++i) {
    CHECK(ra.curve[i].compression_ratio == rb.curve[i].compression_ratio);
    CHECK(ra.curve[i].quality.output_snr_db == rb.curve[i].quality.output_snr_db);
    CHECK(ra.curve[i].energy.hierarchy == rb.curve[i].energy.hierarchy);
  }
  for (size_t l = 0; l < ra.sensitivity.size(); ++l)
    for (size_t c = 0; c < ra.sensitivity[l].candidates.size(); ++c)
      CHECK(ra.sensitivity[l].candidates[c].quality.output_snr_db == rb.sensitivity[l].candidates[c].quality.output_snr_db);
}

TEST_CASE("plan search: contradicting or impossible goals are usage errors") {
  Fixture f;
  auto o = f.options(1, false);
  CHECK_THROWS_AS(reports::search_plan(f.model, f.weights, f.data, f.profile, o), UsageError);  // no goal
  o.max_drop_points = 1;
  CHECK_THROWS_WITH_AS(reports::search_plan(f.model, f.weights, f.data, f.profile, o),
                       doctest::Contains("needs --labels"), UsageError);
  o.max_drop_points.reset();
  o.target_cr = 1000;
  CHECK_THROWS_WITH_AS(reports::search_plan(f.model, f.weights, f.data, f.profile, o),
                       doctest::Contains("not reachable"), UsageError);
}

TEST_CASE("plan search: with statistics each K keeps the better weighting, and the plan says which") {
  Fixture f;
  auto o = f.options(2, false);
  o.target_cr = 3.0;
  o.weightings = {kmeans::Weighting::plain, kmeans::Weighting::activation};
  o.bias_correction = true;
  o.init = kmeans::Init::optimal_1d;  // LeNet-5's convs have 5-wide rows: k-means++ for them
  kmeans::ActivationStats stats;
  stats.model = f.model.name;
  stats.source = "stats";
  for (const auto& l : f.model.layers)
    if (l.kind == models::LayerKind::conv2d) {
      std::vector<double> m2(static_cast<size_t>(l.input_shapes[0].c));
      for (size_t c = 0; c < m2.size(); ++c) m2[c] = 1.0 + 10.0 * double(c % 3);
      stats.layers[l.name] = {std::vector<double>(m2.size(), 0.5), m2};
    }
  o.stats = &stats;
  const reports::PlanSearch r = reports::search_plan(f.model, f.weights, f.data, f.profile, o);
  CHECK(r.verified.compression_ratio >= 3.0);
  for (const auto& l : r.sensitivity)
    for (const auto& c : l.candidates) CHECK((c.weighting == kmeans::Weighting::plain || c.weighting == kmeans::Weighting::activation));
  const auto settings = kmeans::resolve_plan(kmeans::parse_plan(r.plan_json, "p.json"), f.model);
  for (size_t i = 0; i < settings.size(); ++i) {
    if (!settings[i].compress) continue;
    CHECK(settings[i].weighting == r.chosen_weighting[i]);
    CHECK(settings[i].bias_correction);
    CHECK(settings[i].init == kmeans::Init::kmeans_plus_plus);
  }
  // Activation weighting without statistics is refused by name.
  o.stats = nullptr;
  CHECK_THROWS_AS(reports::search_plan(f.model, f.weights, f.data, f.profile, o), UsageError);
}

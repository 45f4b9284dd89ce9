// Times estimator::estimate() (both metrics) over every zoo model with every shipped profile, after
// loading the models once. Usage: dkm_bench_estimator [repeats]. Prints the best of `repeats` wall times.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <vector>

#include <fmt/core.h>

#include "estimator/estimate.hpp"
#include "models/model.hpp"

int main(int argc, char** argv) {
  using namespace dkm;
  const int repeats = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
  std::vector<models::Model> zoo;
  auto t_load = std::chrono::steady_clock::now();
  for (const auto& entry : models::zoo()) zoo.push_back(models::load_model(entry.name));
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();
  std::vector<estimator::HwProfile> profiles;
  for (const auto& f : estimator::profile_files()) profiles.push_back(estimator::load_profile(std::string(f.name)));

  double best_all = 1e300, best_default = 1e300, checksum = 0;
  for (int r = 0; r < repeats; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    for (const auto& m : zoo) checksum += estimator::estimate(m, profiles.front()).totals.hierarchy_energy;
    auto t1 = std::chrono::steady_clock::now();
    for (const auto& p : profiles)
      for (const auto& m : zoo) checksum += estimator::estimate(m, p).totals.paper_energy;
    auto t2 = std::chrono::steady_clock::now();
    best_default = std::min(best_default, std::chrono::duration<double>(t1 - t0).count());
    best_all = std::min(best_all, std::chrono::duration<double>(t2 - t1).count());
  }
  fmt::print("models: {}  profiles: {}  (zoo load {:.3f} s, not timed below)\n", zoo.size(), profiles.size(), load_s);
  fmt::print("estimate, all zoo models, one profile ({}): {:.4f} s\n", profiles.front().name, best_default);
  fmt::print("estimate, all zoo models x all {} profiles: {:.4f} s\n", profiles.size(), best_all);
  fmt::print("checksum {:.6g}\n", checksum);
  return 0;
}

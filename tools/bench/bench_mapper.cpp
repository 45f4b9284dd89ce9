// Times the mapping search (estimator/mapper.hpp) over the 113 Timeloop reference layers on
// eyeriss-like-timeloop, once per objective, one thread. Usage: dkm_bench_mapper TIMELOOP_DIR.
// Prints the wall time per objective and the layer that took longest (docs/benchmarks.md).
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "estimator/mapper.hpp"

int main(int argc, char** argv) {
  using namespace dkm::estimator;
  if (argc < 2) {
    fmt::print(stderr, "usage: dkm_bench_mapper TIMELOOP_DIR\n");
    return 2;
  }
  std::ifstream in(std::string(argv[1]) + "/timeloop-v3-eyeriss-like.csv");
  std::string line;
  std::getline(in, line);
  std::vector<std::pair<std::string, Workload>> layers;
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::vector<std::string> f;
    for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
    Workload w;
    w[Dim::C] = std::stoll(f[2]);
    w[Dim::M] = std::stoll(f[3]);
    w[Dim::R] = std::stoll(f[4]);
    w[Dim::S] = std::stoll(f[5]);
    w[Dim::P] = std::stoll(f[6]);
    w[Dim::Q] = std::stoll(f[7]);
    w.stride_h = w.stride_w = std::stoll(f[8]);
    layers.emplace_back(f[0] + "-" + f[1], w);
  }
  const HwProfile p = load_profile("eyeriss-like-timeloop");
  const auto levels = level_costs(p, {16, 16, 16});
  for (Objective o : {Objective::delay_energy, Objective::energy}) {
    double total = 0, worst = 0;
    int64_t candidates = 0;
    std::string worst_name;
    for (const auto& [name, w] : layers) {
      auto t0 = std::chrono::steady_clock::now();
      MapResult r = search_mapping(w, p, levels, p.mac_energy, {o});
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      total += s;
      candidates += r.candidates;
      if (s > worst) worst = s, worst_name = name;
    }
    fmt::print("{}: {} layers in {:.3f} s ({} mappings priced; slowest {} {:.3f} s)\n", to_string(o), layers.size(),
               total, candidates, worst_name, worst);
  }
  return 0;
}

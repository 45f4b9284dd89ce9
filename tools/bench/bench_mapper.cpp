// Times the mapping search (estimator/mapper.hpp) over the 113 Timeloop reference layers on
// eyeriss-like-timeloop, once per objective, one thread. Usage: dkm_bench_mapper TIMELOOP_DIR [--table].
// Prints the wall time per objective and the layer that took longest (docs/benchmarks.md); with --table
// also the validation table of docs/validation.md (per network, count-weighted pJ/MAC).
// dkm_bench_mapper --zoo [OBJECTIVE [THREADS]]: every conv, linear and matmul layer of every zoo model on
// every shipped profile, identical shapes searched once per model and profile (estimator/layer_mapping.hpp),
// the (profile, model) pairs spread over THREADS threads (default 1).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>

#include "estimator/layer_mapping.hpp"
#include "estimator/mapper.hpp"
#include "models/error.hpp"
#include "models/model.hpp"

namespace {

// Every (profile, model) pair is one job (a MappingCache of its own, as one `dkm estimate` has), handed
// to `threads` workers in a fixed order; prints each job's time, the wall and the process CPU time.
int bench_zoo(dkm::estimator::Objective objective, int threads) {
  using namespace dkm;
  using namespace dkm::estimator;
  const auto wall0 = std::chrono::steady_clock::now();
  const std::clock_t cpu0 = std::clock();
  std::vector<models::Model> zoo;
  for (const auto& entry : models::zoo()) zoo.push_back(models::load_model(entry.name));
  std::vector<HwProfile> profiles;
  for (const auto& f : profile_files()) profiles.push_back(load_profile(std::string(f.name.substr(0, f.name.size() - 5))));
  const size_t jobs = zoo.size() * profiles.size();
  std::vector<std::string> lines(jobs);
  std::vector<double> seconds(jobs);
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t j; (j = next++) < jobs;) {
      const HwProfile& p = profiles[j / zoo.size()];
      const models::Model& m = zoo[j % zoo.size()];
      auto t0 = std::chrono::steady_clock::now();
      MappingCache cache(p, {objective});
      int64_t layers = 0;
      for (const models::Layer& layer : m.layers) {
        if (!layer.has_macs()) continue;
        const ConvProblem prob = conv_problem(m, layer, m.batch);
        try {
          cache.map(workload_of(prob), space_bits(prob, {}, p), p.mac_energy_at(prob.weight_bits, prob.act_bits));
        } catch (const InputError&) {
          // no legal mapping on this profile (counted by `dkm estimate` as layers_without_legal_mapping)
        }
        ++layers;
      }
      seconds[j] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      lines[j] = fmt::format("{} on {}: {} layers, {} searched, {:.3f} s\n", m.name, p.name, layers, cache.searches(), seconds[j]);
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  for (size_t i = 0; i < profiles.size(); ++i) {
    double per_profile = 0;
    for (size_t k = 0; k < zoo.size(); ++k) {
      fmt::print("{}", lines[i * zoo.size() + k]);
      per_profile += seconds[i * zoo.size() + k];
    }
    fmt::print("{}: all {} models in {:.3f} s\n", profiles[i].name, zoo.size(), per_profile);
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  const double cpu = static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC;
  fmt::print("objective {}: {} models x {} profiles, {} threads: {:.3f} s wall, {:.3f} s CPU (models and profiles loaded included)\n",
             to_string(objective), zoo.size(), profiles.size(), threads, wall, cpu);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace dkm::estimator;
  if (argc < 2) {
    fmt::print(stderr, "usage: dkm_bench_mapper TIMELOOP_DIR [--table] | --zoo [OBJECTIVE [THREADS]]\n");
    return 2;
  }
  if (std::string(argv[1]) == "--zoo")
    return bench_zoo(argc > 2 ? parse_objective(argv[2], "OBJECTIVE") : Objective::energy, argc > 3 ? std::stoi(argv[3]) : 1);
  std::ifstream in(std::string(argv[1]) + "/timeloop-v3-eyeriss-like.csv");
  std::string line;
  std::getline(in, line);
  std::vector<std::pair<std::string, Workload>> layers;
  std::vector<std::string> network;
  std::vector<double> tl_pj_per_mac, count;
  std::vector<int64_t> tl_cycles;
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
    network.push_back(f[0]);
    tl_cycles.push_back(std::stoll(f[11]));
    tl_pj_per_mac.push_back(std::stod(f[22]));
    count.push_back(std::stod(f[27]));
  }
  const HwProfile p = load_profile("eyeriss-like-timeloop");
  const auto levels = level_costs(p, {16, 16, 16});
  std::vector<std::vector<double>> per_mac(2);  // dkm pJ/MAC per layer: delay-energy, energy
  std::vector<int64_t> de_cycles;
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
      per_mac[o == Objective::energy ? 1 : 0].push_back(r.cost.energy / static_cast<double>(r.cost.macs));
      if (o == Objective::delay_energy) de_cycles.push_back(r.cost.cycles);
    }
    fmt::print("{}: {} layers in {:.3f} s ({} mappings priced; slowest {} {:.3f} s)\n", to_string(o), layers.size(),
               total, candidates, worst_name, worst);
  }
  if (argc < 3 || std::string(argv[2]) != "--table") return 0;
  // Timeloop's mapping priced by dkm's cost model (its map.txt), for the same-model comparison.
  std::vector<double> own;
  for (const auto& [name, w] : layers) {
    std::ifstream mf(std::string(argv[1]) + "/maps/" + name + ".txt");
    std::stringstream text;
    text << mf.rdbuf();
    NestResult r = evaluate(w, levels, parse_timeloop_map(text.str(), levels, name), p.mac_energy);
    own.push_back(r.energy / static_cast<double>(r.macs));
  }
  auto pearson = [](const std::vector<double>& x, const std::vector<double>& y) {
    double mx = 0, my = 0;
    for (size_t i = 0; i < x.size(); ++i) mx += x[i], my += y[i];
    mx /= static_cast<double>(x.size());
    my /= static_cast<double>(y.size());
    double sxy = 0, sxx = 0, syy = 0;
    for (size_t i = 0; i < x.size(); ++i)
      sxy += (x[i] - mx) * (y[i] - my), sxx += (x[i] - mx) * (x[i] - mx), syy += (y[i] - my) * (y[i] - my);
    return sxy / std::sqrt(sxx * syy);
  };
  fmt::print("\n| network | layers | Timeloop pJ/MAC | dkm on Timeloop's map | dkm delay-energy | ratio | dkm energy | ratio | fewer cycles |\n");
  fmt::print("|---|---|---|---|---|---|---|---|---|\n");
  for (const char* net : {"vgg16", "alexnet", "squeezenet1_0", "mobilenet_v2", "googlenet"}) {
    double macs = 0, tl = 0, ow = 0, de = 0, en = 0;
    int n = 0, faster = 0;
    for (size_t i = 0; i < layers.size(); ++i) {
      if (network[i] != net) continue;
      const double m = static_cast<double>(layers[i].second.macs()) * count[i];
      macs += m, tl += tl_pj_per_mac[i] * m, ow += own[i] * m, de += per_mac[0][i] * m, en += per_mac[1][i] * m;
      ++n;
      faster += de_cycles[i] < tl_cycles[i];
    }
    fmt::print("| {} | {} | {:.3f} | {:.3f} | {:.3f} | {:.3f} | {:.3f} | {:.3f} | {} |\n", net, n, tl / macs, ow / macs,
               de / macs, de / ow, en / macs, en / ow, faster);
  }
  fmt::print("\nPearson r per layer, pJ/MAC: Timeloop vs dkm on Timeloop's map {:.4f}; vs dkm delay-energy {:.4f}; vs dkm energy {:.4f}\n",
             pearson(tl_pj_per_mac, own), pearson(tl_pj_per_mac, per_mac[0]), pearson(tl_pj_per_mac, per_mac[1]));
  double lo = 1e9, hi = 0;
  for (size_t i = 0; i < own.size(); ++i) lo = std::min(lo, per_mac[1][i] / own[i]), hi = std::max(hi, per_mac[1][i] / own[i]);
  fmt::print("energy objective / Timeloop's map, per layer: {:.3f} .. {:.3f}\n", lo, hi);
  return 0;
}

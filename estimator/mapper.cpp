#include "estimator/mapper.hpp"

#include <algorithm>
#include <limits>

#include <fmt/core.h>

#include "models/error.hpp"

namespace dkm::estimator {

namespace {

size_t di(Dim d) { return static_cast<size_t>(d); }

// Where a dimension's factor may go: a level's temporal loops or one axis of its fan-out.
struct Slot {
  int level;
  LoopKind kind;
};

struct Candidate {
  int64_t cycles;
  double energy;
};

bool better(Objective o, const Candidate& a, const Candidate& b) {
  switch (o) {
    case Objective::energy: return a.energy < b.energy || (a.energy == b.energy && a.cycles < b.cycles);
    case Objective::delay:
    case Objective::delay_energy: return a.cycles < b.cycles || (a.cycles == b.cycles && a.energy < b.energy);
    case Objective::edp: {
      double pa = a.energy * static_cast<double>(a.cycles), pb = b.energy * static_cast<double>(b.cycles);
      return pa < pb || (pa == pb && a.cycles < b.cycles);
    }
  }
  return false;
}

std::vector<int64_t> divisors(int64_t n) {
  std::vector<int64_t> d;
  for (int64_t i = 1; i * i <= n; ++i)
    if (n % i == 0) {
      d.push_back(i);
      if (i != n / i) d.push_back(n / i);
    }
  std::sort(d.begin(), d.end());
  return d;
}

// Every ordered way to write n as a product of `slots` divisors.
void factorisations(int64_t n, size_t slots, std::vector<int64_t>& cur, std::vector<std::vector<int64_t>>& out) {
  if (cur.size() + 1 == slots) {
    cur.push_back(n);
    out.push_back(cur);
    cur.pop_back();
    return;
  }
  for (int64_t d : divisors(n)) {
    cur.push_back(d);
    factorisations(n / d, slots, cur, out);
    cur.pop_back();
  }
}

int64_t constraint_of(const LevelConstraints& c, LoopKind kind, Dim d) {
  return kind == LoopKind::temporal ? c.temporal[di(d)] : c.spatial[di(d)];
}

bool axis_allows(const LevelConstraints& c, LoopKind kind, Dim d) {
  char ch = kDimNames[di(d)];
  if (kind == LoopKind::spatial_x) return c.spatial_x.find(ch) != std::string::npos;
  if (kind == LoopKind::spatial_y) return c.spatial_y.find(ch) != std::string::npos;
  return true;
}

class Search {
 public:
  Search(const Workload& w, const HwProfile& p, const std::vector<LevelCosts>& levels, double mac_energy,
         const MapperOptions& o)
      : w_(w), p_(p), levels_(levels), mac_energy_(mac_energy), o_(o), L_(static_cast<int>(levels.size())) {
    factor_.assign(static_cast<size_t>(L_), {});
    for (auto& lv : factor_)
      for (auto& k : lv) k.fill(1);
    for (int d = 0; d < kDims; ++d) plan_dim(static_cast<Dim>(d));
  }

  MapResult run() {
    if (o_.objective == Objective::delay || o_.objective == Objective::delay_energy) {
      counting_ = true;
      assign(0);
      counting_ = false;
      only_pes_ = max_pes_;
    }
    assign(0);
    if (!found_) throw InputError("mapping", "", "a legal mapping under the profile's capacities and constraints (none exists)");
    return best_;
  }

 private:
  // The free slots of a dimension and the factor left for them after the fixed ones.
  void plan_dim(Dim d) {
    int64_t rest = w_[d];
    std::vector<Slot> free, all;
    for (int l = 0; l < L_; ++l) {
      const LevelConstraints& c = p_.levels[static_cast<size_t>(l)].constraints;
      for (LoopKind k : {LoopKind::temporal, LoopKind::spatial_x, LoopKind::spatial_y}) {
        const LevelCosts& lc = levels_[static_cast<size_t>(l)];
        if (k == LoopKind::spatial_x && lc.fanout_x == 1) continue;
        if (k == LoopKind::spatial_y && lc.fanout_y == 1) continue;
        if (!axis_allows(c, k, d)) continue;
        int64_t f = constraint_of(c, k, d);
        if (f == kAll) all.push_back({l, k});
        else if (f == 0) free.push_back({l, k});
        else if (f > 1) {
          if (rest % f != 0) throw InputError("mapping", "", fmt::format("a fixed factor of {} that divides {}", kDimNames[di(d)], w_[d]));
          rest /= f;
          set(l, k, d, f);
        }
      }
    }
    if (!all.empty()) free = {all.front()};  // "all": the remaining bound goes there, every other slot is 1
    if (free.empty()) {
      if (rest != 1) throw InputError("mapping", "", fmt::format("a level that may take a factor of {} (the constraints leave none)", kDimNames[di(d)]));
      return;
    }
    std::vector<int64_t> cur;
    std::vector<std::vector<int64_t>> options;
    factorisations(rest, free.size(), cur, options);
    slots_[di(d)] = free;
    options_[di(d)] = std::move(options);
  }

  int64_t& at(int l, LoopKind k, Dim d) { return factor_[static_cast<size_t>(l)][static_cast<size_t>(k)][di(d)]; }
  void set(int l, LoopKind k, Dim d, int64_t f) { at(l, k, d) = f; }

  // Fan-outs and capacities with the dimensions assigned so far (the rest at 1: a lower bound).
  bool fits() const {
    std::array<int64_t, kDims> ext;
    ext.fill(1);
    for (int l = L_ - 1; l >= 0; --l) {
      const auto& f = factor_[static_cast<size_t>(l)];
      int64_t x = 1, y = 1;
      for (int d = 0; d < kDims; ++d) {
        ext[static_cast<size_t>(d)] *= f[0][static_cast<size_t>(d)] * f[1][static_cast<size_t>(d)] * f[2][static_cast<size_t>(d)];
        x *= f[1][static_cast<size_t>(d)];
        y *= f[2][static_cast<size_t>(d)];
      }
      const LevelCosts& lc = levels_[static_cast<size_t>(l)];
      if (x > lc.fanout_x || y > lc.fanout_y) return false;
      if (lc.capacity_words == 0) continue;
      double words = 0;
      auto E = [&](Dim d) { return ext[di(d)]; };
      if (lc.keeps[0]) words += static_cast<double>(E(Dim::M) * E(Dim::C) * E(Dim::R) * E(Dim::S)) * lc.words_per_datum[0];
      if (lc.keeps[1])
        words += static_cast<double>(E(Dim::N) * E(Dim::C) *
                                     ((E(Dim::P) - 1) * w_.stride_h + (E(Dim::R) - 1) * w_.dilation_h + 1) *
                                     ((E(Dim::Q) - 1) * w_.stride_w + (E(Dim::S) - 1) * w_.dilation_w + 1)) *
                 lc.words_per_datum[1];
      if (lc.keeps[2]) words += static_cast<double>(E(Dim::N) * E(Dim::M) * E(Dim::P) * E(Dim::Q)) * lc.words_per_datum[2];
      if (words > static_cast<double>(lc.capacity_words)) return false;
    }
    return true;
  }

  // Dimensions in a fixed order; each takes every factorisation over its free slots.
  void assign(int d) {
    if (d == kDims) {
      int64_t pes = 1;
      for (const auto& f : factor_)
        for (int k = 1; k < 3; ++k)
          for (int64_t x : f[static_cast<size_t>(k)]) pes *= x;
      if (counting_) max_pes_ = std::max(max_pes_, pes);
      else if (!only_pes_ || pes == only_pes_) orders(0);
      return;
    }
    const auto& slots = slots_[static_cast<size_t>(d)];
    if (slots.empty()) {
      assign(d + 1);
      return;
    }
    for (const auto& opt : options_[static_cast<size_t>(d)]) {
      for (size_t i = 0; i < slots.size(); ++i) set(slots[i].level, slots[i].kind, static_cast<Dim>(d), opt[i]);
      if (fits()) assign(d + 1);
    }
    for (const Slot& s : slots) set(s.level, s.kind, static_cast<Dim>(d), 1);
  }

  // Loop orders: a level's constraint order when it has one; otherwise each of its non-trivial
  // dimensions innermost in turn (the innermost loop decides which data stay; the rest in NMCPQRS order).
  void orders(int l) {
    if (l == L_) {
      price();
      return;
    }
    const auto& f = factor_[static_cast<size_t>(l)][0];
    const std::string& fixed = p_.levels[static_cast<size_t>(l)].constraints.order;
    std::string dims;
    for (char ch : fixed.empty() ? std::string(kDimNames) : fixed)
      if (f[kDimNames.find(ch)] > 1) dims += ch;
    if (!fixed.empty() || dims.size() <= 1) {
      order_[static_cast<size_t>(l)] = dims;
      orders(l + 1);
      return;
    }
    for (size_t i = 0; i < dims.size(); ++i) {
      std::string o(1, dims[i]);
      for (size_t j = 0; j < dims.size(); ++j)
        if (j != i) o += dims[j];
      order_[static_cast<size_t>(l)] = o;
      orders(l + 1);
    }
  }

  LoopNest build() const {
    LoopNest m;
    m.levels.resize(static_cast<size_t>(L_));
    for (int l = 0; l < L_; ++l) {
      auto& loops = m.levels[static_cast<size_t>(l)];
      const auto& f = factor_[static_cast<size_t>(l)];
      const std::string& o = order_[static_cast<size_t>(l)];
      for (auto it = o.rbegin(); it != o.rend(); ++it) {
        Dim d = static_cast<Dim>(kDimNames.find(*it));
        loops.push_back({d, f[0][di(d)], LoopKind::temporal});
      }
      for (LoopKind k : {LoopKind::spatial_x, LoopKind::spatial_y})
        for (int d = 0; d < kDims; ++d)
          if (f[static_cast<size_t>(k)][static_cast<size_t>(d)] > 1)
            loops.push_back({static_cast<Dim>(d), f[static_cast<size_t>(k)][static_cast<size_t>(d)], k});
    }
    return m;
  }

  void price() {
    // The nest innermost first, exactly as build() lays it out outermost first.
    flat_.clear();
    int64_t pes = 1;
    for (int l = L_ - 1; l >= 0; --l) {
      const auto& f = factor_[static_cast<size_t>(l)];
      for (LoopKind k : {LoopKind::spatial_y, LoopKind::spatial_x})
        for (int d = kDims - 1; d >= 0; --d)
          if (f[static_cast<size_t>(k)][static_cast<size_t>(d)] > 1) {
            flat_.push_back({l, {static_cast<Dim>(d), f[static_cast<size_t>(k)][static_cast<size_t>(d)], k}});
            pes *= f[static_cast<size_t>(k)][static_cast<size_t>(d)];
          }
      for (char ch : order_[static_cast<size_t>(l)]) {
        Dim d = static_cast<Dim>(kDimNames.find(ch));
        flat_.push_back({l, {d, f[0][di(d)], LoopKind::temporal}});
      }
    }
    // Only a candidate that can still win is priced to the end (the bound is the best energy at this
    // candidate's cycles: for delay-first objectives every candidate left has the same cycles).
    double bound = std::numeric_limits<double>::infinity();
    if (found_) {
      int64_t cycles = 1;
      for (const FlatLoop& f : flat_)
        if (f.loop.kind == LoopKind::temporal) cycles *= f.loop.bound;
      if (o_.objective == Objective::edp) bound = best_c_.energy * static_cast<double>(best_c_.cycles) / static_cast<double>(cycles);
      else if (o_.objective == Objective::energy || cycles == best_c_.cycles) bound = best_c_.energy;
    }
    ++count_;
    if (!evaluate_flat(w_, levels_, flat_, mac_energy_, scratch_, bound)) return;
    Candidate c{scratch_.cycles, scratch_.energy};
    if (!found_ || better(o_.objective, c, best_c_)) {
      found_ = true;
      best_c_ = c;
      best_.mapping = build();
      best_.cost = scratch_;
    }
    best_.candidates = count_;
  }

  const Workload& w_;
  const HwProfile& p_;
  const std::vector<LevelCosts>& levels_;
  double mac_energy_;
  MapperOptions o_;
  int L_;
  // factor_[level][kind][dim]
  std::vector<std::array<std::array<int64_t, kDims>, 3>> factor_;
  std::array<std::vector<Slot>, kDims> slots_;
  std::array<std::vector<std::vector<int64_t>>, kDims> options_;
  std::array<std::string, 16> order_;
  bool found_ = false;
  Candidate best_c_{};
  MapResult best_;
  int64_t count_ = 0;
  std::vector<FlatLoop> flat_;
  NestResult scratch_;
  // Delay-first objectives: cycles = MACs / PEs used, so only the mappings using the most PEs compete;
  // a first pass without pricing finds that number.
  bool counting_ = false;
  int64_t max_pes_ = 0, only_pes_ = 0;
};

}  // namespace

std::string_view to_string(Objective o) {
  switch (o) {
    case Objective::energy: return "energy";
    case Objective::delay: return "delay";
    case Objective::edp: return "edp";
    case Objective::delay_energy: return "delay-energy";
  }
  return "?";
}

Objective parse_objective(std::string_view text, const std::string& where) {
  for (Objective o : {Objective::energy, Objective::delay, Objective::edp, Objective::delay_energy})
    if (to_string(o) == text) return o;
  throw InputError(where, "", "an objective: energy, delay, edp or delay-energy");
}

std::vector<LevelCosts> level_costs(const HwProfile& profile, const SpaceBits& bits) {
  std::vector<LevelCosts> out;
  const std::array<double, kSpaces> b{bits.weights, bits.inputs, bits.outputs};
  for (const StorageLevel& l : profile.levels) {
    LevelCosts c;
    c.name = l.name;
    c.keeps = l.keeps;
    c.capacity_words = l.capacity_words;
    c.fanout_x = l.fanout_x;
    c.fanout_y = l.fanout_y;
    for (size_t s = 0; s < kSpaces; ++s) {
      c.words_per_datum[s] = b[s] / l.word_bits;
      c.read[s] = l.read.per_bit() * l.word_bits;
      c.fill[s] = l.fill.per_bit() * l.word_bits;
      c.update[s] = l.update.per_bit() * l.word_bits;
    }
    out.push_back(std::move(c));
  }
  return out;
}

MapResult search_mapping(const Workload& w, const HwProfile& profile, const std::vector<LevelCosts>& levels,
                         double mac_energy, const MapperOptions& options) {
  return Search(w, profile, levels, mac_energy, options).run();
}

std::string check_constraints(const HwProfile& profile, const LoopNest& m) {
  if (m.levels.size() != profile.levels.size()) return "a mapping for another number of levels";
  for (size_t l = 0; l < m.levels.size(); ++l) {
    const LevelConstraints& c = profile.levels[l].constraints;
    const std::string& name = profile.levels[l].name;
    std::array<std::array<int64_t, kDims>, 3> f{};
    for (auto& k : f) k.fill(1);
    std::string seen;
    for (const Loop& lp : m.levels[l]) {
      if (lp.bound == 1) continue;
      if (!axis_allows(c, lp.kind, lp.dim))
        return fmt::format("{}: {} may not be unrolled on that axis", name, kDimNames[di(lp.dim)]);
      f[static_cast<size_t>(lp.kind)][di(lp.dim)] *= lp.bound;
      if (lp.kind == LoopKind::temporal) seen.insert(seen.begin(), kDimNames[di(lp.dim)]);
    }
    for (int d = 0; d < kDims; ++d) {
      const size_t i = static_cast<size_t>(d);
      if (c.temporal[i] > 0 && f[0][i] != c.temporal[i])
        return fmt::format("{}: temporal factor {} of {} where the constraints fix {}", name, f[0][i], kDimNames[i], c.temporal[i]);
      if (c.spatial[i] > 0 && f[1][i] * f[2][i] != c.spatial[i])
        return fmt::format("{}: spatial factor {} of {} where the constraints fix {}", name, f[1][i] * f[2][i], kDimNames[i], c.spatial[i]);
    }
    if (!c.order.empty()) {  // the temporal loops, innermost first, must follow the constraint order
      size_t pos = 0;
      for (char ch : seen) {
        size_t at = c.order.find(ch, pos);
        if (at == std::string::npos) return fmt::format("{}: temporal loop order against the constraint {}", name, c.order);
        pos = at;
      }
    }
  }
  return "";
}

}  // namespace dkm::estimator

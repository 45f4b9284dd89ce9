#include "estimator/mapper.hpp"

#include <algorithm>
#include <cmath>
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

// Whether dimension d indexes data space s as an axis of its own (not through a sliding window).
bool plain_axis(Space s, Dim d) {
  if (s == Space::inputs) return d == Dim::N || d == Dim::C;
  return indexes(s, d);
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
    ext_.assign(static_cast<size_t>(L_), {});
    for (auto& e : ext_) e.fill(1);
    if (L_ > kMaxLevels) throw InputError("mapping", "", "at most 16 storage levels");
    for (const StorageLevel& lv : p_.levels) {
      const std::string& order = lv.constraints.order;
      std::vector<int> dims;
      for (char ch : order.empty() ? std::string(kDimNames) : order) dims.push_back(static_cast<int>(kDimNames.find(ch)));
      fixed_order_.push_back(std::move(dims));
    }
    for (int d = 0; d < kDims; ++d) plan_dim(static_cast<Dim>(d));
    // Dimensions with the fewest free slots first (a dimension with one slot is forced): their factors
    // count in every capacity and fan-out check of the dimensions placed after them, so fewer partial
    // tilings that cannot fit are explored.
    for (size_t s = 0; s < kSpaces; ++s) {
      int keeper = -1;
      for (int l = 0; l < L_; ++l)
        if (levels_[static_cast<size_t>(l)].keeps[s]) keeper = l;
      for (size_t d = 0; d < kDims; ++d)
        for (const Slot& sl : slots_[d]) unrolls_below_[s][d] = unrolls_below_[s][d] || (sl.kind != LoopKind::temporal && sl.level >= keeper);
    }
    for (int d = 0; d < kDims; ++d) dim_order_[static_cast<size_t>(d)] = d;
    std::stable_sort(dim_order_.begin(), dim_order_.end(),
                     [&](int a, int b) { return slots_[static_cast<size_t>(a)].size() < slots_[static_cast<size_t>(b)].size(); });
  }

  MapResult run() {
    delay_first_ = o_.objective == Objective::delay || o_.objective == Objective::delay_energy;
    bool fixed_fit = true;  // the constraints' fixed factors alone
    for (int l = 0; l < L_; ++l) fixed_fit = fixed_fit && fits(l);
    if (fixed_fit) assign(0);
    if (!found_) throw InputError("mapping", "", "a legal mapping under the profile's capacities and constraints (none exists)");
    best_.candidates = count_;
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
    // Innermost slot first: a tile only grows as a dimension's factor moves inward, so once a factor
    // at an inner slot overflows a capacity or a fan-out, every larger one does too (assign stops there).
    std::stable_sort(free.begin(), free.end(), [](const Slot& a, const Slot& b) { return a.level > b.level; });
    if (free.size() > kMaxSlots) throw InputError("mapping", "", "at most 48 places for one dimension's factors");
    slots_[di(d)] = free;
    rest_[di(d)] = rest;
    divisors_[di(d)] = divisors(rest);
  }

  int64_t& at(int l, LoopKind k, Dim d) { return factor_[static_cast<size_t>(l)][static_cast<size_t>(k)][di(d)]; }
  // Sets a factor and keeps ext_ (the tile extents at and below each level) in step.
  void set(int l, LoopKind k, Dim d, int64_t f) {
    const int64_t old = at(l, k, d);
    at(l, k, d) = f;
    for (int u = l; u >= 0; --u) ext_[static_cast<size_t>(u)][di(d)] = ext_[static_cast<size_t>(u)][di(d)] / old * f;
  }

  // Fan-outs and capacities with the dimensions assigned so far (the rest at 1: a lower bound), after a
  // change at `level`: only its fan-out and the tiles at it and above it changed.
  bool fits(int level) const {
    const LevelCosts& own = levels_[static_cast<size_t>(level)];
    const auto& f = factor_[static_cast<size_t>(level)];
    int64_t x = 1, y = 1;
    for (int d = 0; d < kDims; ++d) {
      x *= f[1][static_cast<size_t>(d)];
      y *= f[2][static_cast<size_t>(d)];
    }
    if (x > own.fanout_x || y > own.fanout_y) return false;
    for (int l = level; l >= 0; --l) {
      const LevelCosts& lc = levels_[static_cast<size_t>(l)];
      if (lc.capacity_words == 0) continue;
      const auto& ext = ext_[static_cast<size_t>(l)];
      auto E = [&](Dim d) { return ext[di(d)]; };
      double words = 0;
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

  // Spatial instances in use: the product of the spatial factors so far.
  int64_t pes_now() const {
    int64_t pes = 1;
    for (const auto& f : factor_)
      for (int k = 1; k < 3; ++k)
        for (int64_t x : f[static_cast<size_t>(k)]) pes *= x;
    return pes;
  }

  // The most spatial instances a completion can use when dim_order_[i] has `left` of its bound unplaced
  // and the dimensions after it all of theirs: per fan-out axis, what is unrolled there times every
  // unplaced factor that may go there, up to the axis' fan-out.
  int64_t most_pes(int i, int64_t left) const {
    int64_t pes = 1;
    for (int l = 0; l < L_; ++l)
      for (int k = 1; k < 3; ++k) {
        const LevelCosts& lc = levels_[static_cast<size_t>(l)];
        const int64_t fanout = k == 1 ? lc.fanout_x : lc.fanout_y;
        int64_t used = 1;
        for (int64_t x : factor_[static_cast<size_t>(l)][static_cast<size_t>(k)]) used *= x;
        for (int j = i; j < kDims && used < fanout; ++j) {
          const int d = dim_order_[static_cast<size_t>(j)];
          for (const Slot& sl : slots_[static_cast<size_t>(d)])
            if (sl.level == l && static_cast<int>(sl.kind) == k) used *= j == i ? left : rest_[static_cast<size_t>(d)];
        }
        pes *= std::min(used, fanout);
      }
    return pes;
  }

  // Dimensions in dim_order_; each takes every factorisation over its free slots, inner slot first.
  // Delay-first objectives stop where even every factor left unrolled cannot reach the most PEs so far.
  void assign(int i) {
    if (i == kDims) {
      leaf();
      return;
    }
    const int d = dim_order_[static_cast<size_t>(i)];
    if (cannot_win(i, rest_[static_cast<size_t>(d)])) return;
    const auto& slots = slots_[static_cast<size_t>(d)];
    if (slots.empty()) assign(i + 1);
    else place(i, 0, rest_[static_cast<size_t>(d)]);
  }

  // Slot i of dimension d takes each divisor of what is left that fits; the outermost slot takes the rest.
  void place(int at, size_t i, int64_t left) {
    const int d = dim_order_[static_cast<size_t>(at)];
    const Dim dim = static_cast<Dim>(d);
    const auto& slots = slots_[static_cast<size_t>(d)];
    const Slot& s = slots[i];
    if (i + 1 == slots.size()) {
      set(s.level, s.kind, dim, left);
      if (fits(s.level)) assign(at + 1);
      set(s.level, s.kind, dim, 1);
      return;
    }
    // Largest inner factor that fits first (most reuse: a good bound early prunes the pricing of the
    // rest); the divisors that fit are a prefix of the ascending list.
    std::vector<int64_t>& ds = divisor_buffer_[static_cast<size_t>(at) * kMaxSlots + i];
    ds.clear();
    for (int64_t x : divisors_[static_cast<size_t>(d)])
      if (left % x == 0) ds.push_back(x);
    size_t fit = 0;
    for (; fit < ds.size(); ++fit) {
      set(s.level, s.kind, dim, ds[fit]);
      if (!fits(s.level)) break;  // tiles and fan-outs grow with f
    }
    for (size_t j = fit; j-- > 0;) {
      set(s.level, s.kind, dim, ds[j]);
      if (!cannot_win(at, left / ds[j])) place(at, i + 1, left / ds[j]);
    }
    set(s.level, s.kind, dim, 1);
  }

  // Whether no completion can beat the best, when dim_order_[i] has `left` of its bound unplaced (its
  // outer slots) and the dimensions after it all of theirs.
  // The bound prices the placed tiling alone, on the layer with the unplaced dimensions at their fixed
  // factors: putting the rest of a dimension's bound back into the nest adds loops, and an added loop
  // only adds data (a dimension that indexes a data space as a plain axis multiplies its accesses at
  // every level by at least its factor: disjoint data per index, reuse kept or broken) or re-fetches
  // (one that does not index it; sliding-window axes are counted as not indexing, factor 1). So the
  // scaled energies are a lower bound, the cycles are at least MACs / (the most PEs still reachable),
  // and a subtree whose bound cannot beat the best so far is skipped without changing the result.
  bool cannot_win(int i, int64_t left) {
    const int64_t most = most_pes(i, left);
    if (delay_first_ && max_pes_ > 0 && most < max_pes_) return true;
    if (!found_ || (delay_first_ && most > max_pes_)) return false;  // fewer cycles may still come
    Workload sub = w_;
    SpaceScale scale;
    int64_t unplaced = 1;
    for (int j = i; j < kDims; ++j) {
      const int d = dim_order_[static_cast<size_t>(j)];
      const int64_t r = j == i ? left : rest_[static_cast<size_t>(d)];
      sub.bound[static_cast<size_t>(d)] /= r;
      unplaced *= r;
      for (size_t s = 0; s < kSpaces; ++s) {
        if (plain_axis(static_cast<Space>(s), static_cast<Dim>(d))) scale.other[s] *= static_cast<double>(r);
        // The reads at the innermost keeping level are MACs / (instances below it that share a datum):
        // they grow with r unless d may be unrolled below that level without indexing the space.
        if (indexes(static_cast<Space>(s), static_cast<Dim>(d)) || !unrolls_below_[s][static_cast<size_t>(d)])
          scale.innermost[s] *= static_cast<double>(r);
      }
    }
    if (unplaced == 1) return false;
    // The energy a completion must stay under to win, less the MACs' (the same for every completion).
    const double margin = best_c_.energy * 1e-9;  // the bound sums in another order than the pricing
    double threshold = best_c_.energy + margin;
    if (o_.objective == Objective::edp) threshold *= static_cast<double>(best_c_.cycles) / static_cast<double>((w_.macs() + most - 1) / most);
    threshold_ = threshold - static_cast<double>(w_.macs()) * mac_energy_;
    sub_ = &sub;
    scale_ = scale;
    can_win_ = false;
    bounding_ = true;
    orders(0);
    bounding_ = false;
    sub_ = &w_;
    return !can_win_;
  }

  // A complete tiling. Delay-first objectives: cycles = MACs / PEs used, so only the tilings using the
  // most PEs compete; a tiling using more than the best so far restarts the competition.
  void leaf() {
    const int64_t pes = pes_now();
    if (delay_first_) {
      if (pes < max_pes_) return;
      if (pes > max_pes_) {
        max_pes_ = pes;
        found_ = false;
      }
    }
    orders(0);
  }

  // Loop orders: a level's constraint order when it has one; otherwise each of its non-trivial
  // dimensions innermost in turn (the innermost loop decides which data stay; the rest in NMCPQRS order).
  void orders(int l) {
    if (l == L_) {
      if (bounding_) bound();
      else price();
      return;
    }
    if (bounding_ && can_win_) return;  // one order that can win is enough
    const auto& f = factor_[static_cast<size_t>(l)][0];
    const std::string& fixed = p_.levels[static_cast<size_t>(l)].constraints.order;
    Order dims;
    for (int d : fixed_order_[static_cast<size_t>(l)])
      if (f[static_cast<size_t>(d)] > 1) dims.push(d);
    Order& o = order_[static_cast<size_t>(l)];
    if (!fixed.empty() || dims.n <= 1) {
      o = dims;
      orders(l + 1);
      return;
    }
    for (int i = 0; i < dims.n; ++i) {
      o.n = 0;
      o.push(dims.d[static_cast<size_t>(i)]);
      for (int j = 0; j < dims.n; ++j)
        if (j != i) o.push(dims.d[static_cast<size_t>(j)]);
      orders(l + 1);
    }
  }

  LoopNest build() const {
    LoopNest m;
    m.levels.resize(static_cast<size_t>(L_));
    for (int l = 0; l < L_; ++l) {
      auto& loops = m.levels[static_cast<size_t>(l)];
      const auto& f = factor_[static_cast<size_t>(l)];
      const Order& o = order_[static_cast<size_t>(l)];
      for (int j = o.n; j-- > 0;) {
        const Dim d = static_cast<Dim>(o.d[static_cast<size_t>(j)]);
        loops.push_back({d, f[0][di(d)], LoopKind::temporal});
      }
      for (LoopKind k : {LoopKind::spatial_x, LoopKind::spatial_y})
        for (int d = 0; d < kDims; ++d)
          if (f[static_cast<size_t>(k)][static_cast<size_t>(d)] > 1)
            loops.push_back({static_cast<Dim>(d), f[static_cast<size_t>(k)][static_cast<size_t>(d)], k});
    }
    return m;
  }

  // The placed tiling on the reduced layer, its data-space energies scaled (cannot_win).
  void bound() {
    flatten_current();
    if (evaluate_flat(*sub_, levels_, flat_, 0.0, scratch_, threshold_, scale_)) can_win_ = true;
  }

  // The nest innermost first, exactly as build() lays it out outermost first.
  void flatten_current() {
    flat_.clear();
    for (int l = L_ - 1; l >= 0; --l) {
      const auto& f = factor_[static_cast<size_t>(l)];
      for (LoopKind k : {LoopKind::spatial_y, LoopKind::spatial_x})
        for (int d = kDims - 1; d >= 0; --d)
          if (f[static_cast<size_t>(k)][static_cast<size_t>(d)] > 1)
            flat_.push_back({l, {static_cast<Dim>(d), f[static_cast<size_t>(k)][static_cast<size_t>(d)], k}});
      const Order& o = order_[static_cast<size_t>(l)];
      for (int j = 0; j < o.n; ++j) {
        const Dim d = static_cast<Dim>(o.d[static_cast<size_t>(j)]);
        flat_.push_back({l, {d, f[0][di(d)], LoopKind::temporal}});
      }
    }
  }

  void price() {
    flatten_current();
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
  }

  const Workload& w_;
  const HwProfile& p_;
  const std::vector<LevelCosts>& levels_;
  double mac_energy_;
  MapperOptions o_;
  int L_;
  // factor_[level][kind][dim]
  std::vector<std::array<std::array<int64_t, kDims>, 3>> factor_;
  std::vector<std::array<int64_t, kDims>> ext_;  // ext_[level][dim]: product of the factors at and below
  static constexpr size_t kMaxSlots = 48;
  std::array<std::vector<int64_t>, kDims> divisors_;                  // of rest_, ascending
  std::array<std::vector<int64_t>, kDims * kMaxSlots> divisor_buffer_;  // per dimension and slot: of what is left
  std::array<std::vector<Slot>, kDims> slots_;
  std::array<int64_t, kDims> rest_{};
  std::array<int, kDims> dim_order_{};
  // A level's temporal loop order, innermost first, as dimension indexes.
  struct Order {
    std::array<int, kDims> d{};
    int n = 0;
    void push(int x) { d[static_cast<size_t>(n++)] = x; }
  };
  std::array<Order, kMaxLevels> order_;
  std::vector<std::vector<int>> fixed_order_;  // per level: its constraint order, or NMCPQRS
  bool found_ = false;
  Candidate best_c_{};
  MapResult best_;
  int64_t count_ = 0;
  std::vector<FlatLoop> flat_;
  NestResult scratch_;
  bool delay_first_ = false;
  int64_t max_pes_ = 0;
  // cannot_win's state: the reduced layer, the scale per data space, the energy to stay under, the answer.
  bool bounding_ = false;
  const Workload* sub_ = &w_;
  SpaceScale scale_;
  // unrolls_below_[space][dim]: the dimension has a spatial slot at or below the space's innermost keeper.
  std::array<std::array<bool, kDims>, kSpaces> unrolls_below_{};
  double threshold_ = 0;
  bool can_win_ = false;
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
    c.forwards = l.forwards;
    const double codebook_words = std::ceil(bits.codebook / l.word_bits);
    if (c.keeps[0] && c.capacity_words > 0 && codebook_words > 0 &&
        codebook_words + std::ceil(bits.weights / l.word_bits) <= static_cast<double>(c.capacity_words))
      c.capacity_words -= static_cast<int64_t>(codebook_words);
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

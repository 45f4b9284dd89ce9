#include "estimator/nest.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <vector>

#include <fmt/core.h>

#include "models/error.hpp"

namespace dkm::estimator {

namespace {

using Coords = std::array<int64_t, 4>;  // a data-space point or extent (4 axes for every data space)
using Extents = std::array<int64_t, kDims>;

size_t idx(Dim d) { return static_cast<size_t>(d); }

// The box of data space `s` that a box of the operation space with extents `e` touches. Inputs are
// Timeloop's axis-aligned hyper-rectangle: rows (P-1)*stride + (R-1)*dilation + 1 even where the stride
// skips rows, as Timeloop counts them.
Coords tile_of(Space s, const Workload& w, const Extents& e) {
  auto E = [&](Dim d) { return e[idx(d)]; };
  switch (s) {
    case Space::weights: return {E(Dim::M), E(Dim::C), E(Dim::R), E(Dim::S)};
    case Space::outputs: return {E(Dim::N), E(Dim::M), E(Dim::P), E(Dim::Q)};
    case Space::inputs:
      return {E(Dim::N), E(Dim::C), (E(Dim::P) - 1) * w.stride_h + (E(Dim::R) - 1) * w.dilation_h + 1,
              (E(Dim::Q) - 1) * w.stride_w + (E(Dim::S) - 1) * w.dilation_w + 1};
  }
  return {};
}

// The translation of data space `s` that a step `t` of the operation space causes (linear in t).
Coords shift_of(Space s, const Workload& w, const Extents& t) {
  auto T = [&](Dim d) { return t[idx(d)]; };
  switch (s) {
    case Space::weights: return {T(Dim::M), T(Dim::C), T(Dim::R), T(Dim::S)};
    case Space::outputs: return {T(Dim::N), T(Dim::M), T(Dim::P), T(Dim::Q)};
    case Space::inputs:
      return {T(Dim::N), T(Dim::C), T(Dim::P) * w.stride_h + T(Dim::R) * w.dilation_h,
              T(Dim::Q) * w.stride_w + T(Dim::S) * w.dilation_w};
  }
  return {};
}

int64_t volume(const Coords& c) { return c[0] * c[1] * c[2] * c[3]; }

// The data a storage level receives over the run: Timeloop walks the temporal loops above the level,
// visiting iteration 0 and iteration 1 of each loop and scaling the latter by (bound - 1). Between
// consecutive tiles it counts the data not already held; when the translation between tiles differs from
// the previous one, the held data are discarded and the whole tile counts (reset on stride change).
constexpr int kMaxWalk = 48;

class DeltaWalk {
 public:
  // taus[i], bounds[i]: the translation entering iteration 1 of loop i and its bound, innermost first.
  DeltaWalk(const Coords& tile, const Coords* taus, const int64_t* bounds, int k)
      : size_(volume(tile)), bounds_(bounds), k_(k), generation_(++generation()) {
    for (int i = 0; i < k; ++i) {
      int64_t o = 1;
      for (size_t a = 0; a < 4; ++a) o *= std::max<int64_t>(0, tile[a] - std::abs(taus[i][a]));
      partial_[i] = size_ - o;
      // Equal translations share a class, so following one is an integer compare.
      cls_[i] = i;
      for (int q = 0; q < i; ++q)
        if (taus[q] == taus[i]) {
          cls_[i] = cls_[q];
          break;
        }
    }
    std::vector<Memo>& memo = table();
    const size_t states = static_cast<size_t>(k + 1) * static_cast<size_t>(k + 1) * static_cast<size_t>(k + 1);
    if (memo.size() < states) memo.resize(states);
  }

  int64_t total() { return walk(k_, -1, -1).sum; }

 private:
  struct Step {
    int64_t sum;
    int pt;  // the translation the reuse is following (an index into the taus), -1 for none
  };
  struct Memo {
    Step step;
    uint64_t generation = 0;  // the walk that wrote it; older entries are stale
  };
  // The walk is a function of (loops left, entry, followed translation): memoised it visits each state
  // once instead of 2^k leaves. One table per thread, reused by every walk (a generation marks its own
  // entries, so nothing is cleared between walks).
  static std::vector<Memo>& table() {
    thread_local std::vector<Memo> memo;
    return memo;
  }
  static uint64_t& generation() {
    thread_local uint64_t g = 0;
    return g;
  }

  Step leaf(int entry, int pt) const {
    if (entry < 0) return {size_, -1};
    if (pt < 0 || pt == entry || cls_[pt] == cls_[entry]) return {partial_[entry], pt < 0 ? entry : pt};
    return {size_, -1};
  }

  // Loops 0 .. j-1 (innermost first), entered with translation `entry` while following `pt`.
  Step walk(int j, int entry, int pt) {
    if (j == 0) return leaf(entry, pt);
    const size_t n = static_cast<size_t>(k_ + 1);
    Memo& m = table()[(static_cast<size_t>(j) * n + static_cast<size_t>(entry + 1)) * n + static_cast<size_t>(pt + 1)];
    if (m.generation == generation_) return m.step;
    Step first = walk(j - 1, entry, pt);
    Step rest = walk(j - 1, j - 1, first.pt);
    m = {{first.sum + (bounds_[j - 1] - 1) * rest.sum, rest.pt}, generation_};
    return m.step;
  }

  int64_t size_;
  const int64_t* bounds_;
  int k_;
  uint64_t generation_;
  std::array<int64_t, kMaxWalk> partial_{};
  std::array<int, kMaxWalk> cls_{};
};

}  // namespace

// All non-trivial loops innermost first.
std::vector<FlatLoop> flatten(const LoopNest& m) {
  std::vector<FlatLoop> nest;
  for (int l = static_cast<int>(m.levels.size()) - 1; l >= 0; --l) {
    const auto& loops = m.levels[static_cast<size_t>(l)];
    for (auto it = loops.rbegin(); it != loops.rend(); ++it)
      if (it->bound > 1) nest.push_back({l, *it});
  }
  return nest;
}

std::string_view to_string(Space s) {
  switch (s) {
    case Space::weights: return "weights";
    case Space::inputs: return "inputs";
    case Space::outputs: return "outputs";
  }
  return "?";
}

bool indexes(Space s, Dim d) {
  switch (s) {
    case Space::weights: return d == Dim::M || d == Dim::C || d == Dim::R || d == Dim::S;
    case Space::outputs: return d == Dim::N || d == Dim::M || d == Dim::P || d == Dim::Q;
    case Space::inputs: return d != Dim::M;
  }
  return false;
}

int64_t Workload::macs() const {
  int64_t m = 1;
  for (int64_t b : bound) m *= b;
  return m;
}

std::string check_mapping(const Workload& w, const std::vector<LevelCosts>& levels, const LoopNest& m) {
  if (m.levels.size() != levels.size())
    return fmt::format("{} levels of loops for {} storage levels", m.levels.size(), levels.size());
  Extents product;
  product.fill(1);
  for (size_t l = 0; l < levels.size(); ++l) {
    int64_t x = 1, y = 1;
    for (const Loop& lp : m.levels[l]) {
      if (lp.bound < 1) return fmt::format("{}: a loop bound below 1", levels[l].name);
      product[idx(lp.dim)] *= lp.bound;
      if (lp.kind == LoopKind::spatial_x) x *= lp.bound;
      if (lp.kind == LoopKind::spatial_y) y *= lp.bound;
    }
    if (x > levels[l].fanout_x || y > levels[l].fanout_y)
      return fmt::format("{}: spatial loops {} x {} exceed its fan-out {} x {}", levels[l].name, x, y,
                         levels[l].fanout_x, levels[l].fanout_y);
  }
  for (int d = 0; d < kDims; ++d)
    if (product[static_cast<size_t>(d)] != w.bound[static_cast<size_t>(d)])
      return fmt::format("the loops over {} multiply to {}, not the layer's {}", kDimNames[static_cast<size_t>(d)],
                         product[static_cast<size_t>(d)], w.bound[static_cast<size_t>(d)]);
  // Kept tiles against capacities.
  Extents ext;
  ext.fill(1);
  for (int l = static_cast<int>(levels.size()) - 1; l >= 0; --l) {
    for (const Loop& lp : m.levels[static_cast<size_t>(l)]) ext[idx(lp.dim)] *= lp.bound;
    const LevelCosts& lc = levels[static_cast<size_t>(l)];
    if (lc.capacity_words == 0) continue;
    double words = 0;
    for (int s = 0; s < kSpaces; ++s)
      if (lc.keeps[static_cast<size_t>(s)])
        words += static_cast<double>(volume(tile_of(static_cast<Space>(s), w, ext))) *
                 lc.words_per_datum[static_cast<size_t>(s)];
    if (words > static_cast<double>(lc.capacity_words))
      return fmt::format("{}: tiles of {} words exceed its {} words", lc.name, words, lc.capacity_words);
  }
  return "";
}

NestResult evaluate(const Workload& w, const std::vector<LevelCosts>& levels, const LoopNest& m, double mac_energy) {
  NestResult r;
  const std::vector<FlatLoop> nest = flatten(m);
  evaluate_flat(w, levels, nest, mac_energy, r, std::numeric_limits<double>::infinity());
  return r;
}

bool evaluate_flat(const Workload& w, const std::vector<LevelCosts>& levels, std::span<const FlatLoop> nest,
                   double mac_energy, NestResult& r, double bound, const SpaceScale& scale) {
  const int L = static_cast<int>(levels.size());
  const int n = static_cast<int>(nest.size());
  if (L > kMaxLevels || n > kMaxWalk) throw InputError("mapping", "", "at most 16 levels and 48 loops");
  r.levels.resize(static_cast<size_t>(L));
  r.macs = w.macs();
  r.cycles = 1;
  r.pes_used = 1;
  r.energy = 0;
  std::array<int64_t, kMaxWalk> step;  // a loop's stride: the product of the inner loops over its dimension
  {
    Extents run;
    run.fill(1);
    for (int i = 0; i < n; ++i) {
      const Loop& lp = nest[static_cast<size_t>(i)].loop;
      step[static_cast<size_t>(i)] = run[idx(lp.dim)];
      run[idx(lp.dim)] *= lp.bound;
      if (lp.kind == LoopKind::temporal) r.cycles *= lp.bound;
      else r.pes_used *= lp.bound;
    }
  }
  // Instances: product of the spatial loops at outer levels. Tile extents: product of loops at or below.
  std::array<Extents, kMaxLevels> ext, whole;
  for (int l = 0; l < L; ++l) {
    Extents& e = ext[static_cast<size_t>(l)];
    Extents& a = whole[static_cast<size_t>(l)];
    e.fill(1);
    a.fill(1);
    int64_t inst = 1;
    for (const FlatLoop& f : nest) {
      if (f.level >= l) e[idx(f.loop.dim)] *= f.loop.bound;
      else if (f.loop.kind == LoopKind::temporal) a[idx(f.loop.dim)] *= f.loop.bound;
      else inst *= f.loop.bound;
    }
    for (size_t d = 0; d < kDims; ++d) a[d] *= e[d];
    r.levels[static_cast<size_t>(l)].instances = inst;
  }

  // The spatial loops between two levels (from `outer` inclusive to `inner` exclusive) that index data
  // space s (distinct data per instance) and that do not (multicast or spatial reduction).
  auto spatial_between = [&](Space s, int outer, int inner, bool want_indexed) {
    int64_t p = 1;
    for (const FlatLoop& f : nest)
      if (f.loop.kind != LoopKind::temporal && f.level >= outer && f.level < inner && indexes(s, f.loop.dim) == want_indexed)
        p *= f.loop.bound;
    return p;
  };
  std::array<int, kSpaces> innermost;  // each data space's innermost keeping level, -1 for none
  for (int si = 0; si < kSpaces; ++si) {
    innermost[static_cast<size_t>(si)] = -1;
    for (int l = 0; l < L; ++l)
      if (levels[static_cast<size_t>(l)].keeps[static_cast<size_t>(si)]) innermost[static_cast<size_t>(si)] = l;
  }
  // One instance's accesses of one data space at a level, priced (scaled by `scale`; x 1.0 is exact).
  auto access_energy = [&](int l, Space s, int64_t reads, int64_t fills, int64_t updates) {
    const LevelCosts& lc = levels[static_cast<size_t>(l)];
    const auto i = static_cast<size_t>(s);
    const double used = innermost[i] == l ? scale.innermost[i] : scale.other[i];
    return (static_cast<double>(reads) * lc.read[i] * used + static_cast<double>(fills) * lc.fill[i] * scale.other[i] +
            static_cast<double>(updates) * lc.update[i] * used) *
           lc.words_per_datum[i];
  };
  auto cost = [&](int l, Space s, int64_t reads, int64_t fills, int64_t updates) {

    return access_energy(l, s, reads, fills, updates) * static_cast<double>(r.levels[static_cast<size_t>(l)].instances);
  };
  // A running lower bound on the energy (every term is non-negative): the MACs and the innermost
  // reads first, then each walk's fills and its parent's reads as the walks go inward, cheapest first.
  double running = static_cast<double>(r.macs) * mac_energy;
  std::array<int, kSpaces> parent;
  parent.fill(-1);
  for (int si = 0; si < kSpaces; ++si) {
    const Space s = static_cast<Space>(si);
    for (int l = L - 1; l >= 0; --l)
      if (levels[static_cast<size_t>(l)].keeps[static_cast<size_t>(si)]) {
        const int64_t down = r.macs / (r.levels[static_cast<size_t>(l)].instances * spatial_between(s, l, L, false));
        running += s == Space::outputs ? cost(l, s, down - volume(tile_of(s, w, whole[static_cast<size_t>(l)])), 0, down)
                                       : cost(l, s, down, 0, 0);
        break;
      }
  }
  if (running > bound) return false;

  // Per level and kept data space: the data received over the run (sum of the walk's deltas).
  std::array<std::array<int64_t, kSpaces>, kMaxLevels> received{};
  std::array<Coords, kMaxWalk> taus;
  std::array<int64_t, kMaxWalk> bounds;
  // Per data space its keeping levels outermost first; the walks go by depth, so that the pairs fed by
  // the outermost (costliest) level come first and a losing candidate stops soonest.
  std::array<std::array<int, kMaxLevels>, kSpaces> keepers;
  std::array<int, kSpaces> keeper_count{};
  int depth_max = 0;
  for (int si = 0; si < kSpaces; ++si) {
    for (int l = 0; l < L; ++l)
      if (levels[static_cast<size_t>(l)].keeps[static_cast<size_t>(si)])
        keepers[static_cast<size_t>(si)][static_cast<size_t>(keeper_count[static_cast<size_t>(si)]++)] = l;
    depth_max = std::max(depth_max, keeper_count[static_cast<size_t>(si)]);
  }
  // What a parent level `p` sends of data space s to the instances of its next inner keeping level `l`
  // (`got` received per instance; the walk of the temporal loops above `l` in taus and bounds): each
  // instance's data, once per indexing spatial loop between them, unless a fan-out between them
  // forwards s between neighbours; then the instances' tiles form one box (the indexing spatial loops
  // join the tile) and the walk counts what that box lacks at each step. sent[l][s] keeps the result.
  std::array<std::array<int64_t, kSpaces>, kMaxLevels> sent{};
  auto sent_down = [&](Space s, int p, int l, int walk_length, int64_t got) {
    bool forwarded = false;
    for (int j = p; j < l; ++j) forwarded = forwarded || levels[static_cast<size_t>(j)].forwards[static_cast<size_t>(s)];
    if (!forwarded) return got * spatial_between(s, p, l, true);
    Extents box = ext[static_cast<size_t>(l)];
    for (const FlatLoop& f : nest)
      if (f.loop.kind != LoopKind::temporal && f.level >= p && f.level < l && indexes(s, f.loop.dim))
        box[idx(f.loop.dim)] *= f.loop.bound;
    return DeltaWalk(tile_of(s, w, box), taus.data(), bounds.data(), walk_length).total();
  };
  for (int depth = 0; depth < depth_max; ++depth) {
    for (int si = 0; si < kSpaces; ++si) {
      if (depth >= keeper_count[static_cast<size_t>(si)]) continue;
      const int l = keepers[static_cast<size_t>(si)][static_cast<size_t>(depth)];
      const Space s = static_cast<Space>(si);
      const Coords tile = tile_of(s, w, ext[static_cast<size_t>(l)]);
      int k = 0;
      Extents inner_steps{};  // sum of the steps of the loops already walked (inner ones)
      for (int i = 0; i < n; ++i) {
        const FlatLoop& f = nest[static_cast<size_t>(i)];
        if (f.level >= l || f.loop.kind != LoopKind::temporal) continue;
        Extents t;
        for (size_t d = 0; d < kDims; ++d) t[d] = -inner_steps[d];
        t[idx(f.loop.dim)] += step[static_cast<size_t>(i)];
        taus[static_cast<size_t>(k)] = shift_of(s, w, t);
        bounds[static_cast<size_t>(k)] = f.loop.bound;
        ++k;
        inner_steps[idx(f.loop.dim)] += step[static_cast<size_t>(i)];
      }
      SpaceCounts& sc = r.levels[static_cast<size_t>(l)].space[static_cast<size_t>(si)];
      sc.tile = volume(tile);
      sc.partition = volume(tile_of(s, w, whole[static_cast<size_t>(l)]));
      const int64_t got = DeltaWalk(tile, taus.data(), bounds.data(), k).total();
      received[static_cast<size_t>(l)][static_cast<size_t>(si)] = got;
      const int p = parent[static_cast<size_t>(si)];
      parent[static_cast<size_t>(si)] = l;
      if (p < 0) continue;
      const int64_t down = sent_down(s, p, l, k, got);
      sent[static_cast<size_t>(l)][static_cast<size_t>(si)] = down;
      const int64_t p_part = volume(tile_of(s, w, whole[static_cast<size_t>(p)]));
      running += s == Space::outputs ? cost(l, s, 0, got - sc.partition, 0) + cost(p, s, down - p_part, 0, down)
                                     : cost(l, s, 0, got, 0) + cost(p, s, down, 0, 0);
      if (running > bound) return false;
    }
  }

  // Reads, fills and updates: what the next inner level keeping the data space receives, less the
  // multicast (spatial loops between that do not index the data space) or the spatial reduction.
  for (int si = 0; si < kSpaces; ++si) {
    const Space s = static_cast<Space>(si);
    int prev = -1;  // the next outer level keeping s
    for (int l = 0; l < L; ++l) {
      if (!levels[static_cast<size_t>(l)].keeps[static_cast<size_t>(si)]) continue;
      int child = l + 1;
      while (child < L && !levels[static_cast<size_t>(child)].keeps[static_cast<size_t>(si)]) ++child;
      const int64_t irrelevant = spatial_between(s, l, child, false);
      LevelResult& lr = r.levels[static_cast<size_t>(l)];
      SpaceCounts& sc = lr.space[static_cast<size_t>(si)];
      const int64_t down = child == L ? r.macs / (lr.instances * irrelevant)
                                      : sent[static_cast<size_t>(child)][static_cast<size_t>(si)];
      const int64_t in = prev < 0 ? 0 : received[static_cast<size_t>(l)][static_cast<size_t>(si)];
      if (s == Space::outputs) {
        // Written by the level below; the first write of each output needs no read, and the first fill
        // of each is skipped (partial sums start at zero).
        sc.updates = down;
        sc.reads = down - sc.partition;
        sc.fills = prev < 0 ? 0 : in - sc.partition;
      } else {
        sc.reads = down;
        sc.fills = in;
        sc.updates = 0;
      }
      prev = l;
    }
  }

  for (int l = 0; l < L; ++l) {
    LevelResult& lr = r.levels[static_cast<size_t>(l)];
    double e = 0;
    for (size_t s = 0; s < kSpaces; ++s) {
      if (!levels[static_cast<size_t>(l)].keeps[s]) {
        lr.space[s] = SpaceCounts{};
        continue;
      }
      const SpaceCounts& sc = lr.space[s];
      e += access_energy(l, static_cast<Space>(s), sc.reads, sc.fills, sc.updates);
    }
    lr.energy = e * static_cast<double>(lr.instances);
    r.energy += lr.energy;
  }
  r.mac_energy = static_cast<double>(r.macs) * mac_energy;
  r.energy += r.mac_energy;
  return true;
}

std::string format_loop_nest(const std::vector<LevelCosts>& levels, const LoopNest& m) {
  std::string out;
  std::string indent;
  for (size_t l = 0; l < levels.size() && l < m.levels.size(); ++l) {
    out += levels[l].name + "\n";
    for (const Loop& lp : m.levels[l]) {
      if (lp.bound == 1) continue;
      out += fmt::format("{}| for {} in [0:{}){}\n", indent, kDimNames[idx(lp.dim)], lp.bound,
                         lp.kind == LoopKind::spatial_x   ? " (Spatial-X)"
                         : lp.kind == LoopKind::spatial_y ? " (Spatial-Y)"
                                                          : "");
      indent += "  ";
    }
  }
  return out;
}

LoopNest parse_timeloop_map(std::string_view text, const std::vector<LevelCosts>& levels, const std::string& source) {
  LoopNest m;
  m.levels.resize(levels.size());
  int current = -1;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    const std::string where = fmt::format("line {}", line_no);
    size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string_view::npos || line[first] == '-') continue;
    line = line.substr(first);
    if (line[0] != '|') {  // a level header: "NAME [ ... ]"
      size_t sp = line.find_first_of(" [");
      std::string name(line.substr(0, sp));
      current = -1;
      for (size_t l = 0; l < levels.size(); ++l)
        if (levels[l].name == name) current = static_cast<int>(l);
      if (current < 0) throw InputError(source, where, fmt::format("a storage level of the profile, not \"{}\"", name));
      continue;
    }
    line = line.substr(line.find_first_not_of("| "));
    // "for D in [0:n)" with an optional " (Spatial-X)" or " (Spatial-Y)"
    if (current < 0) throw InputError(source, where, "a level header before the first loop");
    if (line.size() < 14 || line.substr(0, 4) != "for " || line.substr(5, 7) != " in [0:")
      throw InputError(source, where, "a loop \"for D in [0:n)\"");
    size_t dim = kDimNames.find(line[4]);
    if (dim == std::string_view::npos) throw InputError(source, where, "a dimension of N, M, C, P, Q, R, S");
    size_t close = line.find(')', 12);
    if (close == std::string_view::npos) throw InputError(source, where, "a loop bound closed by ')'");
    std::string bound_text(line.substr(12, close - 12));
    char* bound_end = nullptr;
    long long bound = std::strtoll(bound_text.c_str(), &bound_end, 10);
    if (bound_text.empty() || *bound_end != '\0' || bound < 1 || bound > (int64_t{1} << 40))
      throw InputError(source, where, "a loop bound, a positive integer");
    std::string_view rest = line.substr(close + 1);
    LoopKind kind = LoopKind::temporal;
    if (rest == " (Spatial-X)") kind = LoopKind::spatial_x;
    else if (rest == " (Spatial-Y)") kind = LoopKind::spatial_y;
    else if (!rest.empty() && rest.find_first_not_of(" \r") != std::string_view::npos)
      throw InputError(source, where, "nothing after the loop but \"(Spatial-X)\" or \"(Spatial-Y)\"");
    m.levels[static_cast<size_t>(current)].push_back({static_cast<Dim>(dim), bound, kind});
  }
  return m;
}

}  // namespace dkm::estimator

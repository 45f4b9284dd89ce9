#include "kmeans/assign.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/core.h>

#include "kmeans/parallel.hpp"
#include "models/error.hpp"

namespace dkm::kmeans {
namespace {

constexpr int kLanes = 8;
using f8 = float __attribute__((vector_size(32)));
using i8 = int32_t __attribute__((vector_size(32)));

// One centre's squared distances `d` (8 lanes) into the running nearest and second-nearest; a strictly
// smaller distance wins, so ties keep the lower index.
[[gnu::always_inline]] inline void keep_two_nearest(f8 d, int32_t center, f8& best, f8& second, i8& label) {
  const i8 lt = d < best;
  const i8 le2 = d < second;
  second = lt ? best : (le2 ? d : second);
  label = lt ? (i8{} + center) : label;
  best = lt ? d : best;
}

// Nearest and second-nearest centre of 8 points at once. `block` holds the points transposed
// (dimension-major, 8 lanes each). D > 0 fixes the dimension at compile time so the point stays in
// registers; D == 0 reads it from `dim`.
template <int D>
[[gnu::always_inline]] inline void scan_block(const float* block, int64_t dim, const float* centers, int64_t k,
                                              f8& best, f8& second, i8& label) {
  const float inf = std::numeric_limits<float>::infinity();
  best = f8{} + inf;
  second = f8{} + inf;
  label = i8{};
  if constexpr (D > 0) {
    f8 x[D];
    for (int j = 0; j < D; ++j) __builtin_memcpy(&x[j], block + j * kLanes, sizeof(f8));
    for (int64_t c = 0; c < k; ++c) {
      const float* cc = centers + c * D;
      f8 diff = x[0] - cc[0];
      f8 d = (f8{} + 0.0f) + diff * diff;
      for (int j = 1; j < D; ++j) {
        diff = x[j] - cc[j];
        d += diff * diff;
      }
      keep_two_nearest(d, static_cast<int32_t>(c), best, second, label);
    }
  } else {
    for (int64_t c = 0; c < k; ++c) {
      const float* cc = centers + c * dim;
      f8 d = f8{} + 0.0f;
      for (int64_t j = 0; j < dim; ++j) {
        f8 x;
        __builtin_memcpy(&x, block + j * kLanes, sizeof(f8));
        const f8 diff = x - cc[j];
        d += diff * diff;
      }
      keep_two_nearest(d, static_cast<int32_t>(c), best, second, label);
    }
  }
}

template <int D>
[[gnu::always_inline]] inline void scan_blocks_t(const float* blocks, int64_t nblocks, int64_t dim,
                                                 const float* centers, int64_t k, float* best, float* second,
                                                 int32_t* label) {
  for (int64_t b = 0; b < nblocks; ++b) {
    f8 bv, sv;
    i8 lv;
    scan_block<D>(blocks + b * dim * kLanes, dim, centers, k, bv, sv, lv);
    __builtin_memcpy(best + b * kLanes, &bv, sizeof(f8));
    __builtin_memcpy(second + b * kLanes, &sv, sizeof(f8));
    __builtin_memcpy(label + b * kLanes, &lv, sizeof(i8));
  }
}

// Compiled twice (AVX2 and baseline) and chosen at load time; both give the same bits because the
// operations are the same IEEE ones in the same order (no FMA contraction, see CMakeLists.txt).
__attribute__((target_clones("avx2", "default"))) void scan_blocks(const float* blocks, int64_t nblocks,
                                                                   int64_t dim, const float* centers, int64_t k,
                                                                   float* best, float* second, int32_t* label) {
  switch (dim) {
    case 1: return scan_blocks_t<1>(blocks, nblocks, dim, centers, k, best, second, label);
    case 2: return scan_blocks_t<2>(blocks, nblocks, dim, centers, k, best, second, label);
    case 3: return scan_blocks_t<3>(blocks, nblocks, dim, centers, k, best, second, label);
    case 4: return scan_blocks_t<4>(blocks, nblocks, dim, centers, k, best, second, label);
    case 5: return scan_blocks_t<5>(blocks, nblocks, dim, centers, k, best, second, label);
    case 7: return scan_blocks_t<7>(blocks, nblocks, dim, centers, k, best, second, label);
    case 9: return scan_blocks_t<9>(blocks, nblocks, dim, centers, k, best, second, label);
    default: return scan_blocks_t<0>(blocks, nblocks, dim, centers, k, best, second, label);
  }
}

// The skip test's error model. Every full-pass distance is fl_d2 = fl((x_0 - c_0)^2 + ...): with exact
// squared distance D^2 and u = 2^-24, all terms non-negative, fl_d2 lies in
// [D^2 (1 - u)^(d+2) - A, D^2 (1 + u)^(d+2) + A], where A = d 2^-149 covers the products that underflow
// (subnormal sums and differences are exact). Hence fl_d2 within D^2 (1 -+ ef) -+ A, ef = (d + 3) u.
// The bounds themselves (centre moves, half gaps, lower bounds) are kept in double, whose relative
// error, (d + 8) 2^-53 at most, lies far below kDoubleSlack. Above kMaxBoundedDim the float error grows
// too large for a useful margin and every point takes the full pass.
constexpr double kDoubleSlack = 1e-12;
constexpr int64_t kMaxBoundedDim = 4096;

// Constants of one assign call's skip test (see Bounds::skip for why it is exact).
struct Bounds {
  double abs_err;   // A
  double rel_err;   // ef
  double upper;     // S: (fl_d2 + A) S bounds D^2 / (1 - ef) from above, double rounding included
  double shrink;    // a lower bound is multiplied by it before a move is taken off (covers that rounding)

  explicit Bounds(int64_t dim)
      : abs_err(std::ldexp(double(dim), -149)), rel_err(double(dim + 3) * 0x1p-24),
        upper((1 + 3 * rel_err) * (1 + 4 * kDoubleSlack)), shrink(1 - 0x1p-51) {}

  // A lower bound on the exact distance to every centre but the nearest, from the full pass's second
  // smallest fl_d2 (of all centres but the chosen one, ties included): D^2 >= (fl_d2 - A) / (1 + ef).
  double lower_from_second(float second) const {
    return std::sqrt(std::max(0.0, double(second) - abs_err) / (1 + rel_err)) * (1 - kDoubleSlack);
  }

  // Whether the full pass would keep the point's label a, given fl_d2 = d2 to a and `bound` <= the exact
  // distance to every other centre (the lower bound, or the half gap (already shrunk by kDoubleSlack):
  // D_c >= 2 gap - D_a, and gap > D_a follows from the test). The test gives D_c^2 > (fl_d2 + A) / (1 - ef),
  // so every other centre's fl_d2 >= D_c^2 (1 - ef) - A > d2: strictly larger, so no tie can move the
  // point to a lower index either.
  bool skip(float d2, double bound) const { return (double(d2) + abs_err) * upper < bound * bound; }
};

// squared_distance() with the dimension fixed at compile time when D > 0 (same operations, same order).
template <int D>
[[gnu::always_inline]] inline float squared_distance_d(const float* x, const float* c, int64_t dim) {
  if constexpr (D > 0) {
    const float diff0 = x[0] - c[0];
    float s = diff0 * diff0;
    for (int j = 1; j < D; ++j) {
      const float diff = x[j] - c[j];
      s += diff * diff;
    }
    return s;
  } else {
    return squared_distance(x, c, dim);
  }
}

// sum_in_runs() of the squared distances, its bits, with the whole runs summed side by side: each run is
// still added in point order from 0 and the runs in order, but the runs' additions no longer wait on
// one another.
double inertia_in_runs(const float* d2, int64_t count) {
  static_assert(kChunkPoints % kRunPoints == 0);
  double run[kChunkPoints / kRunPoints] = {};
  const int64_t whole = std::min(count, kChunkPoints) / kRunPoints;
  for (int64_t t = 0; t < kRunPoints; ++t)
    for (int64_t r = 0; r < whole; ++r) run[r] += double(d2[r * kRunPoints + t]);
  double total = 0;
  for (int64_t r = 0; r < whole; ++r) total += run[r];
  return total + sum_in_runs(whole * kRunPoints, count, [&](int64_t i) { return double(d2[i]); });
}

// What one assign call shares between its chunks.
struct AssignStep {
  const float* points;
  const float* centers;
  int64_t dim, k;
  bool bounded, prune;
  Bounds bounds;
  const double* half_gap;  // per centre: half the distance to its nearest other centre, times 1 - kDoubleSlack
  double max_move, second_move;  // the two largest centre moves, times 1 + kDoubleSlack
  int64_t max_move_centre;
  int32_t* labels;
  float* dist2;
  double* lower;  // Hamerly: lower bound on the distance to every centre but the assigned one
};

struct ChunkTotals {
  double* sums;     // K x d
  int64_t* counts;  // K
  double inertia = 0;
  int64_t changed = 0;
};

// One chunk of points: Hamerly test, full scans of the points that fail it, then the chunk's partial
// sums in point order. D > 0 fixes the dimension at compile time (the hot loops are a few flops each).
template <int D>
void assign_chunk(const AssignStep& step, int64_t begin, int64_t end, ChunkTotals& out) {
  const AssignStep a = step;  // a local copy: the stores below cannot alias it, so nothing is reloaded
  const int64_t dim = D > 0 ? D : a.dim;
  std::vector<int64_t> pending(static_cast<size_t>(end - begin));
  size_t npending = 0;
  if (a.bounded) {
    // Branch-free: a skip is taken by about as many points as not in the early rounds, which a branch
    // would mispredict. Every point's label is set (bounded follows a first assign).
    const float* points = a.points;
    const float* centers = a.centers;
    const double* half_gap = a.half_gap;
    double* lower_of = a.lower;
    const int32_t* labels = a.labels;
    float* dist2 = a.dist2;
    int64_t* pend = pending.data();
    const Bounds bounds = a.bounds;
    for (int64_t i = begin; i < end; ++i) {
      const int32_t old = labels[i];
      const double lower = lower_of[i] * bounds.shrink - (old == a.max_move_centre ? a.second_move : a.max_move);
      lower_of[i] = lower;
      const float d2 = squared_distance_d<D>(&points[i * dim], &centers[old * dim], dim);
      dist2[i] = d2;
      pend[npending] = i;
      npending += !bounds.skip(d2, std::max(half_gap[old], lower));
    }
  } else {
    for (int64_t i = begin; i < end; ++i) pending[npending++] = i;
  }
  pending.resize(npending);
  // Full scans for the rest, 8 points per block.
  const int64_t nb = (static_cast<int64_t>(pending.size()) + kLanes - 1) / kLanes;
  std::vector<float> blocks(static_cast<size_t>(nb * dim * kLanes));
  for (int64_t t = 0; t < nb * kLanes; ++t) {
    const int64_t i = pending[std::min<size_t>(t, pending.size() - 1)];
    const int64_t b = t / kLanes, lane = t % kLanes;
    for (int64_t j = 0; j < dim; ++j) blocks[(b * dim + j) * kLanes + lane] = a.points[i * dim + j];
  }
  std::vector<float> best(static_cast<size_t>(nb * kLanes)), second(best.size());
  std::vector<int32_t> nearest(best.size());
  if (nb > 0) scan_blocks(blocks.data(), nb, dim, a.centers, a.k, best.data(), second.data(), nearest.data());
  for (size_t t = 0; t < pending.size(); ++t) {
    const int64_t i = pending[t];
    out.changed += (a.labels[i] != nearest[t]);
    a.labels[i] = nearest[t];
    a.dist2[i] = best[t];
    if (a.prune) a.lower[i] = a.bounds.lower_from_second(second[t]);
  }
  for (int64_t i = begin; i < end; ++i) {  // the sums and counts, in point order
    const int32_t l = a.labels[i];
    ++out.counts[l];
    for (int64_t j = 0; j < dim; ++j) out.sums[l * dim + j] += double(a.points[i * dim + j]);
  }
  out.inertia = inertia_in_runs(a.dist2 + begin, end - begin);
}

void assign_chunk_any(const AssignStep& a, int64_t begin, int64_t end, ChunkTotals& out) {
  switch (a.dim) {
    case 1: return assign_chunk<1>(a, begin, end, out);
    case 2: return assign_chunk<2>(a, begin, end, out);
    case 3: return assign_chunk<3>(a, begin, end, out);
    case 4: return assign_chunk<4>(a, begin, end, out);
    case 9: return assign_chunk<9>(a, begin, end, out);
    default: return assign_chunk<0>(a, begin, end, out);
  }
}

class CpuAssigner final : public Assigner {
 public:
  CpuAssigner(std::span<const float> points, int64_t dim, int64_t k, int threads, bool prune)
      : points_(points), dim_(dim), k_(k), n_(static_cast<int64_t>(points.size()) / dim),
        threads_(threads), prune_(prune && dim <= kMaxBoundedDim) {
    if (prune_) lower_.assign(static_cast<size_t>(n_), 0.0);
    labels_.assign(static_cast<size_t>(n_), -1);
    dist2_.assign(static_cast<size_t>(n_), 0.0f);
  }

  std::vector<Farthest> farthest(int64_t count, std::span<const int64_t> counts) override {
    return farthest_points<float>(dist2_, labels_, count, counts);
  }

  void labels(std::span<int32_t> out) const override { std::copy(labels_.begin(), labels_.end(), out.begin()); }

  AssignTotals assign(std::span<const float> centers) override {
    const int64_t chunks = chunk_count(n_);
    const size_t kd = static_cast<size_t>(k_ * dim_);
    const bool bounded = prune_ && !previous_.empty();
    std::vector<double> half_gap;  // per centre: half the distance to its nearest other centre
    double max_move = 0, second_move = 0;
    int64_t max_move_centre = -1;
    std::vector<double> move;
    if (bounded) {
      move.resize(static_cast<size_t>(k_));
      for (int64_t c = 0; c < k_; ++c) {
        double s = 0;
        for (int64_t j = 0; j < dim_; ++j) {
          const double diff = double(centers[c * dim_ + j]) - double(previous_[c * dim_ + j]);
          s += diff * diff;
        }
        move[c] = std::sqrt(s) * (1 + kDoubleSlack);  // never below the exact move
        if (move[c] > max_move) {
          second_move = max_move;
          max_move = move[c];
          max_move_centre = c;
        } else if (move[c] > second_move) {
          second_move = move[c];
        }
      }
      half_gap.assign(static_cast<size_t>(k_), std::numeric_limits<double>::infinity());
      for (int64_t a = 0; a < k_; ++a)
        for (int64_t b = a + 1; b < k_; ++b) {
          double s = 0;
          for (int64_t j = 0; j < dim_; ++j) {
            const double diff = double(centers[a * dim_ + j]) - double(centers[b * dim_ + j]);
            s += diff * diff;
          }
          const double h = 0.5 * std::sqrt(s) * (1 - kDoubleSlack);  // never above the exact half gap
          half_gap[a] = std::min(half_gap[a], h);
          half_gap[b] = std::min(half_gap[b], h);
        }
    }

    partial_sums_.assign(static_cast<size_t>(chunks) * kd, 0.0);
    partial_counts_.assign(static_cast<size_t>(chunks * k_), 0);
    std::vector<double> partial_inertia(static_cast<size_t>(chunks), 0.0);
    std::vector<int64_t> partial_changed(static_cast<size_t>(chunks), 0);

    const AssignStep step{points_.data(), centers.data(), dim_, k_, bounded, prune_, Bounds(dim_), half_gap.data(),
                          max_move, second_move, max_move_centre, labels_.data(), dist2_.data(), lower_.data()};
    parallel_chunks(chunks, threads_, [&](int64_t chunk) {
      const int64_t begin = chunk * kChunkPoints, end = std::min(n_, begin + kChunkPoints);
      ChunkTotals out{&partial_sums_[static_cast<size_t>(chunk) * kd], &partial_counts_[static_cast<size_t>(chunk * k_)]};
      assign_chunk_any(step, begin, end, out);
      partial_inertia[chunk] = out.inertia;
      partial_changed[chunk] = out.changed;
    });

    AssignTotals totals;
    totals.sums.assign(kd, 0.0);
    totals.counts.assign(static_cast<size_t>(k_), 0);
    for (int64_t c = 0; c < chunks; ++c) {
      const double* s = &partial_sums_[static_cast<size_t>(c) * kd];
      for (size_t j = 0; j < kd; ++j) totals.sums[j] += s[j];
      const int64_t* n = &partial_counts_[static_cast<size_t>(c * k_)];
      for (int64_t j = 0; j < k_; ++j) totals.counts[j] += n[j];
      totals.inertia += partial_inertia[c];
      totals.changed += partial_changed[c];
    }
    previous_.assign(centers.begin(), centers.end());
    return totals;
  }

 private:
  std::span<const float> points_;
  int64_t dim_, k_, n_;
  int threads_;
  bool prune_;
  std::vector<int32_t> labels_;
  std::vector<float> dist2_;     // squared distance of each point to its centre
  std::vector<double> lower_;    // Hamerly: lower bound on the distance to the second-nearest centre
  std::vector<float> previous_;  // centres of the previous call
  std::vector<double> partial_sums_;
  std::vector<int64_t> partial_counts_;
};

class SerialBatch final : public BatchAssigner {
 public:
  explicit SerialBatch(std::vector<std::unique_ptr<Assigner>> assigners)
      : assigners_(std::move(assigners)), assigned_(assigners_.size(), false) {}

  size_t layers() const override { return assigners_.size(); }

  std::vector<AssignTotals> assign(std::span<const std::span<const float>> centers) override {
    if (centers.size() != assigners_.size())
      throw UsageError(fmt::format("k-means: {} centre sets for a batch of {}", centers.size(), assigners_.size()));
    for (size_t l = 0; l < assigners_.size(); ++l)
      if (centers[l].empty() && !assigned_[l])
        throw UsageError(fmt::format("k-means: layer {} of the batch has never been given centres", l));
    std::vector<AssignTotals> out(assigners_.size());
    for (size_t l = 0; l < assigners_.size(); ++l) {
      if (centers[l].empty()) continue;  // left as it is
      out[l] = assigners_[l]->assign(centers[l]);
      assigned_[l] = true;
    }
    return out;
  }
  std::vector<Farthest> farthest(size_t layer, int64_t count, std::span<const int64_t> counts) override {
    return at(layer).farthest(count, counts);
  }
  void labels(size_t layer, std::span<int32_t> out) const override { at(layer).labels(out); }

 private:
  Assigner& at(size_t layer) const {
    if (layer >= assigners_.size())
      throw UsageError(fmt::format("k-means: layer {} of a batch of {}", layer, assigners_.size()));
    return *assigners_[layer];
  }

  std::vector<std::unique_ptr<Assigner>> assigners_;
  std::vector<bool> assigned_;
};

}  // namespace

std::unique_ptr<BatchAssigner> make_batch_of(std::vector<std::unique_ptr<Assigner>> assigners) {
  return std::make_unique<SerialBatch>(std::move(assigners));
}

template <typename D>
std::vector<Farthest> farthest_points(std::span<const D> d2, std::span<const int32_t> labels, int64_t count,
                                      std::span<const int64_t> counts) {
  std::vector<int64_t> order(d2.size());
  for (size_t i = 0; i < d2.size(); ++i) order[i] = static_cast<int64_t>(i);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return d2[a] != d2[b] ? d2[a] > d2[b] : a < b; });
  std::vector<int64_t> left(counts.begin(), counts.end());
  std::vector<Farthest> out;
  for (int64_t i : order) {
    if (static_cast<int64_t>(out.size()) == count) break;
    const int32_t l = labels[i];
    if (left[l] <= 1) continue;
    --left[l];
    out.push_back({i, l});
  }
  return out;
}
template std::vector<Farthest> farthest_points<float>(std::span<const float>, std::span<const int32_t>, int64_t,
                                                      std::span<const int64_t>);
template std::vector<Farthest> farthest_points<double>(std::span<const double>, std::span<const int32_t>, int64_t,
                                                       std::span<const int64_t>);

std::unique_ptr<Assigner> make_cpu_assigner(std::span<const float> points, int64_t dim, int64_t k, int threads,
                                            bool prune) {
  return std::make_unique<CpuAssigner>(points, dim, k, threads, prune);
}

}  // namespace dkm::kmeans

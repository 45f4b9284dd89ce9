#pragma once
// k-means over N points of dimension d (row-major float32). Parameters in a plain struct, results in a
// plain struct, one call for the common case. The assignment step (the expensive part) sits behind one
// seam so the fused CPU kernel, the sorted 1-D path and the CUDA backend swap without the caller noticing.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace dkm::kmeans {

enum class Init {
  kmeans_plus_plus,  // scikit-learn's greedy k-means++: 2 + floor(ln K) candidates per step
  linear,            // Deep Compression: evenly spaced between min and max (per dimension)
  random,            // K distinct points drawn uniformly
  given,             // KMeansParams::initial_centers
  optimal_1d,        // d == 1 only: the exact optimum by dynamic programming (no Lloyd needed)
  afk_mc2,           // AFK-MC2: k-means++'s D^2 draw approximated by short Markov chains, for very large N
};

// cuda: the GPU backend (kmeans/cuda_backend.hpp), an error when it is not usable; automatic: the GPU
// when usable, else the CPU. Both give the same bits. Scalars take the sorted 1-D path (sorted_1d):
// on the GPU only its sort runs there, Lloyd on the sorted ranges stays on the host.
enum class Device { cpu, cuda, automatic };

struct KMeansParams {
  int64_t k = 8;                        // number of clusters
  Init init = Init::kmeans_plus_plus;   // how the first centres are chosen
  std::vector<float> initial_centers;   // K x d, used when init == Init::given
  int max_iter = 300;                   // Lloyd iterations at most
  double tol = 1e-4;                    // stop when the centres' squared shift, relative to the data
                                        // variance, falls below tol (scikit-learn's rule); 0 = run max_iter
  uint64_t seed = 0;                    // every random choice derives from it
  int threads = 0;                      // 0 = all hardware threads; results do not depend on it
  Device device = Device::cpu;
  bool prune = true;                    // skip distance scans with Hamerly bounds (same labels, faster)
  bool sorted_1d = true;                // d == 1: sort once, clusters are ranges (same labels, faster)
  // Activation-weighted k-means: non-negative weights, N values (one per point: its squared error
  // times the weight) or N x d (one per coordinate: each coordinate's squared error times its own
  // weight, e.g. the second moment of the input channel it multiplies). Empty: unweighted. Lloyd's
  // centres become weighted means, k-means++ draws in proportion to weight x D^2 (its first centre in
  // proportion to the point's weight), optimal_1d minimises the weighted sum. A point of zero weight
  // takes its nearest centre by the plain distance and adds nothing. Weighted problems run on
  // the host whatever `device` says (the GPU kernels are unweighted), so every device gives the same
  // labels. The span must outlive the call.
  std::span<const float> weights;
};

struct IterationStats {
  double inertia = 0;       // sum of squared distances after the assignment of this iteration
  int64_t changed = 0;      // points whose label changed
  double center_shift = 0;  // sum of squared centre moves
};

struct KMeansResult {
  int64_t k = 0, dim = 0;
  std::vector<float> centers;   // K x d
  std::vector<int32_t> labels;  // N
  double inertia = 0;           // sum of squared distances to the assigned centres
  int iterations = 0;           // Lloyd iterations run
  bool converged = false;       // stopped by the tolerance or unchanged labels, not by max_iter
  std::vector<IterationStats> stats;
};

// Throws dkm::UsageError for K < 1, an empty input, NaN/Inf values, or K larger than the number of
// distinct points (of positive weight, when weighted; refused, not clamped: callers that want clamping
// use count_distinct first), and for weights of the wrong count, negative, non-finite or all zero.
// Any finite float data is clustered right: data whose largest magnitude lies outside [2^-32, 2^32]
// (where squared distances in float would overflow or underflow) is scaled by a power of two, exactly,
// and the results scaled back; inside that range nothing is scaled and the bits are unchanged.
// Lloyd follows scikit-learn: stop when the labels do not change or the summed squared centre shift is
// <= tol * mean per-feature variance; tol == 0 runs exactly max_iter iterations. The returned labels are
// the nearest centres (lowest index on ties) of the returned centres.
KMeansResult kmeans(std::span<const float> points, int64_t dim, const KMeansParams& params);

// Several k-means problems of one dimension (a model's layers), run in lockstep: each Lloyd round
// assigns every unfinished problem with one call to its backend, so on the GPU many small layers cost
// one launch per round instead of one each. Each result equals kmeans(item.points, dim, item.params)
// bit for bit. Problems whose params pick the GPU (cuda, or automatic with a usable GPU) share one
// device batch; the rest run on the CPU. `finished(i)`, when given, is called as problem i completes.
struct KMeansItem {
  std::span<const float> points;  // N x dim
  KMeansParams params;
};
std::vector<KMeansResult> kmeans_batch(std::span<const KMeansItem> items, int64_t dim,
                                       const std::function<void(size_t item)>& finished = {});

// Distinct points among the N = points.size() / dim, counting stops at `limit`.
int64_t count_distinct(std::span<const float> points, int64_t dim, int64_t limit);

// Sum of squared distances of the points to centers[labels] (double accumulation, chunk order).
double inertia(std::span<const float> points, int64_t dim, std::span<const float> centers,
               std::span<const int32_t> labels, int threads = 0);

}  // namespace dkm::kmeans

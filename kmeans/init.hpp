#pragma once
// First centres for Lloyd's algorithm. Every function returns K x d floats and is deterministic for a
// seed, whatever the thread count.
#include <cstdint>
#include <span>
#include <vector>

namespace dkm::kmeans {

// scikit-learn's greedy k-means++: the first centre uniformly at random; then, for each next centre,
// 2 + floor(ln K) candidates drawn with probability proportional to D^2 (inverse of the cumulative
// sum), keeping the candidate that minimises the potential (sum of D^2). Points a candidate cannot
// bring closer (triangle inequality on the centre-to-candidate distance) are skipped and the sums of
// untouched runs reused, so the result is bit for bit that of the full O(N K) passes.
// `weights` (kmeans/weights.hpp: N or N x d values, empty for none): D^2 is the weighted squared
// distance and the first centre is drawn in proportion to the point's weight.
std::vector<float> init_kmeans_plus_plus(std::span<const float> points, int64_t dim, int64_t k, uint64_t seed,
                                         int threads, std::span<const float> weights = {});

// AFK-MC2 (Bachem, Lucic, Hassani, Krause, "Fast and Provably Good Seedings for k-Means", NIPS 2016): the
// first centre as k-means++ draws it, then each next one the end of a Markov chain of kChainLength points
// proposed from q(x) = 1/2 D^2(x, c1) / sum D^2 + 1/(2N) and accepted by the Metropolis-Hastings rule for
// D^2 sampling. One O(N d) pass, then O(kChainLength K^2 d), independent of N: for very large N, where
// greedy k-means++'s O(N K log K) passes dominate. The chain runs on the host in one thread (the result
// does not depend on `threads`, which only splits the first pass). Weighted: D^2 and the uniform term
// are weighted as k-means++'s draw is.
inline constexpr int64_t kChainLength = 200;  // the paper's m = 200 (its experiments' setting)
std::vector<float> init_afk_mc2(std::span<const float> points, int64_t dim, int64_t k, uint64_t seed, int threads,
                                std::span<const float> weights = {});

// Deep Compression's linear initialisation: per dimension, K values evenly spaced from the minimum to
// the maximum (K == 1: the midpoint).
std::vector<float> init_linear(std::span<const float> points, int64_t dim, int64_t k);

// K distinct points (by index) drawn uniformly without replacement.
std::vector<float> init_random(std::span<const float> points, int64_t dim, int64_t k, uint64_t seed);

}  // namespace dkm::kmeans

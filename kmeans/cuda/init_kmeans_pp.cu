// Greedy k-means++ on the device, step for step the CPU's init_kmeans_plus_plus (kmeans/init.cpp):
// D^2 in double, per-chunk potentials summed in point order, chunk potentials in chunk order, the
// candidate search walking chunks then points. The random draws stay on the host (the same Rng), so
// the chosen centres are the CPU's; each step brings back only the candidates and their potentials.
#include <cmath>
#include <limits>
#include <vector>

#include "kmeans/cuda/check.hpp"
#include "kmeans/parallel.hpp"
#include "kmeans/point_math.hpp"
#include "kmeans/rng.hpp"
#include "models/error.hpp"

namespace dkm::kmeans::cuda {
namespace {

constexpr int kMaxTrials = 16;  // 2 + floor(ln K) <= 13 for K <= 65536
constexpr int kThreads = 256;

struct Draws {
  double r[kMaxTrials];
};

unsigned blocks_for(int64_t n) { return static_cast<unsigned>((n + kThreads - 1) / kThreads); }

// closest[i] = min(closest[i], D^2(x_i, chosen)); `first` overwrites instead (the first centre).
__global__ void update_closest_kernel(const float* points, int64_t n, int64_t dim, int64_t chosen, int first,
                                      double* closest) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const double d = point_squared_distance_f64(points + i * dim, points + chosen * dim, dim);
  if (first) {
    closest[i] = d;  // the buffer is still uninitialised: no read
  } else {
    const double old = closest[i];
    closest[i] = d < old ? d : old;
  }
}

// Per chunk, the sum in point order (one thread per chunk).
__global__ void chunk_sums_kernel(const double* values, int64_t n, int64_t chunks, double* out) {
  const int64_t ch = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (ch >= chunks) return;
  const int64_t b = ch * kChunkPoints, e = b + kChunkPoints < n ? b + kChunkPoints : n;
  double s = 0;
  for (int64_t i = b; i < e; ++i) s = add_f64(s, values[i]);
  out[ch] = s;
}

// Potential with each candidate added, per (chunk, trial): sum of min(closest, D^2 to the candidate).
__global__ void candidate_potential_kernel(const float* points, int64_t n, int64_t dim, const double* closest,
                                           const int64_t* candidates, int64_t trials, int64_t chunks,
                                           double* out) {
  const int64_t id = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (id >= chunks * trials) return;
  const int64_t ch = id / trials, t = id % trials;
  const float* cand = points + candidates[t] * dim;
  const int64_t b = ch * kChunkPoints, e = b + kChunkPoints < n ? b + kChunkPoints : n;
  double s = 0;
  for (int64_t i = b; i < e; ++i) {
    const double d = point_squared_distance_f64(points + i * dim, cand, dim);
    const double c = closest[i];
    s = add_f64(s, d < c ? d : c);
  }
  out[ch * trials + t] = s;
}

// Per trial: the chunks' values (out[ch * trials + t]) added in chunk order.
__global__ void sum_over_chunks_kernel(const double* per_chunk, int64_t chunks, int64_t trials, double* out) {
  const int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (t >= trials) return;
  double s = 0;
  for (int64_t ch = 0; ch < chunks; ++ch) s = add_f64(s, per_chunk[ch * trials + t]);
  out[t] = s;
}

// Per trial: the first index whose cumulative D^2 reaches r (numpy searchsorted), as the CPU walks it.
__global__ void search_kernel(const double* chunk_pot, int64_t chunks, const double* closest, int64_t n,
                              Draws draws, int64_t trials, int64_t* candidates) {
  const int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (t >= trials) return;
  const double r = draws.r[t];
  double acc = 0;
  int64_t ch = 0;
  while (ch < chunks - 1 && add_f64(acc, chunk_pot[ch]) < r) acc = add_f64(acc, chunk_pot[ch++]);
  int64_t i = ch * kChunkPoints;
  const int64_t e = i + kChunkPoints < n ? i + kChunkPoints : n;
  for (; i < e; ++i) {
    acc = add_f64(acc, closest[i]);
    if (acc >= r) break;
  }
  candidates[t] = i < n - 1 ? i : n - 1;
}

}  // namespace
}  // namespace dkm::kmeans::cuda

namespace dkm::kmeans {

std::vector<float> cuda_init_kmeans_plus_plus(std::span<const float> points, int64_t dim, int64_t k, uint64_t seed) {
  using namespace cuda;
  require_usable();
  std::string why;
  if (!cuda_supports(dim, k, &why)) throw UsageError("--device cuda: " + why);
  if (points.empty() || points.size() % static_cast<size_t>(dim) != 0)
    throw UsageError(cat("--device cuda: ", points.size(), " values are not a positive multiple of d = ", dim));
  const int64_t n = static_cast<int64_t>(points.size()) / dim;
  const int64_t trials = 2 + static_cast<int64_t>(std::log(static_cast<double>(k)));
  const int64_t chunks = chunk_count(n);
  Rng rng(seed);
  std::vector<float> centers(static_cast<size_t>(k * dim));
  auto take = [&](int64_t c, int64_t index) { std::copy_n(&points[index * dim], dim, &centers[c * dim]); };

  DeviceBuffer<float> dev_points(points.size(), "the points");
  dev_points.upload(points.data(), points.size(), "copying the points to the GPU");
  DeviceBuffer<double> closest(static_cast<size_t>(n), "the k-means++ distances");
  DeviceBuffer<double> chunk_pot(static_cast<size_t>(chunks), "the chunk potentials");
  DeviceBuffer<double> candidate_pot(static_cast<size_t>(chunks * trials), "the candidate potentials");
  DeviceBuffer<double> trial_pot(static_cast<size_t>(trials), "the trial potentials");
  DeviceBuffer<int64_t> candidates(static_cast<size_t>(trials), "the candidates");

  auto refresh = [&](int64_t chosen, int first) {
    update_closest_kernel<<<blocks_for(n), kThreads>>>(dev_points.get(), n, dim, chosen, first, closest.get());
    check_launch("the k-means++ distance kernel");
    chunk_sums_kernel<<<blocks_for(chunks), kThreads>>>(closest.get(), n, chunks, chunk_pot.get());
    check_launch("the k-means++ chunk sum kernel");
  };

  const int64_t first = static_cast<int64_t>(rng.below(static_cast<uint64_t>(n)));
  take(0, first);
  refresh(first, 1);
  double potential = 0;
  sum_over_chunks_kernel<<<1, kThreads>>>(chunk_pot.get(), chunks, 1, trial_pot.get());
  check_launch("the k-means++ potential kernel");
  trial_pot.download(&potential, 1, "copying the k-means++ potential back");

  std::vector<int64_t> host_candidates(static_cast<size_t>(trials));
  std::vector<double> host_pot(static_cast<size_t>(trials));
  for (int64_t c = 1; c < k; ++c) {
    Draws draws{};
    for (int64_t t = 0; t < trials; ++t) draws.r[t] = rng.uniform() * potential;
    search_kernel<<<1, kThreads>>>(chunk_pot.get(), chunks, closest.get(), n, draws, trials, candidates.get());
    check_launch("the k-means++ search kernel");
    candidate_potential_kernel<<<blocks_for(chunks * trials), kThreads>>>(
        dev_points.get(), n, dim, closest.get(), candidates.get(), trials, chunks, candidate_pot.get());
    check_launch("the k-means++ candidate kernel");
    sum_over_chunks_kernel<<<1, kThreads>>>(candidate_pot.get(), chunks, trials, trial_pot.get());
    check_launch("the k-means++ potential kernel");
    candidates.download(host_candidates.data(), host_candidates.size(), "copying the k-means++ candidates back");
    trial_pot.download(host_pot.data(), host_pot.size(), "copying the k-means++ potentials back");
    int64_t best = 0;
    double best_pot = std::numeric_limits<double>::infinity();
    for (int64_t t = 0; t < trials; ++t)
      if (host_pot[t] < best_pot) best_pot = host_pot[t], best = t;
    take(c, host_candidates[best]);
    refresh(host_candidates[best], 0);
    potential = best_pot;
  }
  check(cudaDeviceSynchronize(), "running k-means++");
  return centers;
}

}  // namespace dkm::kmeans

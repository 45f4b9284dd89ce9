// Greedy k-means++ on the device, step for step the CPU's init_kmeans_plus_plus (kmeans/init.cpp):
// D^2 in double, sums over a chunk in runs of 32 points (kmeans/parallel.hpp), chunk potentials in chunk
// order, the candidate search walking chunks, then runs, then points. One block per chunk, one thread per
// run. The random draws stay on the host (the same Rng), so the chosen centres are the CPU's; each step
// brings back only the candidates and their potentials.
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
constexpr int kThreads = 256;   // one per run of a chunk
constexpr int64_t kRunsPerChunk = kChunkPoints / kRunPoints;
static_assert(kThreads == kRunsPerChunk, "a block's threads sum the runs of one chunk");

struct Draws {
  double r[kMaxTrials];
};

// The chunk's sum: its runs' sums (one per thread, in `parts`) added in order by thread 0. Runs past the
// end of the data add +0, which changes nothing.
__device__ double add_runs(const double* parts) {
  double s = 0;
  for (int t = 0; t < kThreads; ++t) s = add_f64(s, parts[t]);
  return s;
}

// closest[i] = min(closest[i], D^2(x_i, chosen)) (`first`: overwritten, the buffer being uninitialised),
// then the run and chunk sums of closest. One block per chunk.
__global__ void refresh_kernel(const float* points, int64_t n, int64_t dim, int64_t chosen, int first,
                               double* closest, double* run_pot, double* chunk_pot) {
  __shared__ double parts[kThreads];
  const int64_t b = blockIdx.x * kChunkPoints, e = b + kChunkPoints < n ? b + kChunkPoints : n;
  for (int64_t i = b + threadIdx.x; i < e; i += kThreads) {  // coalesced
    const double d = point_squared_distance_f64(points + i * dim, points + chosen * dim, dim);
    if (first) {
      closest[i] = d;
    } else {
      const double old = closest[i];
      closest[i] = d < old ? d : old;
    }
  }
  __syncthreads();  // the block's writes to closest are visible to the whole block
  const int64_t r0 = b + int64_t(threadIdx.x) * kRunPoints, r1 = r0 + kRunPoints < e ? r0 + kRunPoints : e;
  double rs = 0;
  for (int64_t i = r0; i < r1; ++i) rs = add_f64(rs, closest[i]);
  if (r0 < e) run_pot[r0 / kRunPoints] = rs;
  parts[threadIdx.x] = rs;
  __syncthreads();
  if (threadIdx.x == 0) chunk_pot[blockIdx.x] = add_runs(parts);
}

// Potential with each candidate added, per (chunk, trial): the chunk's sum of min(closest, D^2 to the
// candidate). One block per chunk.
__global__ void candidate_potential_kernel(const float* points, int64_t n, int64_t dim, const double* closest,
                                           const int64_t* candidates, int64_t trials, double* out) {
  __shared__ double parts[kMaxTrials][kThreads];
  const int64_t b = blockIdx.x * kChunkPoints, e = b + kChunkPoints < n ? b + kChunkPoints : n;
  const int64_t r0 = b + int64_t(threadIdx.x) * kRunPoints, r1 = r0 + kRunPoints < e ? r0 + kRunPoints : e;
  for (int64_t t = 0; t < trials; ++t) {
    const float* cand = points + candidates[t] * dim;
    double rs = 0;
    for (int64_t i = r0; i < r1; ++i) {
      const double d = point_squared_distance_f64(points + i * dim, cand, dim);
      const double c = closest[i];
      rs = add_f64(rs, d < c ? d : c);
    }
    parts[t][threadIdx.x] = rs;
  }
  __syncthreads();
  if (threadIdx.x < trials) out[blockIdx.x * trials + threadIdx.x] = add_runs(parts[threadIdx.x]);
}

// Per trial: the chunks' values (out[ch * trials + t]) added in chunk order.
__global__ void sum_over_chunks_kernel(const double* per_chunk, int64_t chunks, int64_t trials, double* out) {
  const int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (t >= trials) return;
  double s = 0;
  for (int64_t ch = 0; ch < chunks; ++ch) s = add_f64(s, per_chunk[ch * trials + t]);
  out[t] = s;
}

// Per trial: the first index whose cumulative D^2 reaches r (numpy searchsorted), walking chunks, then
// the chunk's runs, then the run's points, as the CPU does.
__global__ void search_kernel(const double* chunk_pot, int64_t chunks, const double* run_pot, int64_t runs,
                              const double* closest, int64_t n, Draws draws, int64_t trials, int64_t* candidates) {
  const int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (t >= trials) return;
  const double r = draws.r[t];
  double acc = 0;
  int64_t ch = 0;
  while (ch < chunks - 1 && add_f64(acc, chunk_pot[ch]) < r) acc = add_f64(acc, chunk_pot[ch++]);
  int64_t run = ch * kRunsPerChunk;
  const int64_t last_run = (run + kRunsPerChunk < runs ? run + kRunsPerChunk : runs) - 1;
  while (run < last_run && add_f64(acc, run_pot[run]) < r) acc = add_f64(acc, run_pot[run++]);
  int64_t i = run * kRunPoints;
  const int64_t e = i + kRunPoints < n ? i + kRunPoints : n;
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
  const int64_t chunks = chunk_count(n), runs = chunk_count(n, kRunPoints);
  Rng rng(seed);
  std::vector<float> centers(static_cast<size_t>(k * dim));
  auto take = [&](int64_t c, int64_t index) { std::copy_n(&points[index * dim], dim, &centers[c * dim]); };

  DeviceBuffer<float> dev_points(points.size(), "the points");
  dev_points.upload(points.data(), points.size(), "copying the points to the GPU");
  DeviceBuffer<double> closest(static_cast<size_t>(n), "the k-means++ distances");
  DeviceBuffer<double> run_pot(static_cast<size_t>(runs), "the run potentials");
  DeviceBuffer<double> chunk_pot(static_cast<size_t>(chunks), "the chunk potentials");
  DeviceBuffer<double> candidate_pot(static_cast<size_t>(chunks * trials), "the candidate potentials");
  DeviceBuffer<double> trial_pot(static_cast<size_t>(trials), "the trial potentials");
  DeviceBuffer<int64_t> candidates(static_cast<size_t>(trials), "the candidates");

  auto refresh = [&](int64_t chosen, int first) {
    refresh_kernel<<<static_cast<unsigned>(chunks), kThreads>>>(dev_points.get(), n, dim, chosen, first,
                                                                closest.get(), run_pot.get(), chunk_pot.get());
    check_launch("the k-means++ distance kernel");
  };

  const int64_t first = static_cast<int64_t>(rng.below(static_cast<uint64_t>(n)));
  take(0, first);
  refresh(first, 1);
  double potential = 0;
  sum_over_chunks_kernel<<<1, kMaxTrials>>>(chunk_pot.get(), chunks, 1, trial_pot.get());
  check_launch("the k-means++ potential kernel");
  trial_pot.download(&potential, 1, "copying the k-means++ potential back");

  std::vector<int64_t> host_candidates(static_cast<size_t>(trials));
  std::vector<double> host_pot(static_cast<size_t>(trials));
  for (int64_t c = 1; c < k; ++c) {
    Draws draws{};
    for (int64_t t = 0; t < trials; ++t) draws.r[t] = rng.uniform() * potential;
    search_kernel<<<1, kMaxTrials>>>(chunk_pot.get(), chunks, run_pot.get(), runs, closest.get(), n, draws, trials,
                                     candidates.get());
    check_launch("the k-means++ search kernel");
    candidate_potential_kernel<<<static_cast<unsigned>(chunks), kThreads>>>(
        dev_points.get(), n, dim, closest.get(), candidates.get(), trials, candidate_pot.get());
    check_launch("the k-means++ candidate kernel");
    sum_over_chunks_kernel<<<1, kMaxTrials>>>(candidate_pot.get(), chunks, trials, trial_pot.get());
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

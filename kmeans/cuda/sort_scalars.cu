// The sorted 1-D path's one expensive step on the device: a stable radix sort of the scalars (CUB, on
// the same order-preserving keys as the host's sort) and the chunked prefix sums of x and x^2, one
// thread per chunk, with the host's operations in the host's order (point_math.hpp), so the result is
// sort_scalars()'s bit for bit. Lloyd's iterations on sorted scalars cost O(K log N) and stay on the host.
#include <cub/device/device_radix_sort.cuh>

#include <climits>

#include "kmeans/cuda/check.hpp"
#include "kmeans/parallel.hpp"
#include "kmeans/point_math.hpp"
#include "models/error.hpp"

namespace dkm::kmeans::cuda {
namespace {

constexpr int kThreads = 256;

unsigned blocks_for(int64_t n) { return static_cast<unsigned>((n + kThreads - 1) / kThreads); }

__global__ void sort_keys_kernel(const float* values, int64_t n, uint32_t* keys, uint32_t* index) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  keys[i] = scalar_sort_key(__float_as_uint(values[i]));
  index[i] = static_cast<uint32_t>(i);
}

__global__ void gather_kernel(const float* values, const uint32_t* index, int64_t n, float* sorted) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i < n) sorted[i] = values[index[i]];
}

// Each chunk's own prefix sums, written where the final ones go (prefix[b + 1 ...]).
__global__ void chunk_prefix_kernel(const float* sorted, int64_t n, int64_t chunks, double* prefix,
                                    double* prefix_sq) {
  const int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (c >= chunks) return;
  const int64_t b = c * kChunkPoints, count = n - b < kChunkPoints ? n - b : kChunkPoints;
  chunk_prefix(sorted + b, count, prefix + b + 1, prefix_sq + b + 1);
}

// One thread: base[c] = the totals of chunks 0..c-1, added in chunk order.
__global__ void chunk_base_kernel(const double* prefix, const double* prefix_sq, int64_t n, int64_t chunks,
                                  double* base, double* base_sq) {
  double s = 0, sq = 0;
  for (int64_t c = 0; c < chunks; ++c) {
    base[c] = s;
    base_sq[c] = sq;
    const int64_t last = (c + 1) * kChunkPoints < n ? (c + 1) * kChunkPoints : n;  // prefix index of its total
    s = add_f64(s, prefix[last]);
    sq = add_f64(sq, prefix_sq[last]);
  }
}

__global__ void add_base_kernel(double* prefix, double* prefix_sq, const double* base, const double* base_sq,
                                int64_t n) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const int64_t c = i / kChunkPoints;
  prefix[i + 1] = add_f64(base[c], prefix[i + 1]);
  prefix_sq[i + 1] = add_f64(base_sq[c], prefix_sq[i + 1]);
}

}  // namespace
}  // namespace dkm::kmeans::cuda

namespace dkm::kmeans {

SortedScalars cuda_sort_scalars(std::span<const float> values) {
  using namespace cuda;
  require_usable();
  const int64_t n = static_cast<int64_t>(values.size());
  if (n < 1 || n > INT_MAX)
    throw UsageError(cat("--device cuda: the GPU sort takes 1 to ", INT_MAX, " scalars, got ", n));
  const int64_t chunks = chunk_count(n);

  DeviceBuffer<float> input(values.size(), "the scalars");
  input.upload(values.data(), values.size(), "copying the scalars to the GPU");
  DeviceBuffer<uint32_t> keys(values.size(), "the sort keys"), keys_out(values.size(), "the sorted keys");
  DeviceBuffer<uint32_t> index(values.size(), "the scalar indexes"), index_out(values.size(), "the sorted indexes");
  sort_keys_kernel<<<blocks_for(n), kThreads>>>(input.get(), n, keys.get(), index.get());
  check_launch("the sort key kernel");
  size_t temp_bytes = 0;
  check(cub::DeviceRadixSort::SortPairs(nullptr, temp_bytes, keys.get(), keys_out.get(), index.get(), index_out.get(),
                                        static_cast<int>(n)),
        "sizing the scalar sort");
  DeviceBuffer<uint8_t> temp(temp_bytes, "the sort's scratch space");
  check(cub::DeviceRadixSort::SortPairs(temp.get(), temp_bytes, keys.get(), keys_out.get(), index.get(),
                                        index_out.get(), static_cast<int>(n)),
        "sorting the scalars");

  DeviceBuffer<float> sorted(values.size(), "the sorted scalars");
  gather_kernel<<<blocks_for(n), kThreads>>>(input.get(), index_out.get(), n, sorted.get());
  check_launch("the gather kernel");
  DeviceBuffer<double> prefix(values.size() + 1, "the prefix sums"), prefix_sq(values.size() + 1, "the prefix sums");
  prefix.zero("clearing the prefix sums");
  prefix_sq.zero("clearing the prefix sums");
  DeviceBuffer<double> base(static_cast<size_t>(chunks), "the chunk bases"), base_sq(static_cast<size_t>(chunks), "the chunk bases");
  chunk_prefix_kernel<<<blocks_for(chunks), kThreads>>>(sorted.get(), n, chunks, prefix.get(), prefix_sq.get());
  check_launch("the chunk prefix kernel");
  chunk_base_kernel<<<1, 1>>>(prefix.get(), prefix_sq.get(), n, chunks, base.get(), base_sq.get());
  check_launch("the chunk base kernel");
  add_base_kernel<<<blocks_for(n), kThreads>>>(prefix.get(), prefix_sq.get(), base.get(), base_sq.get(), n);
  check_launch("the prefix kernel");
  check(cudaDeviceSynchronize(), "sorting the scalars");

  SortedScalars out;
  out.value.resize(values.size());
  out.index.resize(values.size());
  out.prefix.resize(values.size() + 1);
  out.prefix_sq.resize(values.size() + 1);
  sorted.download(out.value.data(), out.value.size(), "copying the sorted scalars back");
  index_out.download(out.index.data(), out.index.size(), "copying the sorted indexes back");
  prefix.download(out.prefix.data(), out.prefix.size(), "copying the prefix sums back");
  prefix_sq.download(out.prefix_sq.data(), out.prefix_sq.size(), "copying the prefix sums back");
  return out;
}

}  // namespace dkm::kmeans

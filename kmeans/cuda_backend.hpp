#pragma once
// The CUDA backend of the assignment seam (kmeans/assign.hpp). The same labels as the CPU backend for
// the same centres (bit-identical distances, lowest index on ties), and the same per-cluster sums bit
// for bit: each block of 8192 points (the CPU's chunk) sums its clusters in point order, and the chunks
// are reduced in chunk order, so Lloyd's iterations follow the CPU's exactly and repeat bit for bit.
//
// Built when CMake finds a CUDA compiler (sm_80 and sm_90). Without it, or without a driver or a device,
// cuda_usable() says why and make_cuda_assigner() throws dkm::UsageError. Failures while running (out
// of GPU memory, a kernel fault) throw CudaError with a one-line message.
//
// Scalars (d == 1) with the sorted path: the GPU sorts them and builds the prefix sums
// (cuda_sort_scalars), the host then runs Lloyd on the sorted ranges (make_sorted_1d_assigner): an
// assignment costs O(K log N) host operations there, less than one kernel launch.
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "kmeans/assign.hpp"
#include "kmeans/scalar_1d.hpp"

namespace dkm::kmeans {

class CudaError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// True when the backend is compiled in and a usable device (compute capability 8.0 or newer) is
// present, with the device's name in *why; otherwise false with the reason in *why (when not null).
bool cuda_usable(std::string* why = nullptr);

// Shapes the kernels take: 1 <= K <= 65536 (labels stored as uint8 up to 256, else uint16), d >= 1.
bool cuda_supports(int64_t dim, int64_t k, std::string* why = nullptr);

// The backend for one set of points (N x dim, row-major); the points are copied to the device once.
// Throws dkm::UsageError when !cuda_usable() or the shape is not supported, CudaError on device failures.
std::unique_ptr<Assigner> make_cuda_assigner(std::span<const float> points, int64_t dim, int64_t k);

// Many small layers in one launch per assignment: each layer has its own points and K, all share dim.
struct CudaLayer {
  std::span<const float> points;  // N x dim
  int64_t k = 0;
};

// An empty centre span leaves that layer's centres and labels as they are (BatchAssigner::assign).
std::unique_ptr<BatchAssigner> make_cuda_batch_assigner(std::span<const CudaLayer> layers, int64_t dim);

// sort_scalars() on the device, the same bits (kmeans/scalar_1d.hpp); 1 <= N <= 2^31 - 1 scalars.
SortedScalars cuda_sort_scalars(std::span<const float> values);

// Greedy k-means++ on the device, the same centres as init_kmeans_plus_plus (kmeans/init.hpp) for the
// same seed: the per-chunk potentials and the candidate search follow the CPU's order, and only the
// candidates' potentials (a few doubles per step) come back to the host, never the N distances.
std::vector<float> cuda_init_kmeans_plus_plus(std::span<const float> points, int64_t dim, int64_t k,
                                              uint64_t seed);

}  // namespace dkm::kmeans

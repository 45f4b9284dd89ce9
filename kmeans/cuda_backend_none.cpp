// The CUDA backend's entry points when dkm is built without a CUDA compiler (or with -DDKM_CUDA=OFF):
// every call says so. With CUDA the same functions come from kmeans/cuda/.
#ifndef DKM_HAVE_CUDA

#include "kmeans/cuda_backend.hpp"
#include "models/error.hpp"

namespace dkm::kmeans {
namespace {

constexpr const char* kNotBuilt = "dkm was built without CUDA (no CUDA compiler found, or -DDKM_CUDA=OFF)";

[[noreturn]] void refuse() { throw UsageError(std::string("--device cuda: ") + kNotBuilt); }

}  // namespace

bool cuda_usable(std::string* why) {
  if (why) *why = kNotBuilt;
  return false;
}

bool cuda_supports(int64_t, int64_t, std::string* why) {
  if (why) *why = kNotBuilt;
  return false;
}

std::unique_ptr<Assigner> make_cuda_assigner(std::span<const float>, int64_t, int64_t) { refuse(); }

std::unique_ptr<BatchAssigner> make_cuda_batch_assigner(std::span<const CudaLayer>, int64_t) { refuse(); }

SortedScalars cuda_sort_scalars(std::span<const float>) { refuse(); }

std::vector<float> cuda_init_kmeans_plus_plus(std::span<const float>, int64_t, int64_t, uint64_t) { refuse(); }

}  // namespace dkm::kmeans

#endif  // DKM_HAVE_CUDA

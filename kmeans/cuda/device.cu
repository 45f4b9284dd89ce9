// Whether the CUDA backend can run here, and which shapes its kernels take.

#include "kmeans/cuda/check.hpp"
#include "models/error.hpp"

namespace dkm::kmeans {

using cuda::cat;

bool cuda_usable(std::string* why) {
  auto fail = [&](std::string reason) {
    if (why) *why = std::move(reason);
    return false;
  };
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e == cudaErrorNoDevice || (e == cudaSuccess && count == 0)) {
    cudaGetLastError();
    return fail("no CUDA device found");
  }
  if (e == cudaErrorInsufficientDriver) {
    cudaGetLastError();
    int driver = 0;
    cudaDriverGetVersion(&driver);
    if (driver == 0) return fail("no NVIDIA driver found (libcuda could not be loaded)");
    return fail(cat("the NVIDIA driver supports CUDA ", driver / 1000, ".", driver % 1000 / 10, ", dkm was built with CUDA ", CUDART_VERSION / 1000, ".", CUDART_VERSION % 1000 / 10));
  }
  if (e != cudaSuccess) {
    cudaGetLastError();
    return fail("CUDA is not usable: " + cuda::error_text(e));
  }
  int device = 0;
  cudaDeviceProp prop{};
  e = cudaGetDevice(&device);
  if (e == cudaSuccess) e = cudaGetDeviceProperties(&prop, device);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return fail("CUDA device query failed: " + cuda::error_text(e));
  }
  if (prop.major < 8)
    return fail(cat(prop.name, " has compute capability ", prop.major, ".", prop.minor, "; dkm's CUDA kernels need 8.0 or newer"));
  e = cudaFree(nullptr);  // creates the context: catches a device that is present but unusable
  if (e != cudaSuccess) {
    cudaGetLastError();
    return fail(cat("cannot use ", prop.name, ": ", cuda::error_text(e)));
  }
  if (why) *why = prop.name;
  return true;
}

bool cuda_supports(int64_t dim, int64_t k, std::string* why) {
  if (dim < 1) {
    if (why) *why = cat("dimension ", dim, " (must be at least 1)");
    return false;
  }
  if (k < 1 || k > 65536) {
    if (why) *why = cat("K = ", k, ": the CUDA kernels take 1 <= K <= 65536 (labels of at most 16 bits)");
    return false;
  }
  return true;
}

namespace cuda {

void require_usable() {
  std::string why;
  if (!cuda_usable(&why)) throw UsageError("--device cuda: " + why);
}

}  // namespace cuda
}  // namespace dkm::kmeans

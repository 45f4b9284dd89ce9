#pragma once
// Every CUDA runtime call goes through check(); a failure becomes a CudaError naming what was being
// done. Device memory lives in DeviceBuffer (freed on scope exit, also when an exception unwinds).
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdio>
#include <sstream>
#include <string>
#include <utility>

#include "kmeans/cuda_backend.hpp"

namespace dkm::kmeans::cuda {

// Messages are built with streams: nvcc's front end cannot compile fmt's consteval format checks.
template <typename... Args>
std::string cat(const Args&... args) {
  std::ostringstream s;
  (s << ... << args);
  return s.str();
}

inline std::string mib(size_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", double(bytes) / 1048576.0);
  return buf;
}

inline std::string error_text(cudaError_t e) { return cat(cudaGetErrorString(e), " (", cudaGetErrorName(e), ")"); }

inline void check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return;
  cudaGetLastError();  // clear a non-sticky error so later calls report their own
  throw CudaError(cat("CUDA error while ", what, ": ", error_text(e)));
}

// After a kernel launch: launch errors now, execution errors at the next synchronising call.
inline void check_launch(const char* kernel) {
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) throw CudaError(cat("CUDA error launching ", kernel, ": ", error_text(e)));
}

template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(size_t count, const char* what) : count_(count) {
    if (count == 0) return;
    const cudaError_t e = cudaMalloc(reinterpret_cast<void**>(&ptr_), count * sizeof(T));
    if (e == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      size_t free_bytes = 0, total_bytes = 0;
      cudaMemGetInfo(&free_bytes, &total_bytes);
      throw CudaError(cat("out of GPU memory: ", what, " needs ", mib(count * sizeof(T)), ", ", mib(free_bytes),
                          " of ", mib(total_bytes), " free (use --device cpu)"));
    }
    check(e, what);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(std::exchange(o.ptr_, nullptr)), count_(std::exchange(o.count_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      release();
      ptr_ = std::exchange(o.ptr_, nullptr);
      count_ = std::exchange(o.count_, 0);
    }
    return *this;
  }
  ~DeviceBuffer() { release(); }

  T* get() const { return ptr_; }
  size_t size() const { return count_; }

  void upload(const T* host, size_t count, const char* what, size_t offset = 0) {
    if (count) check(cudaMemcpy(ptr_ + offset, host, count * sizeof(T), cudaMemcpyHostToDevice), what);
  }
  void download(T* host, size_t count, const char* what, size_t offset = 0) const {
    if (count) check(cudaMemcpy(host, ptr_ + offset, count * sizeof(T), cudaMemcpyDeviceToHost), what);
  }
  void zero(const char* what) {
    if (count_) check(cudaMemset(ptr_, 0, count_ * sizeof(T)), what);
  }

 private:
  void release() {
    if (ptr_) cudaFree(ptr_);  // never throws from a destructor; a failed free leaves nothing to do
    ptr_ = nullptr;
  }
  T* ptr_ = nullptr;
  size_t count_ = 0;
};

// Throws dkm::UsageError with the reason when the backend cannot run here.
void require_usable();

}  // namespace dkm::kmeans::cuda

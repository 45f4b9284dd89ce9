// Measures the CUDA assignment (kmeans/cuda_backend.hpp) against the card's own limits, all in one run:
//   copy bandwidth   cudaMemcpy device-to-device of 1 GiB (bytes read + bytes written per second)
//   FP32 rate        a kernel of independent FMA chains (instructions per second; 2 flops each)
//   assignment       `iters` Lloyd iterations (assign + host centre update) from the first K points
//   scalars (d = 1)  the sorted path's sort and prefix sums on the GPU and on the CPU (-1 when d > 1)
// and prints one JSON object; tools/bench/bench_cuda.py adds the PyTorch baseline and the ratios.
// Usage: dkm_bench_cuda --n N --dim D --k K --iters I [--points file.f32] [--check]
//   --points: N x D float32, row-major, raw (else standard normal points from seed 1)
//   --check:  also run the CPU backend's first assignment and count label differences
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "kmeans/assign.hpp"
#include "kmeans/cuda/check.hpp"
#include "kmeans/cuda_backend.hpp"
#include "kmeans/rng.hpp"
#include "kmeans/scalar_1d.hpp"

namespace {

using dkm::kmeans::cuda::check;
using dkm::kmeans::cuda::check_launch;
using dkm::kmeans::cuda::DeviceBuffer;

constexpr int kChains = 8, kFmaSteps = 4096;

__global__ void fma_kernel(float* out, float a, float b) {
  float v[kChains];
#pragma unroll
  for (int c = 0; c < kChains; ++c) v[c] = float(threadIdx.x + c);
  for (int s = 0; s < kFmaSteps; ++s)
#pragma unroll
    for (int c = 0; c < kChains; ++c) v[c] = __fmaf_rn(v[c], a, b);
  float sum = 0;
#pragma unroll
  for (int c = 0; c < kChains; ++c) sum += v[c];
  out[blockIdx.x * blockDim.x + threadIdx.x] = sum;  // keeps the chains alive
}

double time_events(const std::function<void()>& work, int repeats) {
  cudaEvent_t start, stop;
  check(cudaEventCreate(&start), "creating an event");
  check(cudaEventCreate(&stop), "creating an event");
  work();  // warm-up
  check(cudaEventRecord(start), "recording an event");
  for (int r = 0; r < repeats; ++r) work();
  check(cudaEventRecord(stop), "recording an event");
  check(cudaEventSynchronize(stop), "waiting for the benchmark");
  float ms = 0;
  check(cudaEventElapsedTime(&ms, start, stop), "reading an event");
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return double(ms) / 1000.0 / repeats;
}

// Bytes moved per second by a device-to-device copy (read + write).
double copy_bandwidth() {
  const size_t bytes = size_t(1) << 30;
  DeviceBuffer<char> a(bytes, "the bandwidth buffer"), b(bytes, "the bandwidth buffer");
  const double s = time_events([&] { check(cudaMemcpy(b.get(), a.get(), bytes, cudaMemcpyDeviceToDevice), "copying"); }, 10);
  return 2.0 * double(bytes) / s;
}

// FP32 instructions per second (one FMA = one instruction = 2 flops).
double fp32_instruction_rate() {
  int sms = 0;
  check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0), "querying the SM count");
  const int threads = 256, blocks = sms * 16;
  DeviceBuffer<float> out(size_t(threads) * blocks, "the FMA buffer");
  const double s = time_events([&] {
    fma_kernel<<<blocks, threads>>>(out.get(), 0.999f, 0.001f);
    check_launch("the FMA kernel");
  }, 10);
  return double(threads) * blocks * kChains * kFmaSteps / s;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t n = 10000000, dim = 3, k = 256;
  int iters = 10;
  std::string points_file;
  bool check_cpu = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "dkm_bench_cuda: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--n") n = std::stoll(next());
    else if (a == "--dim") dim = std::stoll(next());
    else if (a == "--k") k = std::stoll(next());
    else if (a == "--iters") iters = std::stoi(next());
    else if (a == "--points") points_file = next();
    else if (a == "--check") check_cpu = true;
    else {
      std::fprintf(stderr, "dkm_bench_cuda: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  try {
    std::string why;
    if (!dkm::kmeans::cuda_usable(&why)) {
      std::fprintf(stderr, "dkm_bench_cuda: no usable GPU: %s\n", why.c_str());
      return 3;
    }
    std::vector<float> points(static_cast<size_t>(n * dim));
    if (!points_file.empty()) {
      std::ifstream in(points_file, std::ios::binary);
      in.read(reinterpret_cast<char*>(points.data()), std::streamsize(points.size() * sizeof(float)));
      if (!in || in.peek() != EOF) {
        std::fprintf(stderr, "dkm_bench_cuda: %s: expected exactly %zu float32 values\n", points_file.c_str(),
                     points.size());
        return 2;
      }
    } else {
      dkm::kmeans::Rng rng(1);
      for (auto& x : points) x = static_cast<float>(rng.normal());
    }
    std::vector<float> centers(points.begin(), points.begin() + k * dim);

    cudaDeviceProp prop{};
    check(cudaGetDeviceProperties(&prop, 0), "querying the device");
    const double bandwidth = copy_bandwidth();
    const double fp32 = fp32_instruction_rate();

    auto t0 = std::chrono::steady_clock::now();
    auto gpu = dkm::kmeans::make_cuda_assigner(points, dim, k);
    auto t1 = std::chrono::steady_clock::now();
    std::vector<float> first_centers = centers;
    double inertia = 0;
    for (int it = 0; it < iters; ++it) {
      const dkm::kmeans::AssignTotals t = gpu->assign(centers);
      inertia = t.inertia;
      for (int64_t c = 0; c < k; ++c)
        if (t.counts[c] > 0)
          for (int64_t j = 0; j < dim; ++j) centers[c * dim + j] = float(t.sums[c * dim + j] / double(t.counts[c]));
    }
    auto t2 = std::chrono::steady_clock::now();
    const double setup_s = std::chrono::duration<double>(t1 - t0).count();
    const double iter_s = std::chrono::duration<double>(t2 - t1).count() / iters;

    int64_t label_mismatches = -1;
    if (check_cpu) {
      auto cpu = dkm::kmeans::make_cpu_assigner(points, dim, k, 0, false);
      auto again = dkm::kmeans::make_cuda_assigner(points, dim, k);
      cpu->assign(first_centers);
      again->assign(first_centers);
      std::vector<int32_t> a(static_cast<size_t>(n)), b(static_cast<size_t>(n));
      cpu->labels(a);
      again->labels(b);
      label_mismatches = 0;
      for (int64_t i = 0; i < n; ++i) label_mismatches += a[i] != b[i];
    }

    // Scalars: the sorted path's one-time sort and prefix sums, on the GPU and on the CPU, and whether
    // they agree bit for bit (Lloyd then runs on the host either way).
    double sort_gpu_s = -1, sort_cpu_s = -1;
    int sorted_identical = -1;
    if (dim == 1) {
      const auto s0 = std::chrono::steady_clock::now();
      const dkm::kmeans::SortedScalars on_gpu = dkm::kmeans::cuda_sort_scalars(points);
      const auto s1 = std::chrono::steady_clock::now();
      const dkm::kmeans::SortedScalars on_cpu = dkm::kmeans::sort_scalars(points);
      const auto s2 = std::chrono::steady_clock::now();
      sort_gpu_s = std::chrono::duration<double>(s1 - s0).count();
      sort_cpu_s = std::chrono::duration<double>(s2 - s1).count();
      auto same = [](const auto& a, const auto& b) {
        return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(a[0])) == 0;
      };
      sorted_identical = same(on_gpu.value, on_cpu.value) && same(on_gpu.index, on_cpu.index) &&
                         same(on_gpu.prefix, on_cpu.prefix) && same(on_gpu.prefix_sq, on_cpu.prefix_sq);
    }

    // Limits per point-centre pair: 3d FP32 instructions (subtract, multiply, add per dimension; no FMA,
    // so the CPU's rounding is kept) + 1 compare; bytes: the point read twice (distances, then sums),
    // its label and distance written once, all shared by the K centres.
    const double instr_per_pair = 3.0 * double(dim) + 1.0;
    const double label_bytes = k <= 256 ? 1.0 : 2.0;
    const double bytes_per_pair = (8.0 * double(dim) + label_bytes + 4.0) / double(k);
    const double limit_compute = fp32 / instr_per_pair;
    const double limit_memory = bandwidth / bytes_per_pair;
    const double limit = std::min(limit_compute, limit_memory);
    const double pairs_per_s = double(n) * double(k) / iter_s;
    std::printf(
        "{\"device\": \"%s\", \"n\": %lld, \"dim\": %lld, \"k\": %lld, \"iters\": %d, \"setup_s\": %.6f, "
        "\"seconds_per_iter\": %.6f, \"pairs_per_s\": %.6e, \"copy_bytes_per_s\": %.6e, "
        "\"fp32_instr_per_s\": %.6e, \"instr_per_pair\": %g, \"bytes_per_pair\": %.6f, "
        "\"limit_compute_pairs_per_s\": %.6e, \"limit_memory_pairs_per_s\": %.6e, "
        "\"fraction_of_limit\": %.4f, \"final_inertia\": %.17g, \"label_mismatches_vs_cpu\": %lld, "
        "\"sorted_1d_sort_gpu_s\": %.6f, \"sorted_1d_sort_cpu_s\": %.6f, \"sorted_1d_identical\": %d}\n",
        prop.name, (long long)n, (long long)dim, (long long)k, iters, setup_s, iter_s, pairs_per_s, bandwidth, fp32,
        instr_per_pair, bytes_per_pair, limit_compute, limit_memory, pairs_per_s / limit, inertia,
        (long long)label_mismatches, sort_gpu_s, sort_cpu_s, sorted_identical);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dkm_bench_cuda: %s\n", e.what());
    return 1;
  }
  return 0;
}

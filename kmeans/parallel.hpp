#pragma once
// Work split into fixed-size chunks handed to std::threads. Chunk boundaries never depend on the
// thread count and callers keep per-chunk partial results, reduced in chunk order, so results are
// bit-identical for any number of threads.
#include <cstdint>
#include <functional>

namespace dkm::kmeans {

inline constexpr int64_t kChunkPoints = 8192;
// A sum over a chunk (the inertia, the k-means++ potentials) is taken in runs of 32 consecutive points:
// each run in point order from 0, then the runs in order. The GPU sums the runs in parallel and still
// gives the CPU's bits.
inline constexpr int64_t kRunPoints = 32;

inline int64_t chunk_count(int64_t n, int64_t chunk = kChunkPoints) { return (n + chunk - 1) / chunk; }

// The sum of value(i) over [begin, end) in runs of kRunPoints from begin, as above; run_sum(run_begin, s)
// is handed each run's sum.
template <typename Value, typename RunSum>
double sum_in_runs(int64_t begin, int64_t end, Value&& value, RunSum&& run_sum) {
  double total = 0;
  for (int64_t r = begin; r < end; r += kRunPoints) {
    const int64_t run_end = r + kRunPoints < end ? r + kRunPoints : end;
    double s = 0;
    for (int64_t i = r; i < run_end; ++i) s += value(i);
    run_sum(r, s);
    total += s;
  }
  return total;
}

template <typename Value>
double sum_in_runs(int64_t begin, int64_t end, Value&& value) {
  return sum_in_runs(begin, end, value, [](int64_t, double) {});
}

// 0 = all hardware threads.
int resolve_threads(int threads);

// Calls fn(chunk) for chunk in [0, chunks) on up to `threads` threads; rethrows the first exception.
void parallel_chunks(int64_t chunks, int threads, const std::function<void(int64_t)>& fn);

}  // namespace dkm::kmeans

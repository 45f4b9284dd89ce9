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

// 0 = all hardware threads.
int resolve_threads(int threads);

// Calls fn(chunk) for chunk in [0, chunks) on up to `threads` threads; rethrows the first exception.
void parallel_chunks(int64_t chunks, int threads, const std::function<void(int64_t)>& fn);

}  // namespace dkm::kmeans

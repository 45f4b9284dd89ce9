// The assignment, in three kernels per launch range. The label kernel gives every point its nearest
// centre (centres in shared memory; eight points per thread held in registers while the centres stream
// past), in blocks of a quarter chunk. (Fusing it with the totals kernel, one block per chunk, measured
// about 8 % faster on an H200 with the same arithmetic: docs/benchmarks.md, "CUDA".) The totals kernel
// takes one CPU chunk of 8192 points per block: it sorts the chunk's labels stably (CUB block radix sort
// on the label bits of keys that carry the point index below them), so each cluster's points sit together
// in point order, and one thread per cluster sums them in that order; the chunk's inertia is summed in
// runs of 32 points, as on the CPU. So the chunk's partial sums are the CPU's bit for bit, without float
// atomics. The reduction kernel adds the chunks' partials in chunk order. Layers of a batch share the
// launches.
#include <cub/block/block_radix_sort.cuh>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <numeric>
#include <vector>

#include "kmeans/cuda/check.hpp"
#include "kmeans/parallel.hpp"
#include "kmeans/point_math.hpp"
#include "models/error.hpp"

namespace dkm::kmeans::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kItems = 32;  // totals kernel: points per thread in a chunk
constexpr int kChunk = kThreads * kItems;
static_assert(kChunk == kChunkPoints, "a block sums one CPU chunk, so its sums are the CPU's bit for bit");
static_assert(kItems == kRunPoints, "a thread sums one run of the chunk's inertia");
constexpr int kPointsPerThread = 8;                      // label kernel: register blocking over points
constexpr int kTile = kThreads * kPointsPerThread;       // label kernel: points per block
constexpr int kTilesPerChunk = kChunk / kTile;
static_assert(kTilesPerChunk * kTile == kChunk);
constexpr int64_t kSmemCenterFloats = 8192;              // larger centre sets are read through L1
constexpr int64_t kScratchDoubles = int64_t(32) << 20;  // per-chunk partial sums of one launch: 256 MiB

struct LayerDesc {
  int64_t point_begin;   // first point in the concatenated points
  int64_t n;             // points
  int64_t k;             // centres
  int64_t center_begin;  // offset (floats) of its centres in the concatenated centres
  int64_t chunk_begin;   // first global chunk
  int64_t chunk_end;
  int64_t count_begin;   // offset of its K counts; its K x d sums start at count_begin * d
};

// What the label and totals kernels of one launch range read and write.
struct ChunkArgs {
  const float* points;
  int64_t dim;
  const LayerDesc* layers;
  const int32_t* chunk_layer;        // global chunk -> layer
  const int64_t* chunk_sums_offset;  // global chunk -> offset of its K x d partial sums
  int64_t first_chunk;               // global chunk of the range's first chunk
  int64_t sums_base;                 // chunk_sums_offset[first_chunk]
  const float* centers;
  void* labels;
  float* dist2;
  double* partial_sums;
  double* partial_inertia;       // per chunk of the range
  unsigned long long* counts;    // totals (integers: atomics are exact in any order)
  unsigned long long* changed;   // totals per layer
  int has_previous;              // 0 on the first call: every point counts as changed
  int key_bits;                  // label bits the sort looks at
  int centers_in_smem;
};

// Where a block's chunk lies: its layer, and the chunk's first point and point count within it.
struct ChunkPlace {
  int32_t layer;
  LayerDesc desc;
  int64_t first;
  int m;
};

__device__ ChunkPlace place_chunk(const ChunkArgs& a, int64_t g) {
  ChunkPlace p;
  p.layer = a.chunk_layer[g];
  p.desc = a.layers[p.layer];
  p.first = (g - p.desc.chunk_begin) * kChunk;
  p.m = static_cast<int>(p.desc.n - p.first < kChunk ? p.desc.n - p.first : kChunk);
  return p;
}

// Three blocks per SM (at most 85 registers): each thread's eight points, their best distances and labels
// stay in registers.
template <int D, typename LabelT>
__global__ void __launch_bounds__(kThreads, 3) label_kernel(ChunkArgs a) {
  __shared__ unsigned int block_changed;
  extern __shared__ float smem_centers[];

  const ChunkPlace c = place_chunk(a, a.first_chunk + blockIdx.x / kTilesPerChunk);
  const int tile_first = (blockIdx.x % kTilesPerChunk) * kTile;  // within the chunk
  if (tile_first >= c.m) return;  // past the end of the layer's last chunk: the whole block leaves
  const int m = min(c.m - tile_first, kTile);
  const int64_t dim = D > 0 ? D : a.dim;
  const int64_t gp = c.desc.point_begin + c.first + tile_first;
  const float* x0 = a.points + gp * dim;
  LabelT* labels = static_cast<LabelT*>(a.labels) + gp;
  float* dist2 = a.dist2 + gp;
  const int64_t k = c.desc.k;

  const float* centers = a.centers + c.desc.center_begin;
  if (a.centers_in_smem) {
    for (int64_t i = threadIdx.x; i < k * dim; i += kThreads) smem_centers[i] = centers[i];
    centers = smem_centers;
  }
  if (threadIdx.x == 0) block_changed = 0;
  __syncthreads();

  unsigned int changed = 0;
  auto store = [&](int i, int32_t label, float d2) {
    const LabelT l = static_cast<LabelT>(label);
    changed += a.has_previous ? (labels[i] != l) : 1u;
    labels[i] = l;
    dist2[i] = d2;
  };
  if constexpr (D > 0) {
    float x[kPointsPerThread][D], best[kPointsPerThread];
    int32_t label[kPointsPerThread];
#pragma unroll
    for (int p = 0; p < kPointsPerThread; ++p) {
      const int src = min(static_cast<int>(threadIdx.x) + kThreads * p, m - 1);  // results past m are dropped
#pragma unroll
      for (int j = 0; j < D; ++j) x[p][j] = x0[int64_t(src) * D + j];
      best[p] = __int_as_float(0x7f800000);
      label[p] = 0;
    }
    const int32_t k32 = static_cast<int32_t>(k);
#pragma unroll 4
    for (int32_t cc = 0; cc < k32; ++cc) {
      const float* center = centers + int64_t(cc) * D;
#pragma unroll
      for (int p = 0; p < kPointsPerThread; ++p)
        keep_nearest(point_squared_distance_fixed<D>(x[p], center), cc, best[p], label[p]);
    }
#pragma unroll
    for (int p = 0; p < kPointsPerThread; ++p) {
      const int i = threadIdx.x + kThreads * p;
      if (i < m) store(i, label[p], best[p]);
    }
  } else {
    for (int i = threadIdx.x; i < m; i += kThreads) {
      const Nearest r = nearest_center(x0 + int64_t(i) * dim, centers, k, dim);
      store(i, r.center, r.d2);
    }
  }
  atomicAdd(&block_changed, changed);
  __syncthreads();
  if (threadIdx.x == 0) atomicAdd(&a.changed[c.layer], static_cast<unsigned long long>(block_changed));
}

// A sorted entry: the label above kIndexBits, the point's index in its chunk below.
constexpr int kIndexBits = 13;
static_assert(kChunk == 1 << kIndexBits, "a chunk's point index fills the low bits of a sort key");

// First position among the chunk's sorted entries whose label is >= value.
__device__ int lower_bound_label(const uint32_t* sorted, int n, int64_t value) {
  int lo = 0, hi = n;
  while (lo < hi) {
    const int mid = (lo + hi) / 2;
    if (int64_t(sorted[mid] >> kIndexBits) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// Two blocks per SM (at most 128 registers: the sort holds 32 keys per thread).
template <typename LabelT>
__global__ void __launch_bounds__(kThreads, 2) chunk_totals_kernel(ChunkArgs a) {
  // Keys only: the point index rides in the low bits, so no value array doubles the registers.
  using Sort = cub::BlockRadixSort<uint32_t, kThreads, kItems>;
  __shared__ union {
    typename Sort::TempStorage sort;
    uint32_t sorted[kChunk];
  } smem;
  __shared__ double run_inertia[kThreads];

  const int64_t g = a.first_chunk + blockIdx.x;
  const ChunkPlace c = place_chunk(a, g);
  const int64_t dim = a.dim, m = c.m;
  const int64_t gp = c.desc.point_begin + c.first;
  const float* x0 = a.points + gp * dim;
  const LabelT* labels = static_cast<const LabelT*>(a.labels) + gp;
  const float* dist2 = a.dist2 + gp;

  // Blocked arrangement: thread t holds points 32t .. 32t+31, one run of the chunk's inertia. Padding
  // past m takes the largest label and the largest indexes, so it sorts after every point.
  double run = 0;
  for (int q = 0; q < kItems; ++q) {
    const int i = threadIdx.x * kItems + q;
    if (i < m) run = add_f64(run, static_cast<double>(dist2[i]));
  }
  run_inertia[threadIdx.x] = run;
  uint32_t keys[kItems];
#pragma unroll
  for (int q = 0; q < kItems; ++q) {
    const int i = threadIdx.x * kItems + q;
    const uint32_t label = i < m ? static_cast<uint32_t>(labels[i]) : 0xFFFFu;
    keys[q] = label << kIndexBits | static_cast<uint32_t>(i);
  }
  Sort(smem.sort).Sort(keys, kIndexBits, kIndexBits + a.key_bits);
  __syncthreads();  // the sort's storage becomes the sorted array
#pragma unroll
  for (int q = 0; q < kItems; ++q) smem.sorted[threadIdx.x * kItems + q] = keys[q];
  __syncthreads();

  double* sums = a.partial_sums + (a.chunk_sums_offset[g] - a.sums_base);
  for (int64_t cl = threadIdx.x; cl < c.desc.k; cl += kThreads) {
    const int lo = lower_bound_label(smem.sorted, m, cl), hi = lower_bound_label(smem.sorted, m, cl + 1);
    if (hi > lo) atomicAdd(&a.counts[c.desc.count_begin + cl], static_cast<unsigned long long>(hi - lo));
    for (int64_t j = 0; j < dim; ++j) {
      double s = 0;
      for (int p = lo; p < hi; ++p)
        s = add_f64(s, static_cast<double>(x0[int64_t(smem.sorted[p] & (kChunk - 1)) * dim + j]));
      sums[cl * dim + j] = s;
    }
  }
  if (threadIdx.x == 0) {  // the runs in order, as the CPU adds them (runs past m add +0: no change)
    double s = 0;
    for (int t = 0; t < kThreads; ++t) s = add_f64(s, run_inertia[t]);
    a.partial_inertia[blockIdx.x] = s;
  }
}

struct ReduceArgs {
  const LayerDesc* layers;
  int64_t layer_count;
  int64_t dim;
  const int64_t* chunk_sums_offset;
  int64_t first_chunk, end_chunk, sums_base;
  const double* partial_sums;
  const double* partial_inertia;
  double* sums;     // running totals: layer l's sums start at count_begin * dim
  double* inertia;  // running totals per layer
  int64_t total_sums;
};

// One thread per output adds the launch's chunks in chunk order onto the running total.
__global__ void reduce_chunks_kernel(ReduceArgs a) {
  const int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (o >= a.total_sums + a.layer_count) return;
  int64_t l = 0;
  if (o < a.total_sums) {
    int64_t hi = a.layer_count;
    while (hi - l > 1) {
      const int64_t mid = (l + hi) / 2;
      if (a.layers[mid].count_begin * a.dim <= o) l = mid;
      else hi = mid;
    }
  } else {
    l = o - a.total_sums;
  }
  const LayerDesc L = a.layers[l];
  const int64_t g0 = a.first_chunk > L.chunk_begin ? a.first_chunk : L.chunk_begin;
  const int64_t g1 = a.end_chunk < L.chunk_end ? a.end_chunk : L.chunk_end;
  if (o < a.total_sums) {
    const int64_t e = o - L.count_begin * a.dim;
    double s = a.sums[o];
#pragma unroll 16  // the loads are independent; only the adds are chained (in chunk order)
    for (int64_t g = g0; g < g1; ++g) s = add_f64(s, a.partial_sums[a.chunk_sums_offset[g] - a.sums_base + e]);
    a.sums[o] = s;
  } else {
    double s = a.inertia[l];
    for (int64_t g = g0; g < g1; ++g) s = add_f64(s, a.partial_inertia[g - a.first_chunk]);
    a.inertia[l] = s;
  }
}

template <int D, typename LabelT>
void launch_labels(const ChunkArgs& args, int64_t chunks, size_t smem_bytes) {
  // The largest centre set once per kernel, never lowered: another thread's launch of the same kernel
  // may need it between this thread's setting and launching.
  static const cudaError_t raised = cudaFuncSetAttribute(
      label_kernel<D, LabelT>, cudaFuncAttributeMaxDynamicSharedMemorySize,
      static_cast<int>(kSmemCenterFloats * sizeof(float)));
  check(raised, "setting the label kernel's shared memory");
  label_kernel<D, LabelT><<<static_cast<unsigned>(chunks * kTilesPerChunk), kThreads, smem_bytes>>>(args);
  check_launch("the label kernel");
}

template <typename LabelT>
void launch_chunk(const ChunkArgs& args, int64_t chunks, size_t smem_bytes) {
  switch (args.dim) {
    case 1: launch_labels<1, LabelT>(args, chunks, smem_bytes); break;
    case 2: launch_labels<2, LabelT>(args, chunks, smem_bytes); break;
    case 3: launch_labels<3, LabelT>(args, chunks, smem_bytes); break;
    case 4: launch_labels<4, LabelT>(args, chunks, smem_bytes); break;
    default: launch_labels<0, LabelT>(args, chunks, smem_bytes); break;
  }
  chunk_totals_kernel<LabelT><<<static_cast<unsigned>(chunks), kThreads>>>(args);
  check_launch("the chunk totals kernel");
}

class DeviceBatch final : public BatchAssigner {
 public:
  DeviceBatch(std::span<const CudaLayer> layers, int64_t dim) : dim_(dim) {
    require_usable();
    if (layers.empty()) throw UsageError("--device cuda: no layers to cluster");
    int64_t points = 0, centers = 0, counts = 0, chunks = 0, sums_offset = 0;
    for (size_t l = 0; l < layers.size(); ++l) {
      const CudaLayer& in = layers[l];
      std::string why;
      if (!cuda_supports(dim, in.k, &why)) throw UsageError("--device cuda: " + why);
      if (in.points.empty() || in.points.size() % static_cast<size_t>(dim) != 0)
        throw UsageError(cat("--device cuda: layer ", l, " has ", in.points.size(), " values, not a positive multiple of d = ", dim));
      LayerDesc d{};
      d.point_begin = points;
      d.n = static_cast<int64_t>(in.points.size()) / dim;
      d.k = in.k;
      d.center_begin = centers;
      d.chunk_begin = chunks;
      d.chunk_end = chunks + chunk_count(d.n, kChunk);
      d.count_begin = counts;
      for (int64_t g = d.chunk_begin; g < d.chunk_end; ++g) {
        chunk_layer_.push_back(static_cast<int32_t>(l));
        chunk_sums_offset_.push_back(sums_offset);
        sums_offset += d.k * dim;
      }
      points += d.n;
      centers += d.k * dim;
      counts += d.k;
      chunks = d.chunk_end;
      max_k_ = std::max(max_k_, d.k);
      layers_.push_back(d);
    }
    chunk_sums_offset_.push_back(sums_offset);
    total_points_ = points;
    total_centers_ = centers;
    total_counts_ = counts;
    have_centers_.assign(layers_.size(), false);
    // A launch's partial sums fill at most the scratch budget, or one chunk's when that is larger.
    const int64_t max_range_sums = std::max(std::min(sums_offset, kScratchDoubles), max_k_ * dim);
    const int64_t max_range_chunks = chunks;
    label_bytes_ = max_k_ <= 256 ? 1 : 2;
    key_bits_ = std::max(1, static_cast<int>(std::bit_width(static_cast<uint64_t>(max_k_ - 1))));
    centers_in_smem_ = max_k_ * dim <= kSmemCenterFloats;

    points_ = DeviceBuffer<float>(static_cast<size_t>(points * dim), "the points");
    for (size_t l = 0; l < layers.size(); ++l)
      points_.upload(layers[l].points.data(), layers[l].points.size(), "copying the points to the GPU",
                     static_cast<size_t>(layers_[l].point_begin * dim));
    labels_ = DeviceBuffer<uint8_t>(static_cast<size_t>(points) * label_bytes_, "the labels");
    labels_.zero("clearing the labels");
    dist2_ = DeviceBuffer<float>(static_cast<size_t>(points), "the distances");
    centers_ = DeviceBuffer<float>(static_cast<size_t>(centers), "the centres");
    layer_desc_ = DeviceBuffer<LayerDesc>(layers_.size(), "the layer table");
    layer_desc_.upload(layers_.data(), layers_.size(), "copying the layer table");
    chunk_layer_dev_ = DeviceBuffer<int32_t>(chunk_layer_.size(), "the chunk table");
    chunk_layer_dev_.upload(chunk_layer_.data(), chunk_layer_.size(), "copying the chunk table");
    chunk_sums_offset_dev_ = DeviceBuffer<int64_t>(chunk_sums_offset_.size(), "the chunk offsets");
    chunk_sums_offset_dev_.upload(chunk_sums_offset_.data(), chunk_sums_offset_.size(), "copying the chunk offsets");
    partial_sums_ = DeviceBuffer<double>(static_cast<size_t>(max_range_sums), "the per-chunk sums");
    partial_inertia_ = DeviceBuffer<double>(static_cast<size_t>(max_range_chunks), "the per-chunk inertia");
    sums_ = DeviceBuffer<double>(static_cast<size_t>(counts * dim), "the cluster sums");
    inertia_ = DeviceBuffer<double>(layers_.size(), "the inertia");
    counts_ = DeviceBuffer<unsigned long long>(static_cast<size_t>(counts), "the cluster counts");
    changed_ = DeviceBuffer<unsigned long long>(layers_.size(), "the changed counts");
  }

  size_t layers() const override { return layers_.size(); }

  std::vector<AssignTotals> assign(std::span<const std::span<const float>> centers) override {
    if (centers.size() != layers_.size())
      throw UsageError(cat("--device cuda: ", centers.size(), " centre sets for ", layers_.size(), " layers"));
    // Every layer is checked before any state changes, so a refused call leaves the batch as it was.
    std::vector<bool> active(layers_.size());
    for (size_t l = 0; l < layers_.size(); ++l) {
      const size_t want = static_cast<size_t>(layers_[l].k * dim_);
      if (centers[l].empty() && have_centers_[l]) continue;  // left as it is
      if (centers[l].size() != want)
        throw UsageError(cat("--device cuda: layer ", l, " has ", centers[l].size(), " centre values, expected K x d = ", want));
      active[l] = true;
    }
    host_centers_.resize(static_cast<size_t>(total_centers_));
    for (size_t l = 0; l < layers_.size(); ++l) {
      if (!active[l]) continue;
      std::copy(centers[l].begin(), centers[l].end(), host_centers_.begin() + layers_[l].center_begin);
      have_centers_[l] = true;
    }
    std::vector<AssignTotals> out(layers_.size());
    const auto ranges = launch_ranges(active);
    if (ranges.empty()) return out;
    centers_.upload(host_centers_.data(), host_centers_.size(), "copying the centres to the GPU");
    sums_.zero("clearing the sums");
    inertia_.zero("clearing the inertia");
    counts_.zero("clearing the counts");
    changed_.zero("clearing the changed counts");

    const size_t smem = centers_in_smem_ ? static_cast<size_t>(max_k_ * dim_) * sizeof(float) : 0;
    for (const auto& [g0, g1] : ranges) {
      ChunkArgs a{points_.get(), dim_, layer_desc_.get(), chunk_layer_dev_.get(), chunk_sums_offset_dev_.get(),
                  g0, chunk_sums_offset_[g0], centers_.get(), labels_.get(), dist2_.get(), partial_sums_.get(),
                  partial_inertia_.get(), counts_.get(), changed_.get(), has_previous_ ? 1 : 0, key_bits_,
                  centers_in_smem_ ? 1 : 0};
      if (label_bytes_ == 1) launch_chunk<uint8_t>(a, g1 - g0, smem);
      else launch_chunk<uint16_t>(a, g1 - g0, smem);

      ReduceArgs r{layer_desc_.get(), static_cast<int64_t>(layers_.size()), dim_, chunk_sums_offset_dev_.get(),
                   g0, g1, chunk_sums_offset_[g0], partial_sums_.get(), partial_inertia_.get(), sums_.get(),
                   inertia_.get(), total_counts_ * dim_};
      const int64_t outputs = total_counts_ * dim_ + static_cast<int64_t>(layers_.size());
      reduce_chunks_kernel<<<static_cast<unsigned>((outputs + 255) / 256), 256>>>(r);
      check_launch("the chunk reduction kernel");
    }
    check(cudaDeviceSynchronize(), "running the assignment kernels");
    has_previous_ = true;

    std::vector<double> sums(static_cast<size_t>(total_counts_ * dim_)), inertia(layers_.size());
    std::vector<unsigned long long> counts(static_cast<size_t>(total_counts_)), changed(layers_.size());
    sums_.download(sums.data(), sums.size(), "copying the sums back");
    inertia_.download(inertia.data(), inertia.size(), "copying the inertia back");
    counts_.download(counts.data(), counts.size(), "copying the counts back");
    changed_.download(changed.data(), changed.size(), "copying the changed counts back");
    for (size_t l = 0; l < layers_.size(); ++l) {
      if (!active[l]) continue;
      const LayerDesc& d = layers_[l];
      out[l].sums.assign(sums.begin() + d.count_begin * dim_, sums.begin() + (d.count_begin + d.k) * dim_);
      out[l].counts.assign(counts.begin() + d.count_begin, counts.begin() + d.count_begin + d.k);
      out[l].inertia = inertia[l];
      out[l].changed = static_cast<int64_t>(changed[l]);
    }
    return out;
  }

  std::vector<Farthest> farthest(size_t layer, int64_t count, std::span<const int64_t> counts) override {
    const LayerDesc& d = at(layer);
    if (static_cast<int64_t>(counts.size()) != d.k)
      throw UsageError(cat("--device cuda: ", counts.size(), " cluster sizes for K = ", d.k));
    // Only asked for when a cluster is empty, so one copy of this layer's N distances is fine.
    std::vector<float> dist2(static_cast<size_t>(d.n));
    dist2_.download(dist2.data(), dist2.size(), "copying the distances back", static_cast<size_t>(d.point_begin));
    std::vector<int32_t> labels(static_cast<size_t>(d.n));
    this->labels(layer, std::span<int32_t>(labels.data(), labels.size()));
    return farthest_points<float>(dist2, labels, count, counts);  // the CPU backend's rule, on the host
  }

  void labels(size_t layer, std::span<int32_t> out) const override {
    const LayerDesc& d = at(layer);
    if (static_cast<int64_t>(out.size()) != d.n)
      throw UsageError(cat("--device cuda: ", out.size(), " label slots for ", d.n, " points"));
    std::vector<uint8_t> raw(static_cast<size_t>(d.n) * label_bytes_);
    labels_.download(raw.data(), raw.size(), "copying the labels back",
                     static_cast<size_t>(d.point_begin) * label_bytes_);
    for (int64_t i = 0; i < d.n; ++i) {
      if (label_bytes_ == 1) {
        out[i] = raw[i];
      } else {
        uint16_t v;
        std::memcpy(&v, &raw[static_cast<size_t>(i) * 2], 2);
        out[i] = v;
      }
    }
  }

 private:
  // Launches over the active layers' chunks: one per run of consecutive active layers, split further
  // only where the partial sums would overflow the scratch budget. Finished layers get no blocks (the
  // small reduction and the copies back still cover every layer).
  std::vector<std::pair<int64_t, int64_t>> launch_ranges(const std::vector<bool>& active) const {
    std::vector<std::pair<int64_t, int64_t>> ranges;
    for (size_t l = 0; l < layers_.size();) {
      if (!active[l]) {
        ++l;
        continue;
      }
      size_t e = l;
      while (e < layers_.size() && active[e]) ++e;
      const int64_t end = layers_[e - 1].chunk_end;
      for (int64_t g0 = layers_[l].chunk_begin; g0 < end;) {
        int64_t g1 = g0 + 1;
        while (g1 < end && chunk_sums_offset_[g1 + 1] - chunk_sums_offset_[g0] <= kScratchDoubles) ++g1;
        ranges.emplace_back(g0, g1);
        g0 = g1;
      }
      l = e;
    }
    return ranges;
  }

  const LayerDesc& at(size_t layer) const {
    if (layer >= layers_.size())
      throw UsageError(cat("--device cuda: layer ", layer, " of a batch of ", layers_.size()));
    return layers_[layer];
  }

  int64_t dim_;
  int64_t max_k_ = 0, total_points_ = 0, total_centers_ = 0, total_counts_ = 0;
  size_t label_bytes_ = 1;
  int key_bits_ = 1;
  bool centers_in_smem_ = true;
  bool has_previous_ = false;
  std::vector<LayerDesc> layers_;
  std::vector<int32_t> chunk_layer_;
  std::vector<int64_t> chunk_sums_offset_;  // one past the last chunk too
  std::vector<bool> have_centers_;  // each layer has been given centres once
  std::vector<float> host_centers_;
  DeviceBuffer<float> points_, dist2_, centers_;
  DeviceBuffer<uint8_t> labels_;
  DeviceBuffer<LayerDesc> layer_desc_;
  DeviceBuffer<int32_t> chunk_layer_dev_;
  DeviceBuffer<int64_t> chunk_sums_offset_dev_;
  DeviceBuffer<double> partial_sums_, partial_inertia_, sums_, inertia_;
  DeviceBuffer<unsigned long long> counts_, changed_;
};

class SingleAssigner final : public Assigner {
 public:
  SingleAssigner(std::span<const float> points, int64_t dim, int64_t k)
      : batch_(std::array<CudaLayer, 1>{CudaLayer{points, k}}, dim) {}

  AssignTotals assign(std::span<const float> centers) override {
    const std::span<const float> one[1] = {centers};
    return std::move(batch_.assign(one)[0]);
  }
  std::vector<Farthest> farthest(int64_t count, std::span<const int64_t> counts) override {
    return batch_.farthest(0, count, counts);
  }
  void labels(std::span<int32_t> out) const override { batch_.labels(0, out); }

 private:
  DeviceBatch batch_;
};

}  // namespace
}  // namespace dkm::kmeans::cuda

namespace dkm::kmeans {

std::unique_ptr<Assigner> make_cuda_assigner(std::span<const float> points, int64_t dim, int64_t k) {
  return std::make_unique<cuda::SingleAssigner>(points, dim, k);
}

std::unique_ptr<BatchAssigner> make_cuda_batch_assigner(std::span<const CudaLayer> layers, int64_t dim) {
  return std::make_unique<cuda::DeviceBatch>(layers, dim);
}

}  // namespace dkm::kmeans

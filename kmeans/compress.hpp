#pragma once
// The k-means stage of the pipeline: a model's weights and a resolved plan in, a CompressedModel out.
// Each conv weight (OIHW) is cut into vectors of the planned granularity (all of them are contiguous
// runs of OIHW: row = kw values, kernel = kh*kw, filter = I*kh*kw, scalar = 1) and clustered.
#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "kmeans/compressed.hpp"
#include "kmeans/plan.hpp"
#include "models/model.hpp"
#include "models/tensor.hpp"
#include "models/weight_source.hpp"

namespace dkm::kmeans {

// One layer. Special cases of the reference code: K >= N keeps the vectors unchanged (codebook = the
// vectors, K = N); K == 1 gives the mean. Otherwise the sparse group (if p > 0) takes label 0 and its
// centre, K - 1 clusters are found among the other vectors by k-means; when those hold fewer than K - 1
// distinct vectors, K is clamped and `warning` says so.
CompressedLayer compress_layer(const Tensor& weight, const LayerSetting& setting, int threads,
                               Device device = Device::cpu);

struct CompressOptions {
  int threads = 0;                 // 0 = all hardware threads; results do not depend on it
  Device device = Device::cpu;     // automatic: the GPU when usable, layers whose GPU run fails rerun on the CPU
  // Cluster the layers of one vector length in lockstep (kmeans_batch), always so on the GPU: it then
  // serves many small layers with one launch per Lloyd round. The results are the same bits.
  bool lockstep = false;
  std::string weights_source;      // file name for error messages
  // Called as layers start or finish (done = layers finished so far) and once at the end.
  std::function<void(size_t done, size_t total, const std::string& layer)> progress;
};

// Every setting with compress == true, in order. Throws dkm::InputError naming the weights file and
// the tensor when "<layer>.weight" (or a bias the spec declares) is missing or has the wrong shape.
CompressedModel compress_model(const models::Model& model, const Weights& weights,
                               std::span<const LayerSetting> settings, const CompressOptions& options);

// compress_model for models larger than memory: each planned layer's weight (and bias) is read from
// `weights` when its turn comes, compressed, handed to `emit` and dropped, so memory holds one layer
// (and `emit`'s copy). Every planned tensor's presence and shape are checked from the headers before
// the first layer is compressed; non-finite values when the tensor is read. Layers one after another,
// on the CPU or the GPU (options.device); the same bits as compress_model.
void compress_streamed(const models::Model& model, const WeightSource& weights, std::span<const LayerSetting> settings,
                       const CompressOptions& options, const std::function<void(CompressedLayer&&)>& emit);

// Heavy-tailed stand-in weights for every conv and linear layer of the model (and their biases):
// Student-t with 4 degrees of freedom times 0.05, each tensor seeded from `seed` and its name.
Weights random_weights(const models::Model& model, uint64_t seed);
// The same tensors drawn one at a time, when read: any model size, one tensor held at once; a layer whose
// weight passes the 2 GiB of float32 one tensor of a weight file may hold is refused when the source is made.
std::unique_ptr<WeightSource> random_source(const models::Model& model, uint64_t seed);

// The OIHW (conv) or (out, in) (linear) shape of a layer's weight, from the resolved model.
std::vector<int64_t> weight_shape(const models::Layer& layer);

}  // namespace dkm::kmeans

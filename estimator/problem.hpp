#pragma once
// What the estimator sees of a layer: a convolution problem (a linear layer is a 1x1 convolution on a
// 1x1 input) and how it is compressed (pruning density, weight sharing).
#include <cstdint>
#include <span>

#include "kmeans/compressed.hpp"
#include "models/model.hpp"

namespace dkm::estimator {

// One conv (or linear) layer for `batch` images. Channels are per group; groups are independent.
struct ConvProblem {
  int64_t batch = 1, groups = 1;
  int64_t in_channels = 0, out_channels = 0;  // per group
  int64_t in_h = 0, in_w = 0;                 // unpadded input
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_left = 0;
  int64_t out_h = 0, out_w = 0;
  int weight_bits = 16, act_bits = 16;

  int64_t dot_length() const { return in_channels * kernel_h * kernel_w; }  // D of paper.md Eq. 5
  int64_t dot_products() const;  // batch * groups * out_channels * out_h * out_w
  int64_t macs() const;          // dot_products() * dot_length()
  int64_t weights() const;       // groups * out_channels * in_channels * kernel_h * kernel_w
  int64_t inputs() const;        // batch * groups * in_channels * in_h * in_w
  int64_t outputs() const;       // same as dot_products()
};

// The problem of a conv2d or linear layer of `model` for `batch` images, at the layer's bit widths.
// All products are overflow-checked (dkm::InputError naming the layer).
ConvProblem conv_problem(const models::Model& model, const models::Layer& layer, int64_t batch);

// How one layer is compressed. The default is the uncompressed layer.
struct LayerCompression {
  double density = 1.0;  // fraction of weights left non-zero by pruning, in (0, 1]
  int64_t k = 0;         // shared centres; 0 = no weight sharing
  kmeans::Granularity granularity = kmeans::Granularity::row;
  int64_t group_size = 0;  // G of the group granularity (weights per vector)
  int index_bits = 0;    // bits per stored index (one index per vector)
  // The real cluster assignment, one label per vector in OIHW order (the container's order); empty means
  // labels are assumed uniform and expectations are used. The caller keeps the labels alive.
  std::span<const int32_t> labels;
  // The label whose centre is all zeros (zero-norm sparsity's cluster), or -1: its products are skipped,
  // so it is left out of the distinct centres that shared products count (paper_metric.hpp).
  int32_t zero_label = -1;

  bool shared() const { return k > 0; }
  bool compressed() const { return shared() || density < 1.0; }
};

// Length and number of the vectors a weight of `problem` is cut into at `granularity` (per layer).
// `group_size` is G of the group granularity (ignored by the others).
int64_t vector_dim(const ConvProblem& problem, kmeans::Granularity granularity, int64_t group_size = 0);
int64_t vector_count(const ConvProblem& problem, kmeans::Granularity granularity, int64_t group_size = 0);

// ceil(log2 k): the fixed-length index width for k centres (0 for k <= 1).
int index_bits_for(int64_t k);

// Checked 64-bit arithmetic: throws dkm::InputError(`what`, "", "a count below 2^63") on overflow.
int64_t checked_mul(int64_t a, int64_t b, const char* what);
int64_t checked_add(int64_t a, int64_t b, const char* what);

}  // namespace dkm::estimator

#include "kmeans/activation.hpp"

#include <algorithm>

#include "kmeans/plan.hpp"

namespace dkm::kmeans {
namespace {

// The input channel read by output channel o through its in-group channel i (grouped and depthwise
// convolutions read a slice of the input).
struct ChannelMap {
  int64_t out = 1, in = 1, groups = 1;
  ChannelMap(std::span<const int64_t> shape, size_t channels)
      : out(shape[0]), in(shape.size() > 1 ? shape[1] : 1), groups(std::max<int64_t>(1, static_cast<int64_t>(channels) / in)) {}
  int64_t operator()(int64_t o, int64_t i) const { return (o / std::max<int64_t>(1, out / groups)) * in + i; }
};

}  // namespace

std::vector<float> activation_weights(std::span<const int64_t> shape, Granularity granularity, const InputMoments& m) {
  const ChannelMap channel(shape, m.second_moment.size());
  const int64_t kh = shape.size() == 4 ? shape[2] : 1, kw = shape.size() == 4 ? shape[3] : 1;
  const VectorShape vs = vector_shape(shape, granularity);
  double top = 0;
  for (double v : m.second_moment) top = std::max(top, v);
  const double scale = top > 0 ? 1.0 / top : 1.0;
  std::vector<float> w;
  if (granularity == Granularity::filter && vs.dim > 1) {  // one vector spans every input channel
    w.resize(static_cast<size_t>(vs.vectors * vs.dim));
    for (int64_t o = 0; o < vs.vectors; ++o)
      for (int64_t t = 0; t < vs.dim; ++t) w[o * vs.dim + t] = static_cast<float>(m.second_moment[channel(o, t / (kh * kw))] * scale);
    return w;
  }
  // Row, kernel and scalar vectors are runs inside one (o, i) kernel: one channel per vector.
  const int64_t per_kernel = (kh * kw) / vs.dim;
  w.resize(static_cast<size_t>(vs.vectors));
  for (int64_t v = 0; v < vs.vectors; ++v) {
    const int64_t kernel = v / per_kernel;  // (o, i) in OI order
    w[v] = static_cast<float>(m.second_moment[channel(kernel / channel.in, kernel % channel.in)] * scale);
  }
  return w;
}

void correct_bias(std::span<const int64_t> shape, std::span<const float> original, std::span<const float> shared,
                  const InputMoments& m, std::vector<float>& bias) {
  const ChannelMap channel(shape, m.mean.size());
  const int64_t per_in = shape.size() == 4 ? shape[2] * shape[3] : 1;
  for (int64_t o = 0; o < channel.out; ++o) {
    double delta = 0;
    for (int64_t i = 0; i < channel.in; ++i) {
      const double mu = m.mean[channel(o, i)];
      for (int64_t t = 0; t < per_in; ++t) {
        const int64_t at = (o * channel.in + i) * per_in + t;
        delta += (static_cast<double>(shared[at]) - static_cast<double>(original[at])) * mu;
      }
    }
    bias[o] = static_cast<float>(static_cast<double>(bias[o]) - delta);
  }
}

}  // namespace dkm::kmeans

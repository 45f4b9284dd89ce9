// The layers without weights (and batch norm): pooling, activations, add, concat, upsample. Each output
// value is computed by one fixed sequence of operations, so no thread count can change it.
#include <algorithm>
#include <cmath>
#include <limits>

#include "models/error.hpp"
#include "models/runtime/kernels.hpp"

namespace dkm::runtime::detail {

void pool(const models::Layer& l, const Activations& in, Activations& out, int threads) {
  const models::Shape is = in.shape, os = out.shape;
  const bool is_max = l.kind == models::LayerKind::maxpool;
  parallel_chunks(in.batch * is.c, threads, [&](int64_t plane) {
    const float* src = in.values.data() + plane * is.h * is.w;
    float* dst = out.values.data() + plane * os.h * os.w;
    if (l.global) {
      // Global pooling: the whole plane, summed in double in row-major order.
      double sum = 0;
      float best = -std::numeric_limits<float>::infinity();
      for (int64_t i = 0; i < is.h * is.w; ++i) {
        sum += src[i];
        best = std::max(best, src[i]);
      }
      dst[0] = is_max ? best : static_cast<float>(sum / static_cast<double>(is.h * is.w));
      return;
    }
    for (int64_t oy = 0; oy < os.h; ++oy)
      for (int64_t ox = 0; ox < os.w; ++ox) {
        // The window clipped to the input: padding never wins a max and is not counted in an average
        // (ONNX AveragePool's count_include_pad = 0).
        const int64_t y0 = oy * l.stride_h - l.pads.top, x0 = ox * l.stride_w - l.pads.left;
        const int64_t ya = std::max<int64_t>(y0, 0), yb = std::min(y0 + l.kernel_h, is.h);
        const int64_t xa = std::max<int64_t>(x0, 0), xb = std::min(x0 + l.kernel_w, is.w);
        float best = -std::numeric_limits<float>::infinity();
        double sum = 0;
        for (int64_t y = ya; y < yb; ++y)
          for (int64_t x = xa; x < xb; ++x) {
            best = std::max(best, src[y * is.w + x]);
            sum += src[y * is.w + x];
          }
        const int64_t count = std::max<int64_t>((yb - ya) * (xb - xa), 1);
        dst[oy * os.w + ox] = is_max ? best : static_cast<float>(sum / static_cast<double>(count));
      }
  });
}

void batchnorm(const Activations& in, const Tensor& scale, const Tensor& shift, const Tensor& mean, const Tensor& var,
               double eps, Activations& out) {
  const int64_t plane = in.shape.h * in.shape.w;
  for (int64_t c = 0; c < in.shape.c; ++c) {
    const float inv = static_cast<float>(1.0 / std::sqrt(static_cast<double>(var.values[c]) + eps));
    const float a = scale.values[c] * inv, m = mean.values[c], b = shift.values[c];
    for (int64_t n = 0; n < in.batch; ++n) {
      const float* src = in.plane(n, c);
      float* dst = out.plane(n, c);
      for (int64_t i = 0; i < plane; ++i) dst[i] = (src[i] - m) * a + b;
    }
  }
}

namespace {

using Function = float (*)(float);

// PyTorch's definitions; the spec keeps no alpha, so leaky_relu has slope 0.01 and elu alpha 1, and
// hardsigmoid is relu6(x + 3) / 6.
Function function_for(const std::string& f) {
  if (f == "relu") return [](float x) { return x > 0 ? x : 0.0f; };
  if (f == "relu6") return [](float x) { return std::min(std::max(x, 0.0f), 6.0f); };
  if (f == "sigmoid") return [](float x) { return 1.0f / (1.0f + std::exp(-x)); };
  if (f == "tanh") return [](float x) { return std::tanh(x); };
  if (f == "hardsigmoid") return [](float x) { return std::min(std::max(x + 3.0f, 0.0f), 6.0f) / 6.0f; };
  if (f == "hardswish") return [](float x) { return x * std::min(std::max(x + 3.0f, 0.0f), 6.0f) / 6.0f; };
  if (f == "leaky_relu") return [](float x) { return x > 0 ? x : 0.01f * x; };
  if (f == "elu") return [](float x) { return x > 0 ? x : std::expm1(x); };
  if (f == "gelu") return [](float x) { return static_cast<float>(0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)))); };
  if (f == "silu") return [](float x) { return x / (1.0f + std::exp(-x)); };
  return nullptr;
}

}  // namespace

bool has_activation_kernel(const std::string& function) {
  return function == "softmax" || function_for(function) != nullptr;
}

void activation(const models::Layer& l, const Activations& in, Activations& out) {
  const std::string& f = l.activation;
  if (f != "softmax") {
    Function fn = function_for(f);
    if (!fn) throw std::logic_error("activation '" + f + "' has no kernel");  // run() checks kinds first
    for (size_t i = 0; i < in.values.size(); ++i) out.values[i] = fn(in.values[i]);
    return;
  }
  // Softmax over the channels (the features after flatten) at each pixel.
  const int64_t plane = in.shape.h * in.shape.w;
  for (int64_t n = 0; n < in.batch; ++n)
    for (int64_t p = 0; p < plane; ++p) {
      float top = -std::numeric_limits<float>::infinity();
      for (int64_t c = 0; c < in.shape.c; ++c) top = std::max(top, in.plane(n, c)[p]);
      double sum = 0;
      for (int64_t c = 0; c < in.shape.c; ++c) sum += std::exp(static_cast<double>(in.plane(n, c)[p] - top));
      for (int64_t c = 0; c < in.shape.c; ++c)
        out.plane(n, c)[p] = static_cast<float>(std::exp(static_cast<double>(in.plane(n, c)[p] - top)) / sum);
    }
}

void add(const std::vector<const Activations*>& in, Activations& out) {
  if (in[0]->shape == out.shape) {
    out.values = in[0]->values;
  } else {
    out.values.assign(out.values.size(), 0.0f);
    for (int64_t n = 0; n < out.batch; ++n)
      std::copy_n(in[0]->plane(n, 0), in[0]->shape.numel(), out.plane(n, 0));
  }
  // A narrower input (an add with pad_channels) adds to the leading channels of each image only.
  for (size_t k = 1; k < in.size(); ++k) {
    const int64_t count = in[k]->shape.numel();
    for (int64_t n = 0; n < out.batch; ++n) {
      const float* src = in[k]->plane(n, 0);
      float* dst = out.plane(n, 0);
      for (int64_t i = 0; i < count; ++i) dst[i] += src[i];
    }
  }
}

void concat(const std::vector<const Activations*>& in, Activations& out) {
  const int64_t plane = out.shape.h * out.shape.w;
  for (int64_t n = 0; n < out.batch; ++n) {
    float* dst = out.plane(n, 0);
    for (const Activations* a : in) dst = std::copy_n(a->plane(n, 0), a->shape.c * plane, dst);
  }
}

void upsample(const models::Layer& l, const Activations& in, Activations& out) {
  const models::Shape is = in.shape, os = out.shape;
  for (int64_t n = 0; n < in.batch; ++n)
    for (int64_t c = 0; c < is.c; ++c) {
      const float* src = in.plane(n, c);
      float* dst = out.plane(n, c);
      for (int64_t y = 0; y < os.h; ++y)
        for (int64_t x = 0; x < os.w; ++x) dst[y * os.w + x] = src[(y / l.scale) * is.w + x / l.scale];
    }
}

}  // namespace dkm::runtime::detail

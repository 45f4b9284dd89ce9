// conv2d and linear as Eigen GEMMs. Determinism: Eigen's kernels sum in an order fixed by the operands'
// shapes and alignment, so every GEMM here multiplies freshly allocated (aligned) Eigen matrices of shapes
// that depend on the layer only: output pixels in blocks of kColumnBlock, output features in blocks of
// kFeatureBlock. Threads take whole blocks, so the thread count changes who computes a block, never how.
#include <Eigen/Core>

#include <algorithm>

#include "models/runtime/kernels.hpp"

namespace dkm::runtime::detail {
namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Output pixels per GEMM: large enough for Eigen's packed kernels, small enough that an im2col block of a
// 3x3x512 conv stays within a few MiB.
constexpr int64_t kColumnBlock = 256;
constexpr int64_t kFeatureBlock = 256;

}  // namespace

void conv2d(const models::Layer& l, const Activations& in, const Tensor& weight, const Tensor* bias, Activations& out,
            int threads) {
  const models::Shape is = in.shape, os = l.output_shape;
  const int64_t groups = l.groups, cin_g = is.c / groups, cout_g = os.c / groups;
  const int64_t kh = l.kernel_h, kw = l.kernel_w, depth = cin_g * kh * kw, pixels = os.h * os.w;
  const int64_t blocks = (pixels + kColumnBlock - 1) / kColumnBlock;
  std::vector<RowMatrix> w(static_cast<size_t>(groups));
  for (int64_t g = 0; g < groups; ++g)
    w[g] = Eigen::Map<const RowMatrix>(weight.values.data() + g * cout_g * depth, cout_g, depth);
  parallel_chunks(in.batch * groups * blocks, threads, [&](int64_t task) {
    const int64_t block = task % blocks, g = (task / blocks) % groups, n = task / (blocks * groups);
    const int64_t p0 = block * kColumnBlock, np = std::min(kColumnBlock, pixels - p0);
    // im2col: row (input channel, ky, kx), column = output pixel; zero where the window reads padding.
    RowMatrix cols(depth, np);
    for (int64_t ci = 0; ci < cin_g; ++ci) {
      const float* src = in.plane(n, g * cin_g + ci);
      for (int64_t ky = 0; ky < kh; ++ky)
        for (int64_t kx = 0; kx < kw; ++kx) {
          float* row = cols.data() + ((ci * kh + ky) * kw + kx) * np;
          for (int64_t j = 0; j < np; ++j) {
            const int64_t p = p0 + j, oy = p / os.w, ox = p % os.w;
            const int64_t iy = oy * l.stride_h - l.pads.top + ky * l.dilation_h;
            const int64_t ix = ox * l.stride_w - l.pads.left + kx * l.dilation_w;
            row[j] = (iy >= 0 && iy < is.h && ix >= 0 && ix < is.w) ? src[iy * is.w + ix] : 0.0f;
          }
        }
    }
    RowMatrix result(cout_g, np);
    result.noalias() = w[g] * cols;
    for (int64_t oc = 0; oc < cout_g; ++oc) {
      const int64_t c = g * cout_g + oc;
      const float b = bias ? bias->values[c] : 0.0f;
      float* dst = out.plane(n, c) + p0;
      for (int64_t j = 0; j < np; ++j) dst[j] = result(oc, j) + b;
    }
  });
}

// Gather form: each output value sums, in one fixed order (input channel, ky, kx), the taps whose scatter
// position oy = iy * stride - pad + ky * dilation lands on it, so no thread count changes a result.
void conv_transpose2d(const models::Layer& l, const Activations& in, const Tensor& weight, const Tensor* bias,
                      Activations& out, int threads) {
  const models::Shape is = in.shape, os = l.output_shape;
  const int64_t groups = l.groups, cin_g = is.c / groups, cout_g = os.c / groups, kh = l.kernel_h, kw = l.kernel_w;
  parallel_chunks(in.batch * os.c, threads, [&](int64_t task) {
    const int64_t n = task / os.c, c = task % os.c, g = c / cout_g, m = c % cout_g;
    float* dst = out.plane(n, c);
    const float b = bias ? bias->values[c] : 0.0f;
    for (int64_t oy = 0; oy < os.h; ++oy)
      for (int64_t ox = 0; ox < os.w; ++ox) {
        float sum = 0.0f;
        for (int64_t ci = 0; ci < cin_g; ++ci) {
          const float* src = in.plane(n, g * cin_g + ci);
          const float* w = weight.values.data() + ((g * cin_g + ci) * cout_g + m) * kh * kw;  // [C_in, M/g, kH, kW]
          for (int64_t ky = 0; ky < kh; ++ky) {
            const int64_t ty = oy + l.pads.top - ky * l.dilation_h;
            if (ty < 0 || ty % l.stride_h != 0 || ty / l.stride_h >= is.h) continue;
            for (int64_t kx = 0; kx < kw; ++kx) {
              const int64_t tx = ox + l.pads.left - kx * l.dilation_w;
              if (tx < 0 || tx % l.stride_w != 0 || tx / l.stride_w >= is.w) continue;
              sum += src[(ty / l.stride_h) * is.w + tx / l.stride_w] * w[ky * kw + kx];
            }
          }
        }
        dst[oy * os.w + ox] = sum + b;
      }
  });
}

void linear(const models::Layer& l, const Activations& in, const Tensor& weight, const Tensor* bias, Activations& out,
            int threads) {
  const int64_t features = in.shape.numel(), outs = l.out_features;
  const int64_t blocks = (outs + kFeatureBlock - 1) / kFeatureBlock;
  std::vector<RowMatrix> w(static_cast<size_t>(blocks));
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t o0 = b * kFeatureBlock;
    w[b] = Eigen::Map<const RowMatrix>(weight.values.data() + o0 * features, std::min(kFeatureBlock, outs - o0), features);
  }
  // One product per image and block of outputs, so an image's result does not depend on its batch.
  parallel_chunks(in.batch * blocks, threads, [&](int64_t task) {
    const int64_t block = task % blocks, n = task / blocks, o0 = block * kFeatureBlock;
    const Eigen::VectorXf x = Eigen::Map<const Eigen::VectorXf>(in.values.data() + n * features, features);
    Eigen::VectorXf result(w[block].rows());
    result.noalias() = w[block] * x;
    for (int64_t o = 0; o < result.size(); ++o)
      out.values[n * outs + o0 + o] = result(o) + (bias ? bias->values[o0 + o] : 0.0f);
  });
}

}  // namespace dkm::runtime::detail

#pragma once
// The layer kernels behind runtime::run(), one function per layer kind (internal to models/runtime).
#include <cstdint>
#include <vector>

#include "kmeans/parallel.hpp"
#include "models/runtime/runtime.hpp"

namespace dkm::runtime::detail {

// Work is split into pieces whose bounds never depend on the thread count and handed to threads by
// kmeans::parallel_chunks (kmeans/parallel.hpp).
using kmeans::parallel_chunks;

void conv2d(const models::Layer& l, const Activations& in, const Tensor& weight, const Tensor* bias, Activations& out,
            int threads);
// PyTorch's ConvTranspose2d, weight [C_in, M/groups, kH, kW].
void conv_transpose2d(const models::Layer& l, const Activations& in, const Tensor& weight, const Tensor* bias,
                      Activations& out, int threads);
void linear(const models::Layer& l, const Activations& in, const Tensor& weight, const Tensor* bias, Activations& out,
            int threads);
void pool(const models::Layer& l, const Activations& in, Activations& out, int threads);
// PyTorch's batch norm at inference: (x - mean) / sqrt(var + eps) * scale + shift.
void batchnorm(const Activations& in, const Tensor& scale, const Tensor& shift, const Tensor& mean, const Tensor& var,
               double eps, Activations& out);
bool has_activation_kernel(const std::string& function);
void activation(const models::Layer& l, const Activations& in, Activations& out);
void add(const std::vector<const Activations*>& in, Activations& out);
void concat(const std::vector<const Activations*>& in, Activations& out);
void upsample(const models::Layer& l, const Activations& in, Activations& out);

}  // namespace dkm::runtime::detail

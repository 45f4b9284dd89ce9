#pragma once
// The layer kernels behind runtime::run(), one function per layer kind (internal to models/runtime).
#include <cstdint>
#include <functional>
#include <vector>

#include "models/runtime/runtime.hpp"

namespace dkm::runtime::detail {

// Calls fn(i) for i in [0, count) on up to `threads` threads (0 = all); rethrows the first exception.
// Callers split work into pieces whose bounds never depend on the thread count.
void parallel_for(int64_t count, int threads, const std::function<void(int64_t)>& fn);

void conv2d(const models::Layer& l, const Activations& in, const Tensor& weight, const Tensor* bias, Activations& out,
            int threads);
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

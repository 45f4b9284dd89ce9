// runtime::run(): the graph walk, the weight checks and the layer dispatch. Activations of a layer are
// freed as soon as its last reader has run, so memory follows the widest cut of the graph, not its size.
#include "models/runtime/runtime.hpp"

#include <fmt/core.h>

#include <cmath>

#include "models/error.hpp"
#include "models/runtime/kernels.hpp"
#include "models/tensor_io.hpp"

namespace dkm::runtime {
namespace {

using models::Layer;
using models::LayerKind;

// PyTorch's and ONNX's default; the spec does not carry one.
constexpr double kBatchNormEpsilon = 1e-5;

const Tensor& need(const Weights& weights, const std::string& name, const std::vector<int64_t>& shape,
                   const Layer& l, const std::string& source) {
  auto it = weights.find(name);
  if (it == weights.end())
    throw InputError(source, fmt::format("tensor '{}'", name),
                     fmt::format("expected the {} layer '{}' to have a tensor '{}' of shape ({}) (docs/inference.md), "
                                 "but there is none",
                                 to_string(l.kind), l.name, name, join_dims(shape, ", ")));
  if (it->second.shape != shape)
    throw InputError(source, fmt::format("tensor '{}'", name),
                     fmt::format("expected shape ({}) for the {} layer '{}', got ({})", join_dims(shape, ", "),
                                 to_string(l.kind), l.name, join_dims(it->second.shape, ", ")));
  return it->second;
}

struct LayerWeights {
  const Tensor* weight = nullptr;
  const Tensor* bias = nullptr;
  const Tensor* mean = nullptr;
  const Tensor* var = nullptr;
};

LayerWeights layer_weights(const Layer& l, const Weights& weights, const std::string& source) {
  LayerWeights w;
  if (l.kind == LayerKind::conv2d) {
    const int64_t in_c = l.input_shapes[0].c;
    w.weight = &need(weights, l.name + ".weight", {l.out_channels, in_c / l.groups, l.kernel_h, l.kernel_w}, l, source);
    if (l.bias) w.bias = &need(weights, l.name + ".bias", {l.out_channels}, l, source);
  } else if (l.kind == LayerKind::conv_transpose2d) {
    const int64_t in_c = l.input_shapes[0].c;
    w.weight = &need(weights, l.name + ".weight", {in_c, l.out_channels / l.groups, l.kernel_h, l.kernel_w}, l, source);
    if (l.bias) w.bias = &need(weights, l.name + ".bias", {l.out_channels}, l, source);
  } else if (l.kind == LayerKind::linear) {
    w.weight = &need(weights, l.name + ".weight", {l.out_features, l.input_shapes[0].numel()}, l, source);
    if (l.bias) w.bias = &need(weights, l.name + ".bias", {l.out_features}, l, source);
  } else if (l.kind == LayerKind::batchnorm) {
    const std::vector<int64_t> shape{l.input_shapes[0].c};
    w.weight = &need(weights, l.name + ".weight", shape, l, source);
    w.bias = &need(weights, l.name + ".bias", shape, l, source);
    w.mean = &need(weights, l.name + ".running_mean", shape, l, source);
    w.var = &need(weights, l.name + ".running_var", shape, l, source);
  }
  return w;
}

void check_kernel(const models::Model& model, const Layer& l) {
  bool ok = false;
  switch (l.kind) {
    case LayerKind::conv2d: case LayerKind::conv_transpose2d: case LayerKind::maxpool: case LayerKind::avgpool:
    case LayerKind::batchnorm: case LayerKind::add: case LayerKind::concat: case LayerKind::flatten:
    case LayerKind::dropout: case LayerKind::upsample:
      ok = true;
      break;
    case LayerKind::linear:  // per-position (token) linear layers are not implemented here
      ok = !l.per_position;
      break;
    case LayerKind::activation:
      ok = detail::has_activation_kernel(l.activation);
      break;
    case LayerKind::matmul: case LayerKind::elementwise: case LayerKind::layernorm: case LayerKind::reduce:
    case LayerKind::rearrange:
      break;
  }
  if (!ok) {
    std::string what = l.kind == LayerKind::activation ? fmt::format("activation '{}'", l.activation)
                       : l.per_position ? std::string("a per-position linear layer")
                                        : fmt::format("layer kind '{}'", to_string(l.kind));
    throw InputError(model.name, fmt::format("layer '{}'", l.name),
                     fmt::format("the inference engine has no kernel for {} (docs/inference.md lists what runs)", what));
  }
}

Activations run_layer(const Layer& l, const LayerWeights& w, const std::vector<const Activations*>& in, int threads) {
  Activations out;
  out.batch = in[0]->batch;
  out.shape = l.output_shape;
  out.flat = l.kind == LayerKind::flatten || l.kind == LayerKind::linear || in[0]->flat;
  if (l.kind == LayerKind::conv2d || l.kind == LayerKind::conv_transpose2d) out.flat = false;
  out.values.resize(static_cast<size_t>(out.batch * out.shape.numel()));
  switch (l.kind) {
    case LayerKind::conv2d: detail::conv2d(l, *in[0], *w.weight, w.bias, out, threads); break;
    case LayerKind::conv_transpose2d: detail::conv_transpose2d(l, *in[0], *w.weight, w.bias, out, threads); break;
    case LayerKind::linear: detail::linear(l, *in[0], *w.weight, w.bias, out, threads); break;
    case LayerKind::maxpool:
    case LayerKind::avgpool: detail::pool(l, *in[0], out, threads); break;
    case LayerKind::batchnorm:
      detail::batchnorm(*in[0], *w.weight, *w.bias, *w.mean, *w.var, kBatchNormEpsilon, out);
      break;
    case LayerKind::activation: detail::activation(l, *in[0], out); break;
    case LayerKind::add: detail::add(in, out); break;
    case LayerKind::concat: detail::concat(in, out); break;
    case LayerKind::flatten:  // NCHW is already the flattened order
    case LayerKind::dropout: out.values = in[0]->values; break;
    case LayerKind::upsample: detail::upsample(l, *in[0], out); break;
    case LayerKind::matmul: case LayerKind::elementwise: case LayerKind::layernorm: case LayerKind::reduce:
    case LayerKind::rearrange:
      break;  // refused by check_kernel() before any layer runs
  }
  return out;
}

}  // namespace

void check_weights(const models::Model& model, const Weights& weights, const std::string& weights_source) {
  for (const Layer& l : model.layers) {
    check_kernel(model, l);
    layer_weights(l, weights, weights_source);
  }
}

Outputs run(const models::Model& model, const Weights& weights, const Activations& input, const RunOptions& options) {
  check_weights(model, weights, options.weights_source);
  if (input.shape != model.input || input.batch < 1 ||
      input.values.size() != static_cast<size_t>(input.batch * input.shape.numel()))
    throw std::logic_error("runtime::run: input activations do not match the model (use to_activations)");
  std::map<std::string, int> readers;
  for (const Layer& l : model.layers)
    for (const auto& name : l.inputs) ++readers[name];
  std::map<std::string, bool> kept;
  for (const auto& name : options.keep) {
    if (!model.find(name))
      throw InputError(model.name, fmt::format("layer '{}'", name), "expected the name of a layer of the model");
    kept[name] = true;
  }
  std::map<std::string, Activations> live;
  Outputs outputs;
  for (const Layer& l : model.layers) {
    std::vector<const Activations*> in;
    for (const auto& name : l.inputs) in.push_back(name == "input" ? &input : &live.at(name));
    Activations out = run_layer(l, layer_weights(l, weights, options.weights_source), in, options.threads);
    if (options.hook) options.hook(l, in, out);
    for (const auto& name : l.inputs)
      if (--readers[name] == 0 && name != "input") live.erase(name);
    if (readers[l.name] == 0) {
      outputs[l.name] = std::move(out);  // read by no layer: a model output
    } else {
      if (kept.count(l.name)) outputs[l.name] = out;
      live[l.name] = std::move(out);
    }
  }
  return outputs;
}

Activations to_activations(const models::Model& model, const Tensor& input, const std::string& source) {
  const models::Shape& s = model.input;
  const auto& d = input.shape;
  const bool nchw = d.size() == 4 && d[1] == s.c && d[2] == s.h && d[3] == s.w;
  const bool features = d.size() == 2 && s.h == 1 && s.w == 1 && d[1] == s.c;
  if ((!nchw && !features) || d[0] < 1) {
    std::string want = s.h == 1 && s.w == 1 ? fmt::format("(N, {}) or (N, {}, 1, 1)", s.c, s.c)
                                            : fmt::format("(N, {}, {}, {})", s.c, s.h, s.w);
    throw InputError(source, "shape",
                     fmt::format("expected an array of shape {} (N images, NCHW) for model '{}', got ({})", want,
                                 model.name, join_dims(d, ", ")));
  }
  for (size_t i = 0; i < input.values.size(); ++i)
    if (!std::isfinite(input.values[i])) {
      const int64_t per = s.numel(), n = static_cast<int64_t>(i) / per, r = static_cast<int64_t>(i) % per;
      throw InputError(source, fmt::format("element [{}, {}, {}, {}] (flat index {})", n, r / (s.h * s.w),
                                           (r / s.w) % s.h, r % s.w, i),
                       fmt::format("expected finite values, got {}", input.values[i]));
    }
  return Activations{d[0], s, input.values, features};
}

Tensor to_tensor(const Activations& a) {
  Tensor t;
  t.shape = a.flat ? std::vector<int64_t>{a.batch, a.shape.numel()}
                   : std::vector<int64_t>{a.batch, a.shape.c, a.shape.h, a.shape.w};
  t.values = a.values;
  return t;
}

Activations slice(const Activations& a, int64_t begin, int64_t end) {
  const int64_t per = a.shape.numel();
  Activations s{end - begin, a.shape, {}, a.flat};
  s.values.assign(a.values.begin() + begin * per, a.values.begin() + end * per);
  return s;
}

}  // namespace dkm::runtime

#include "estimator/pipeline.hpp"

#include <fmt/core.h>

#include "estimator/compression_settings.hpp"
#include "kmeans/container.hpp"
#include "models/error.hpp"
#include "models/input_file.hpp"
#include "models/tensor_io.hpp"

namespace dkm::estimator {

void check_container_fits(const kmeans::CompressedModel& c, const models::Model& model, const std::string& path,
                          const std::string& model_arg) {
  if (c.model != model.name)
    throw InputError(path, "__metadata__.model",
                     fmt::format("expected a container written for model \"{}\" ({}), got one written for \"{}\"",
                                 model.name, model_arg, c.model));
  for (size_t i = 0; i < c.layers.size(); ++i) {
    const kmeans::CompressedLayer& l = c.layers[i];
    const std::string where = fmt::format("__metadata__.layers[{}]", i);
    const models::Layer* layer = model.find(l.name);
    if (!layer || !layer->has_weights())
      throw InputError(path, where + ".name",
                       fmt::format("expected a conv or linear layer of model \"{}\", got \"{}\"", model.name, l.name));
    const std::vector<int64_t> shape = kmeans::weight_shape(*layer);
    if (l.weight_shape != shape)
      throw InputError(path, where + ".weight_shape",
                       fmt::format("expected [{}] (layer \"{}\" of model \"{}\"), got [{}]", join_dims(shape, ", "),
                                   l.name, model.name, join_dims(l.weight_shape, ", ")));
  }
}

Loaded load_stage(const PipelineOptions& o) {
  if (!o.weights.empty() && o.random_seed) throw UsageError("give at most one of --weights FILE and --random-weights SEED");
  if (!o.compressed.empty() && (!o.plan.empty() || o.random_seed))
    throw UsageError("--compressed excludes --plan and --random-weights (the container holds the labels)");
  Loaded l;
  l.model = models::load_model(o.model);
  if (!o.hw.empty()) l.profile = load_profile(o.hw);
  if (!o.plan.empty()) {
    const kmeans::Plan plan = kmeans::load_plan(o.plan);
    l.plan_source = plan.source;
    l.settings = kmeans::resolve_plan(plan, l.model);
  }
  if (o.random_seed) {
    if (!o.stream_weights) l.weights = kmeans::random_weights(l.model, *o.random_seed);
    l.weights_source = "--random-weights";
  } else if (!o.weights.empty()) {
    if (!o.stream_weights) l.weights = load_weights(o.weights);
    l.weights_source = o.weights;
  } else if (!l.model.weights.empty()) {  // an ONNX file carries its own
    l.weights = l.model.weights;
    l.weights_source = o.model;
  }
  if (!o.compressed.empty()) {
    l.container = kmeans::read_compressed(o.compressed);
    check_container_fits(*l.container, l.model, o.compressed, o.model);
  }
  if (!o.mappings.empty()) {
    if (!o.mapper) throw UsageError("--mapping needs the mapper (an --objective)");
    if (!l.profile) throw UsageError("--mapping needs a hardware profile (--hw)");
    const std::vector<LevelCosts> names = level_costs(*l.profile, {});
    for (const std::string& arg : o.mappings) {
      const size_t eq = arg.find('=');
      std::string layer, file = eq == std::string::npos ? arg : arg.substr(eq + 1);
      if (eq != std::string::npos) {
        layer = arg.substr(0, eq);
      } else {
        std::vector<std::string> mac_layers;
        for (const models::Layer& x : l.model.layers)
          if (x.has_macs()) mac_layers.push_back(x.name);
        if (mac_layers.size() != 1)
          throw UsageError(fmt::format("--mapping {}: model '{}' has {} conv, linear and matmul layers; give LAYER=FILE",
                                       arg, l.model.name, mac_layers.size()));
        layer = mac_layers.front();
      }
      if (l.given_mappings.count(layer)) throw UsageError(fmt::format("--mapping: layer '{}' given twice", layer));
      l.given_mappings[layer] = {parse_timeloop_map(read_file(file, kMaxTextInputBytes), names, file), file};
    }
  }
  return l;
}

std::unique_ptr<WeightSource> weight_source(const Loaded& l, const PipelineOptions& o) {
  if (o.random_seed) return kmeans::random_source(l.model, *o.random_seed);
  if (!o.weights.empty()) return open_weights(o.weights);
  if (!l.model.weights.empty()) return weights_in_memory(l.model.weights, o.model);
  throw UsageError("give --weights FILE or --random-weights SEED (" + o.model + " carries no weights)");
}

std::optional<kmeans::CompressedModel> compress_stage(const Loaded& l, const PipelineOptions& o) {
  if (l.container) return l.container;
  if (l.plan_source.empty() || l.weights.empty() || !o.run_kmeans) return std::nullopt;
  kmeans::CompressOptions copt = o.kmeans;
  copt.weights_source = l.weights_source;
  kmeans::CompressedModel c = kmeans::compress_model(l.model, l.weights, l.settings, copt);
  c.random_weights = o.random_seed.has_value();
  c.weights_seed = o.random_seed.value_or(0);
  return c;
}

Estimated estimate_stage(const Loaded& l, const std::optional<kmeans::CompressedModel>& compressed,
                         const PipelineOptions& o) {
  if (!l.profile) throw UsageError("a hardware profile is needed (--hw)");
  EstimateOptions base;
  base.batch = o.batch;
  if (o.conv_bits) base.conv_bits = o.conv_bits;
  base.mapper = o.mapper;
  base.given_mappings = l.given_mappings;
  EstimateOptions opt = base;
  Estimated e;
  if (compressed) {
    opt.compression = compression_from_model(*compressed, l.model);  // labels referenced: alive below
    e.ratio = compression_ratio(l.model, *compressed);
  } else {
    opt.compression = compression_from_plan(l.settings);
    e.ratio = compression_ratio(l.model, l.settings);
  }
  e.estimate = estimate(l.model, *l.profile, opt);
  e.baseline = opt.compression.empty() ? e.estimate : estimate(l.model, *l.profile, base);  // the same when nothing is compressed
  return e;
}

PipelineResult run_pipeline(const PipelineOptions& o) {
  PipelineResult r;
  r.loaded = load_stage(o);
  if (o.check_loaded) o.check_loaded(r.loaded);
  auto tell = [&](const std::string& stage) {
    if (o.on_stage) o.on_stage(stage);
  };
  if (!r.loaded.container && !r.loaded.plan_source.empty() && !r.loaded.weights.empty() && o.run_kmeans)
    tell(fmt::format("k-means of {}'s weights under plan {}", r.loaded.model.name, o.plan));
  r.compressed = compress_stage(r.loaded, o);
  if (r.loaded.profile) {
    tell(fmt::format("the estimate of {} on {}", r.loaded.model.name, r.loaded.profile->name));
    r.estimated = estimate_stage(r.loaded, r.compressed, o);
  }
  return r;
}

}  // namespace dkm::estimator

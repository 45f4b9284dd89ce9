// dkm._dkm: models, the compressed container and the estimator. Compressed models cross the boundary as
// plain dicts of numpy arrays (docs/python.md lists the keys); arrays leaving C++ own their buffers.
#include <pybind11/stl.h>

#include <cmath>
#include <initializer_list>
#include <map>
#include <optional>

#include "estimator/estimate.hpp"
#include "estimator/pipeline.hpp"
#include "kmeans/container.hpp"
#include "kmeans/plan.hpp"
#include "models/model.hpp"
#include "tools/python/numpy_views.hpp"

namespace dkm::python {

namespace {

using kmeans::CompressedLayer;
using kmeans::CompressedModel;
using kmeans::Granularity;
using kmeans::SparsityVariant;

// The names plans and the container use (docs/plan.md, docs/container.md), from the one table in plan.cpp.
template <class E>
E value_of(std::optional<E> (*parse)(std::string_view), const std::string& s, const char* what,
           std::initializer_list<E> all) {
  if (auto v = parse(s)) return *v;
  std::string expected;
  for (E e : all) expected += (expected.empty() ? "" : ", ") + std::string(kmeans::to_string(e));
  throw UsageError(std::string(what) + ": expected one of " + expected + ", got '" + s + "'");
}

py::dict layer_dict(CompressedLayer&& l) {
  py::dict d;
  d["name"] = l.name;
  d["granularity"] = std::string(kmeans::to_string(l.granularity));
  d["weight_shape"] = l.weight_shape;
  d["k"] = l.k;
  d["dim"] = l.dim;
  d["sparsity"] = l.sparsity;
  d["sparsity_variant"] = std::string(kmeans::to_string(l.sparsity_variant));
  d["seed"] = l.seed;
  d["codebook"] = to_numpy(std::move(l.codebook), {static_cast<py::ssize_t>(l.k), static_cast<py::ssize_t>(l.dim)});
  d["labels"] = to_numpy(std::move(l.labels));
  d["bias"] = to_numpy(std::move(l.bias));
  d["mse"] = l.mse;
  d["iterations"] = l.iterations;
  d["weighting"] = std::string(kmeans::to_string(l.weighting));
  d["bias_corrected"] = l.bias_corrected;
  return d;
}

template <class T>
T get_or(const py::dict& d, const char* key, T fallback) {
  return d.contains(key) ? d[key].cast<T>() : fallback;
}

CompressedLayer layer_from(const py::dict& d) {
  CompressedLayer l;
  l.name = d["name"].cast<std::string>();
  l.granularity = value_of(&kmeans::parse_granularity, get_or<std::string>(d, "granularity", "row"), "granularity",
                           {Granularity::row, Granularity::kernel, Granularity::filter, Granularity::scalar, Granularity::group});
  l.weight_shape = d["weight_shape"].cast<std::vector<int64_t>>();
  l.codebook = to_vector(d["codebook"].cast<InArray<float>>());
  l.labels = to_vector(d["labels"].cast<InArray<int32_t>>());
  l.k = get_or<int64_t>(d, "k", 0);
  l.dim = get_or<int64_t>(d, "dim", 0);
  if (l.dim == 0 && l.k > 0) l.dim = static_cast<int64_t>(l.codebook.size()) / l.k;
  if (l.k == 0 && l.dim > 0) l.k = static_cast<int64_t>(l.codebook.size()) / l.dim;
  l.sparsity = get_or<double>(d, "sparsity", 0.0);
  l.sparsity_variant = value_of(&kmeans::parse_sparsity_variant, get_or<std::string>(d, "sparsity_variant", "none"), "sparsity_variant",
                                {SparsityVariant::none, SparsityVariant::zero_norm, SparsityVariant::near_mean});
  l.seed = get_or<uint64_t>(d, "seed", 0);
  if (d.contains("bias") && !d["bias"].is_none()) l.bias = to_vector(d["bias"].cast<InArray<float>>());
  l.mse = get_or<double>(d, "mse", 0.0);
  l.iterations = get_or<int>(d, "iterations", 0);
  l.weighting = value_of(&kmeans::parse_weighting, get_or<std::string>(d, "weighting", "plain"), "weighting",
                         {kmeans::Weighting::plain, kmeans::Weighting::activation});
  l.bias_corrected = get_or<bool>(d, "bias_corrected", false);
  return l;
}

py::dict model_dict(CompressedModel&& m) {
  py::dict d;
  d["model"] = m.model;
  d["random_weights"] = m.random_weights;
  d["weights_seed"] = m.weights_seed;
  py::list layers;
  for (auto& l : m.layers) layers.append(layer_dict(std::move(l)));
  d["layers"] = layers;
  return d;
}

CompressedModel model_from(const py::dict& d) {
  CompressedModel m;
  m.model = d["model"].cast<std::string>();
  m.random_weights = get_or<bool>(d, "random_weights", false);
  m.weights_seed = get_or<uint64_t>(d, "weights_seed", 0);
  for (auto item : d["layers"].cast<py::list>()) m.layers.push_back(layer_from(item.cast<py::dict>()));
  return m;
}

py::dict totals_dict(const estimator::Totals& t) {
  py::dict d;
  d["macs"] = t.macs;
  d["executed_macs"] = t.executed_macs;
  d["paper_energy"] = t.paper_energy;
  d["paper_comp_energy"] = t.paper_comp_energy;
  d["paper_rep_energy"] = t.paper_rep_energy;
  d["r_w_bits"] = t.r_w_bits;
  d["r_x_bits"] = t.r_x_bits;
  d["hierarchy_energy"] = t.hierarchy_energy;
  d["paper_energy_per_mac"] = t.paper_per_mac();
  d["hierarchy_energy_per_mac"] = t.hierarchy_per_mac();
  return d;
}

py::dict setting_dict(const kmeans::LayerSetting& s) {
  py::dict d;
  d["layer"] = s.layer;
  d["conv_index"] = s.conv_index;
  d["compress"] = s.compress;
  d["weight_shape"] = s.weight_shape;
  d["granularity"] = std::string(kmeans::to_string(s.granularity));
  d["vectors"] = s.vectors;
  d["dim"] = s.dim;
  d["k"] = s.k;
  d["sparsity"] = s.sparsity;
  d["sparsity_variant"] = std::string(kmeans::to_string(s.sparsity_variant));
  d["init"] = std::string(kmeans::to_string(s.init));
  d["seed"] = s.seed;
  d["max_iter"] = s.max_iter;
  d["tol"] = s.tol;
  d["warning"] = s.warning;
  return d;
}

}  // namespace

void bind_container(py::module_& m) {
  m.def(
      "read_compressed", [](const std::string& path) { return model_dict(kmeans::read_compressed(path)); },
      py::arg("path"), "Reads and validates a dkm compressed container; returns a dict (docs/python.md).");
  m.def(
      "write_compressed",
      [](const std::string& path, const py::dict& model) { kmeans::write_compressed(path, model_from(model)); },
      py::arg("path"), py::arg("model"), "Writes a compressed model dict atomically (docs/container.md).");
  m.def(
      "decompress",
      [](const py::dict& model) {
        Weights w = kmeans::decompress(model_from(model));
        py::dict out;
        for (auto& [name, t] : w) {
          std::vector<py::ssize_t> shape(t.shape.begin(), t.shape.end());
          out[py::str(name)] = to_numpy(std::move(t.values), shape);
        }
        return out;
      },
      py::arg("model"), "Float weights equal to codebook[label] (OIHW) and the biases, by tensor name.");
}

void bind_models(py::module_& m) {
  py::class_<models::Model>(m, "Model")
      .def_readonly("name", &models::Model::name)
      .def_readonly("description", &models::Model::description)
      .def_readonly("batch", &models::Model::batch)
      .def("total_params", &models::Model::total_params)
      .def("total_macs", &models::Model::total_macs)
      .def_property_readonly("layers", [](const models::Model& model) {
        py::list out;
        for (const auto& l : model.layers) {
          py::dict d;
          d["name"] = l.name;
          d["kind"] = std::string(models::to_string(l.kind));
          d["weight_count"] = l.weight_count;
          d["bias_count"] = l.bias_count;
          d["macs"] = l.macs;
          out.append(d);
        }
        return out;
      });
  m.def("load_model", &models::load_model, py::arg("path_or_zoo_name"),
        "A model spec (.json), an ONNX file where built, or a zoo name such as 'lenet5'.");
  m.def("zoo_names", [] {
    std::vector<std::string> names;
    for (const auto& e : models::zoo()) names.push_back(e.name);
    return names;
  });

  py::class_<kmeans::Plan>(m, "Plan")
      .def_readonly("source", &kmeans::Plan::source)
      .def_readonly("model", &kmeans::Plan::model);
  m.def("load_plan", &kmeans::load_plan, py::arg("path_or_name"), "A plan file or a shipped plan name.");
  m.def("parse_plan", &kmeans::parse_plan, py::arg("json_text"), py::arg("source") = "<python>");
  m.def(
      "resolve_plan",
      [](const kmeans::Plan& plan, const models::Model& model) {
        py::list out;
        for (const auto& s : kmeans::resolve_plan(plan, model)) out.append(setting_dict(s));
        return out;
      },
      py::arg("plan"), py::arg("model"), "Concrete per-conv-layer settings (dicts), without running k-means.");
}

namespace {

py::dict size_dict(const estimator::SizeBits& b) {
  py::dict d;
  d["fixed"] = b.fixed;
  d["entropy"] = b.entropy;
  d["huffman"] = b.huffman;
  return d;
}

py::dict ratio_dict(const estimator::ModelRatio& r) {
  py::dict d;
  d["original_bits"] = r.original_bits;
  d["kept_bits"] = r.kept_bits;
  d["total_bits"] = size_dict(r.total_bits);
  d["ratio"] = size_dict(r.ratio);
  py::list layers;
  for (const auto& l : r.layers) {
    py::dict ld;
    ld["layer"] = l.layer;
    ld["k"] = l.k;
    ld["vectors"] = l.vectors;
    ld["dim"] = l.dim;
    ld["sparsity"] = l.sparsity;
    ld["original_bits"] = l.original_bits;
    ld["codebook_bits"] = l.codebook_bits;
    ld["bias_bits"] = l.bias_bits;
    ld["index_bits"] = size_dict(l.index_bits);
    ld["total_bits"] = size_dict(l.total_bits);
    ld["ratio"] = size_dict(l.ratio);
    layers.append(ld);
  }
  d["layers"] = layers;
  return d;
}

// The estimator's inputs as the pipeline's load stage would give them (estimator/pipeline.hpp): a model,
// and the compression from a container (dict or path) or a plan (uniform labels), never both.
estimator::Loaded loaded_from(const models::Model& model, const py::object& compressed, const py::object& plan,
                              std::optional<kmeans::CompressedModel>& container) {
  if (!compressed.is_none() && !plan.is_none()) throw UsageError("give at most one of compressed= and plan=");
  estimator::Loaded l;
  l.model = model;
  if (!plan.is_none()) {
    const kmeans::Plan p = py::isinstance<py::str>(plan) ? kmeans::load_plan(plan.cast<std::string>())
                                                         : plan.cast<kmeans::Plan>();
    l.plan_source = p.source;
    l.settings = kmeans::resolve_plan(p, model);
  }
  if (!compressed.is_none()) {
    const bool dict = py::isinstance<py::dict>(compressed);
    container = dict ? model_from(compressed.cast<py::dict>()) : kmeans::read_compressed(compressed.cast<std::string>());
    estimator::check_container_fits(*container, model, dict ? "compressed=" : compressed.cast<std::string>(), model.name);
  }
  return l;
}

}  // namespace

void bind_estimator(py::module_& m) {
  m.def(
      "estimate",
      [](const models::Model& model, const std::string& profile, const py::object& compressed, const py::object& plan,
         int64_t batch, std::optional<int> conv_bits) {
        std::optional<kmeans::CompressedModel> container;
        estimator::Loaded loaded = loaded_from(model, compressed, plan, container);
        loaded.profile = estimator::load_profile(profile);
        estimator::PipelineOptions options;
        options.batch = batch;
        options.conv_bits = conv_bits.value_or(0);
        // The mapping search as `dkm estimate` runs it by default: the paper metric's N_w and N_x come
        // from the chosen mapping, so both report the same numbers.
        options.mapper = estimator::MapperOptions{estimator::Objective::energy};
        const estimator::Estimated r = estimator::estimate_stage(loaded, container, options);
        const estimator::Estimate& e = r.estimate;
        py::dict d;
        d["model"] = e.model;
        d["profile"] = e.profile;
        d["unit"] = std::string(estimator::to_string(e.unit));
        d["batch"] = e.batch;
        d["totals"] = totals_dict(e.totals);
        if (e.uncompressed) d["uncompressed"] = totals_dict(*e.uncompressed);
        d["compression_ratio"] = ratio_dict(r.ratio);
        py::list layers;
        for (const auto& l : e.layers) {
          py::dict ld;
          ld["name"] = l.name;
          ld["k"] = l.compression.k;
          ld["index_bits"] = l.compression.index_bits;
          ld["density"] = l.compression.density;
          ld["paper_energy"] = l.paper.total_energy();
          ld["hierarchy_energy"] = l.hierarchy.total_energy();
          ld["macs"] = l.paper.macs;
          layers.append(ld);
        }
        d["layers"] = layers;
        return d;
      },
      py::arg("model"), py::arg("profile") = std::string(estimator::kDefaultProfile), py::kw_only(),
      py::arg("compressed") = py::none(), py::arg("plan") = py::none(), py::arg("batch") = 0,
      py::arg("conv_bits") = py::none(),
      "Energy estimate of a model, optionally compressed (a container path or dict) or planned (a Plan or a "
      "plan name or path: uniform labels); per-layer and total energies in the profile's unit, and the "
      "compression ratio. The same code as `dkm estimate`.");
  m.def(
      "compression_ratio",
      [](const models::Model& model, const py::object& compressed, const py::object& plan) {
        std::optional<kmeans::CompressedModel> container;
        const estimator::Loaded loaded = loaded_from(model, compressed, plan, container);
        return ratio_dict(container ? estimator::compression_ratio(model, *container)
                                    : estimator::compression_ratio(model, loaded.settings));
      },
      py::arg("model"), py::arg("compressed") = py::none(), py::kw_only(), py::arg("plan") = py::none(),
      "The compression ratio three ways (fixed, entropy, huffman) of a container (path or dict) or a plan "
      "(uniform labels): the same code as `dkm compress` and the report (estimator/compression_ratio.hpp).");
}

}  // namespace dkm::python

// The layers model as a whole: the manifest, the Keras topology (Sequential or functional, Keras 2 and
// Keras 3 serialisations), the input, layer inputs, names and the weights each layer takes.
#include <fmt/core.h>

#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "models/error.hpp"
#include "models/tfjs/tfjs_converter.hpp"

namespace dkm::models::tfjs {

namespace {

// Keras has no layer called this; it stands for a Sequential model's implicit input.
const std::string kSequentialInput = "";

}  // namespace

Converter::Converter(const Json& doc, const std::string& source, const GroupReader& read_group,
                     const TfjsInput& options)
    : doc_(doc), source_(source), read_group_(read_group), options_(options) {}

Model Converter::run() {
  if (doc_.is_array())
    throw InputError(source_, "",
                     "expected a TF.js layers model (an object with \"modelTopology\" and \"weightsManifest\"), got "
                     "a bare weights manifest without a topology (face-api ships these; see docs/tfjs.md)");
  if (!doc_.is_object())
    throw InputError(source_, "", fmt::format("expected a TF.js model.json (an object), got {}", json_type_name(doc_)));
  if (doc_.contains("format")) {
    const Json& f = doc_["format"];
    if (f == "graph-model")
      throw InputError(source_, "format",
                       "expected a TF.js layers model (\"layers-model\"), got a graph model (TensorFlow operations); "
                       "convert the Keras model with --output_format=tfjs_layers_model, or to ONNX");
    if (f != "layers-model")
      throw InputError(source_, "format", fmt::format("expected \"layers-model\", got {}", json_shown(f)));
  }
  for (const char* k : {"modelTopology", "weightsManifest"})
    if (!doc_.contains(k)) throw InputError(source_, "", fmt::format("expected the key \"{}\"", k));
  read_manifest();
  read_topology(doc_["modelTopology"], "modelTopology");
  for (size_t i = 0; i < manifest_.weights.size(); ++i)
    if (!used_weights_.count(i))
      throw InputError(source_, manifest_.weights[i].where,
                       fmt::format("expected every weight to belong to a layer of the topology, got '{}' unused",
                                   manifest_.weights[i].name));
  std::map<std::string, int> stored;
  for (const auto& w : manifest_.weights) ++stored[w.stored];
  std::string kinds;
  for (const auto& [k, n] : stored)
    kinds += fmt::format("{}{} {}", kinds.empty() ? "" : ", ", n, k == "float32" || k == "int32" ? k : k + "-quantised");
  model_.description = fmt::format("TF.js layers model ({} weights: {})", manifest_.weights.size(), kinds);
  for (const char* k : {"generatedBy", "convertedBy"})
    if (doc_.contains(k) && doc_[k].is_string()) model_.description += fmt::format("; {} {}", k, doc_[k].get<std::string>());
  return std::move(model_);
}

void Converter::read_manifest() {
  manifest_ = parse_manifest(doc_["weightsManifest"], source_, "weightsManifest");
  group_bytes_.resize(manifest_.groups.size());
  group_read_.assign(manifest_.groups.size(), false);
  for (size_t i = 0; i < manifest_.weights.size(); ++i) {
    auto [it, fresh] = weight_index_.emplace(manifest_.weights[i].name, i);
    if (!fresh)
      throw InputError(source_, manifest_.weights[i].where + ".name",
                       fmt::format("expected each weight name once, got '{}' again", manifest_.weights[i].name));
  }
}

void Converter::read_topology(const Json& topology, const std::string& at_topology) {
  std::string at = at_topology;
  const Json* topo = &topology;
  if (topo->is_object() && topo->contains("model_config")) {  // the Python converter wraps it
    topo = &(*topo)["model_config"];
    at += ".model_config";
  }
  if (!topo->is_object() || !topo->contains("class_name") || !topo->contains("config"))
    throw InputError(source_, at, "expected a Keras model (an object with \"class_name\" and \"config\")");
  const Json& cls = (*topo)["class_name"];
  const Json& config = (*topo)["config"];
  bool sequential = cls == "Sequential";
  if (!sequential && cls != "Model" && cls != "Functional")
    throw InputError(source_, at + ".class_name",
                     fmt::format("expected \"Sequential\", \"Model\" or \"Functional\", got {}", json_shown(cls)));
  if (config.is_object() && config.contains("name") && config["name"].is_string())
    model_.name = config["name"].get<std::string>();
  if (model_.name.empty()) model_.name = "tfjs-model";
  const Json& layers = config.is_array() ? config : config.is_object() && config.contains("layers") ? config["layers"] : Json();
  std::string at_layers = at + (config.is_array() ? ".config" : ".config.layers");
  if (!layers.is_array() || layers.empty())
    throw InputError(source_, at_layers, "expected a non-empty array of layers");
  if (!sequential) {
    const Json* in = config.contains("input_layers") ? &config["input_layers"] : nullptr;
    // Keras 2 writes [[name, 0, 0]] (one per input); Keras 3 a single [name, 0, 0] for one input.
    if (in && in->is_array() && in->size() > 1 && (*in)[0].is_array())
      throw InputError(source_, at + ".config.input_layers",
                       fmt::format("expected one model input, got {}", in->size()));
  }
  std::string previous = kSequentialInput;
  for (size_t i = 0; i < layers.size(); ++i) {
    std::string where = fmt::format("{}[{}]", at_layers, i);
    const Json& l = layers[i];
    if (!l.is_object() || !l.contains("class_name") || !l["class_name"].is_string() || !l.contains("config") ||
        !l["config"].is_object())
      throw InputError(source_, where, "expected a Keras layer (an object with \"class_name\" and \"config\")");
    std::vector<std::string> in;
    if (sequential) {
      if (i == 0 && l["class_name"] != "InputLayer") {
        const Json& c = l["config"];
        const char* key = c.contains("batch_input_shape") ? "batch_input_shape" : "batch_shape";
        if (!c.contains(key))
          throw InputError(source_, where + ".config",
                           "expected \"batch_input_shape\" on the first layer of a Sequential model (or an InputLayer)");
        setup_input(c[key], where + ".config." + key);
        values_[kSequentialInput] = values_.at("\x01");
      }
      if (l["class_name"] != "InputLayer") in.push_back(previous);
    } else {
      in = inbound(l, where);
    }
    layer_ = &l;
    config_ = &l["config"];
    at_ = where;
    class_ = l["class_name"].get<std::string>();
    const Json& n = l.contains("name") ? l["name"] : (*config_).contains("name") ? (*config_)["name"] : Json();
    if (!n.is_string() || n.get<std::string>().empty())
      throw InputError(source_, where + ".name", "expected a non-empty layer name (a string)");
    name_ = n.get<std::string>();
    if (values_.count(name_)) fail(fmt::format("expected a unique layer name, got '{}' twice", name_));
    inputs_ = in;
    convert(l, where, sequential);
    previous = name_;
  }
  if (!have_input_) throw InputError(source_, at_layers, "expected an InputLayer or a first layer with an input shape");
}

std::vector<std::string> Converter::inbound(const Json& layer, const std::string& at) const {
  std::vector<std::string> names;
  if (!layer.contains("inbound_nodes")) return names;
  const Json& nodes = layer["inbound_nodes"];
  std::string where = at + ".inbound_nodes";
  if (!nodes.is_array()) throw InputError(source_, where, "expected an array of inbound nodes");
  if (nodes.empty()) return names;
  if (nodes.size() > 1)
    throw InputError(source_, where,
                     fmt::format("expected a layer called once, got one shared by {} calls (shared layers are not "
                                 "supported; give each call its own layer)",
                                 nodes.size()));
  const Json& node = nodes[0];
  auto take = [&](const Json& history, const std::string& w) {
    if (!history.is_array() || history.size() < 3 || !history[0].is_string() || history[1] != 0 || history[2] != 0)
      throw InputError(source_, w,
                       fmt::format("expected [layer name, 0, 0] (the first output of a layer called once), got {}",
                                   json_shown(history)));
    names.push_back(history[0].get<std::string>());
  };
  if (node.is_array()) {  // Keras 2: [[name, node index, tensor index, kwargs], ...]
    for (size_t i = 0; i < node.size(); ++i) take(node[i], fmt::format("{}[0][{}]", where, i));
  } else if (node.is_object() && node.contains("args") && node["args"].is_array() && !node["args"].empty()) {
    // Keras 3: {"args": [tensor or [tensors]], "kwargs": {}}; a tensor names its producer in keras_history.
    const Json& arg = node["args"][0];
    auto tensor = [&](const Json& t, const std::string& w) {
      if (!t.is_object() || !t.contains("config") || !t["config"].is_object() || !t["config"].contains("keras_history"))
        throw InputError(source_, w, "expected a Keras tensor with \"config\".\"keras_history\"");
      take(t["config"]["keras_history"], w + ".config.keras_history");
    };
    if (arg.is_array()) {
      for (size_t i = 0; i < arg.size(); ++i) tensor(arg[i], fmt::format("{}[0].args[0][{}]", where, i));
    } else {
      tensor(arg, where + "[0].args[0]");
    }
  } else {
    throw InputError(source_, where + "[0]", "expected an inbound node (Keras 2 list or Keras 3 {\"args\": ...})");
  }
  return names;
}

void Converter::setup_input(const Json& batch_shape, const std::string& at) {
  if (have_input_) throw InputError(source_, at, "expected one model input, got a second input layer");
  if (!batch_shape.is_array() || (batch_shape.size() != 4 && batch_shape.size() != 2))
    throw InputError(source_, at,
                     fmt::format("expected the input shape [batch, height, width, channels] or [batch, features], got {}",
                                 json_shown(batch_shape)));
  const auto& given = options_.input_shape;
  if (!given.empty() && given.size() != batch_shape.size())
    throw UsageError(fmt::format("--input-shape: expected {} sizes for {}'s input, got {}", batch_shape.size(),
                                 source_, given.size()));
  std::vector<int64_t> dims;
  for (size_t i = 0; i < batch_shape.size(); ++i) {
    const Json& d = batch_shape[i];
    std::string w = fmt::format("{}[{}]", at, i);
    if (d.is_null()) {
      if (given.empty() && i > 0)
        throw InputError(source_, w, "expected a fixed input size; give --input-shape 1,H,W,C (NHWC)");
      dims.push_back(given.empty() ? 1 : given[i]);
      continue;
    }
    if (!d.is_number_integer() || d.get<int64_t>() < 1 || d.get<int64_t>() > (int64_t{1} << 31))
      throw InputError(source_, w, fmt::format("expected a positive input size or null, got {}", json_shown(d)));
    if (!given.empty() && given[i] != d.get<int64_t>())
      throw UsageError(fmt::format("--input-shape: size {} is {}, but {} fixes it at {}", i, given[i], source_,
                                   d.get<int64_t>()));
    dims.push_back(d.get<int64_t>());
  }
  model_.batch = 1;
  bool flat = dims.size() == 2;
  model_.input = flat ? Shape{dims[1], 1, 1} : Shape{dims[3], dims[1], dims[2]};
  LayerSite site{source_, at};
  checked_mul(checked_mul(model_.input.c, model_.input.h, site, "", "input size"), model_.input.w, site, "", "input size");
  Value v;
  v.layer = "input";
  v.shape = model_.input;
  v.flat = flat;
  values_["\x01"] = v;  // the input, whatever its Keras name; copied to that name by the caller
  have_input_ = true;
}

[[noreturn]] void Converter::fail(const std::string& expected) const {
  throw InputError(source_, fmt::format("{} ('{}', {})", at_, name_, class_), expected);
}

[[noreturn]] void Converter::fail_at(const std::string& field, const std::string& expected) const {
  throw InputError(source_, fmt::format("{}.config.{} ('{}', {})", at_, field, name_, class_), expected);
}

const Json* Converter::config(const char* key) const {
  auto it = config_->find(key);
  return it == config_->end() || it->is_null() ? nullptr : &*it;
}

int64_t Converter::config_int(const char* key, int64_t fallback, int64_t min) const {
  const Json* v = config(key);
  if (!v) {
    if (fallback < min) fail_at(key, "expected this key (an integer)");
    return fallback;
  }
  if (!v->is_number_integer() || v->get<int64_t>() < min || v->get<int64_t>() > (int64_t{1} << 31))
    fail_at(key, fmt::format("expected an integer from {} to 2^31, got {}", min, json_shown(*v)));
  return v->get<int64_t>();
}

std::pair<int64_t, int64_t> Converter::config_pair(const char* key, std::pair<int64_t, int64_t> fallback) const {
  const Json* v = config(key);
  if (!v) {
    if (fallback.first < 1) fail_at(key, "expected this key ([height, width])");
    return fallback;
  }
  auto one = [&](const Json& d) {
    if (!d.is_number_integer() || d.get<int64_t>() < 1 || d.get<int64_t>() > (int64_t{1} << 31))
      fail_at(key, fmt::format("expected a positive integer or [height, width], got {}", json_shown(*v)));
    return d.get<int64_t>();
  };
  if (v->is_array()) {
    if (v->size() != 2) fail_at(key, fmt::format("expected [height, width], got {}", json_shown(*v)));
    return {one((*v)[0]), one((*v)[1])};
  }
  int64_t n = one(*v);
  return {n, n};
}

std::string Converter::config_string(const char* key, const std::string& fallback) const {
  const Json* v = config(key);
  if (!v) return fallback;
  if (!v->is_string()) fail_at(key, fmt::format("expected a string, got {} ({})", json_type_name(*v), json_shown(*v)));
  return v->get<std::string>();
}

bool Converter::config_bool(const char* key, bool fallback) const {
  const Json* v = config(key);
  if (!v) return fallback;
  if (!v->is_boolean()) fail_at(key, fmt::format("expected true or false, got {}", json_shown(*v)));
  return v->get<bool>();
}

double Converter::config_number(const char* key, double fallback) const {
  const Json* v = config(key);
  if (!v) return fallback;
  if (!v->is_number() || !std::isfinite(v->get<double>()))
    fail_at(key, fmt::format("expected a finite number, got {}", json_shown(*v)));
  return v->get<double>();
}

void Converter::channels_last() const {
  std::string f = config_string("data_format", "channels_last");
  if (f != "channels_last")
    fail_at("data_format", fmt::format("expected \"channels_last\" (NHWC, TF.js's layout), got \"{}\"", f));
}

const Value& Converter::input(size_t i) const {
  if (i >= inputs_.size()) fail(fmt::format("expected at least {} input(s), got {}", i + 1, inputs_.size()));
  auto it = values_.find(inputs_[i]);
  if (it == values_.end())
    fail(fmt::format("expected inputs from earlier layers, got '{}', which is not an earlier layer", inputs_[i]));
  return it->second;
}

Layer& Converter::emit(Layer layer, const std::vector<const Value*>& inputs) {
  for (const Value* v : inputs) {
    if (v->pad != Pads{})
      fail("expected a ZeroPadding2D output to feed a convolution or pooling layer, which takes the padding");
    layer.inputs.push_back(v->layer);
    layer.input_shapes.push_back(v->shape);
  }
  if (layer.name == "input" || !dkm_names_.insert(layer.name).second)
    fail(fmt::format("expected the dkm layer name '{}' to be unused, but another layer has it", layer.name));
  infer_layer(layer, false, LayerSite{source_, fmt::format("{} ('{}', {})", at_, name_, class_)});
  model_.layers.push_back(std::move(layer));
  return model_.layers.back();
}

void Converter::set_output(const Value& v) { values_[name_] = v; }

bool Converter::has_weight(const std::string& var) const { return weight_index_.count(name_ + "/" + var) > 0; }

Tensor Converter::weight(const std::string& var, const std::vector<int64_t>& shape) {
  std::string wanted = name_ + "/" + var;
  auto it = weight_index_.find(wanted);
  if (it == weight_index_.end()) {  // some converters prefix a scope: "model/conv2d/kernel"
    std::string suffix = "/" + wanted;
    for (auto w = weight_index_.begin(); w != weight_index_.end(); ++w)
      if (w->first.ends_with(suffix)) {
        if (it != weight_index_.end())
          fail(fmt::format("expected one manifest weight ending in '{}', got '{}' and '{}'", suffix, it->first, w->first));
        it = w;
      }
  }
  if (it == weight_index_.end()) fail(fmt::format("expected the weight '{}' in the weights manifest", wanted));
  const ManifestWeight& w = manifest_.weights[it->second];
  if (w.shape != shape)
    throw InputError(source_, w.where + ".shape",
                     fmt::format("expected the shape [{}] for '{}' (layer '{}', {}), got [{}]", fmt::join(shape, ","),
                                 w.name, name_, class_, fmt::join(w.shape, ",")));
  if (w.dtype != "float32")
    throw InputError(source_, w.where + ".dtype", fmt::format("expected float32 for '{}', got {}", w.name, w.dtype));
  if (!group_read_[w.group]) {
    group_bytes_[w.group] = read_group_(manifest_.groups[w.group]);
    group_read_[w.group] = true;
    if (group_bytes_[w.group].size() != manifest_.groups[w.group].bytes)
      throw InputError(source_, manifest_.groups[w.group].where,
                       fmt::format("expected shards of {} bytes in all, got {}", manifest_.groups[w.group].bytes,
                                   group_bytes_[w.group].size()));
  }
  used_weights_.insert(it->second);
  return decode_weight(w, group_bytes_[w.group], source_);
}

}  // namespace dkm::models::tfjs

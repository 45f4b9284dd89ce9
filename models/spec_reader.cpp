// Reading a JSON model spec (docs/model-spec.md): JSON syntax, then every field with its JSON path in
// errors, then the layer graph (names, inputs, cycles), then shape inference in topological order.
#include <fmt/core.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include "models/error.hpp"
#include "models/json_reader.hpp"
#include "models/model.hpp"
#include "models/shape_inference.hpp"
#include "models/spec_format.hpp"

namespace dkm::models {

namespace {

using json = Json;

// A layer as read, before the graph is resolved; kept in file order so that its index locates errors.
struct SpecLayer {
  Layer layer;
  bool same_padding = false;
  bool explicit_stride = false;
};

class Reader : public JsonReader {
 public:
  using JsonReader::JsonReader;
  using JsonReader::integer;

  int64_t integer(const json& j, const std::string& where, int64_t min, const char* expected) const {
    return integer(j, where, min, kJsonIntMax, expected);
  }
  int64_t positive(const json& j, const std::string& where) const {
    return integer(j, where, 1, "a positive integer");
  }
  int bits(const json& j, const std::string& where) const {
    int64_t v = integer(j, where, 1, "a bit width from 1 to 32");
    if (v > 32) fail(where, fmt::format("expected a bit width from 1 to 32, got {}", v));
    return static_cast<int>(v);
  }
  // An integer N for both axes, or [height, width].
  std::pair<int64_t, int64_t> pair(const json& j, const std::string& where, int64_t min, const char* what) const {
    std::string expected = fmt::format("{} {} or [height, width]", min == 0 ? "a non-negative" : "a positive", what);
    if (j.is_array()) {
      if (j.size() != 2) fail(where, fmt::format("expected {}, got an array of {}", expected, j.size()));
      return {integer(j[0], where + "[0]", min, expected.c_str()), integer(j[1], where + "[1]", min, expected.c_str())};
    }
    int64_t v = integer(j, where, min, expected.c_str());
    return {v, v};
  }

  // N, [vertical, horizontal], [top, left, bottom, right], "same" or "valid".
  Pads padding(const json& j, const std::string& where, bool& same) const {
    const char* expected = "a padding: N, [vertical, horizontal], [top, left, bottom, right], \"same\" or \"valid\"";
    same = false;
    if (j.is_string()) {
      std::string s = j.get<std::string>();
      if (s == "same") same = true;
      else if (s != "valid") fail(where, fmt::format("expected {}, got \"{}\"", expected, s));
      return {};
    }
    if (j.is_array()) {
      if (j.size() == 2) {
        auto [v, h] = pair(j, where, 0, "padding");
        return {v, h, v, h};
      }
      if (j.size() != 4) fail(where, fmt::format("expected {}, got an array of {}", expected, j.size()));
      int64_t p[4];
      for (size_t i = 0; i < 4; ++i) p[i] = integer(j[i], fmt::format("{}[{}]", where, i), 0, expected);
      return {p[0], p[1], p[2], p[3]};
    }
    int64_t v = integer(j, where, 0, expected);
    return {v, v, v, v};
  }

  SpecLayer layer(const json& j, size_t index) const {
    std::string path = fmt::format("layers[{}]", index);
    if (!j.is_object()) fail(path, fmt::format("expected a layer object, got {} ({})", json_type_name(j), json_shown(j)));
    SpecLayer s;
    Layer& l = s.layer;
    if (!j.contains("name")) fail(path, "expected the key \"name\"");
    l.name = string(j["name"], path + ".name", "a layer name (a non-empty string)");
    if (l.name.empty() || l.name == "input")
      fail(path + ".name", fmt::format("expected a non-empty layer name other than \"input\", got \"{}\"", l.name));
    if (!j.contains("type")) fail(path, "expected the key \"type\"");
    std::string type = string(j["type"], path + ".type", "a layer type (a string)");
    const LayerType* t = find_layer_type(type);
    if (!t) fail(path + ".type", fmt::format("expected a layer type ({}), got \"{}\"", layer_type_list(), type));
    l.kind = t->kind;
    l.activation = std::string(t->activation);
    l.bias = l.has_weights() || l.kind == LayerKind::layernorm;  // as in PyTorch
    check_keys(j, path, t->keys, fmt::format("a {} layer", type));

    for (const auto& [key, v] : j.items()) {
      std::string at = path + "." + key;
      if (key == "inputs") {
        if (v.is_string()) {
          l.inputs.push_back(v.get<std::string>());
        } else if (v.is_array() && !v.empty()) {
          for (size_t i = 0; i < v.size(); ++i)
            l.inputs.push_back(string(v[i], fmt::format("{}[{}]", at, i), "a layer name or \"input\""));
        } else {
          fail(at, fmt::format("expected a layer name or a non-empty array of layer names, got {}", json_shown(v)));
        }
      } else if (key == "weight_bits") {
        l.weight_bits = bits(v, at);
      } else if (key == "act_bits") {
        l.act_bits = bits(v, at);
      } else if (key == "out_channels") {
        l.out_channels = positive(v, at);
      } else if (key == "out_features") {
        l.out_features = positive(v, at);
      } else if (key == "kernel") {
        std::tie(l.kernel_h, l.kernel_w) = pair(v, at, 1, "kernel size");
      } else if (key == "stride") {
        std::tie(l.stride_h, l.stride_w) = pair(v, at, 1, "stride");
        s.explicit_stride = true;
      } else if (key == "dilation") {
        std::tie(l.dilation_h, l.dilation_w) = pair(v, at, 1, "dilation");
      } else if (key == "padding") {
        l.pads = padding(v, at, s.same_padding);
      } else if (key == "output_padding") {
        std::tie(l.output_padding_h, l.output_padding_w) = pair(v, at, 0, "output padding");
      } else if (key == "groups") {
        l.groups = positive(v, at);
      } else if (key == "bias") {
        l.bias = boolean(v, at);
      } else if (key == "ceil_mode") {
        l.ceil_mode = boolean(v, at);
      } else if (key == "global") {
        l.global = boolean(v, at);
      } else if (key == "scale") {
        l.scale = positive(v, at);
      } else if (key == "mode") {
        if (string(v, at, "\"nearest\"") != "nearest")
          fail(at, fmt::format("expected \"nearest\" (the only upsampling mode), got {}", json_shown(v)));
      } else if (key == "rate") {
        if (!v.is_number() || v.get<double>() < 0 || v.get<double>() >= 1)
          fail(at, fmt::format("expected a drop probability in [0, 1), got {}", json_shown(v)));
        l.rate = v.get<double>();
      } else if (key == "pad_channels") {
        l.pad_channels = boolean(v, at);
      } else if (key == "per_position") {
        l.per_position = boolean(v, at);
      } else if (key == "op") {
        l.op = string(v, at, "an operation name (a string)");
        if (l.op.empty() || l.op.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos)
          fail(at, fmt::format("expected an operation name in lower case letters, digits and _, got {}", json_shown(v)));
      } else if (key == "constant") {
        l.constant = shape(v, at, "the constant operand's shape [channels, height, width]");
      } else if (key == "shape") {
        l.target = shape(v, at, "the output shape [channels, height, width]");
      } else if (key == "params") {
        l.const_params = integer(v, at, 0, "a non-negative parameter count");
      } else if (key == "activation") {
        std::string f = string(v, at, "an activation function name");
        const LayerType* ft = find_layer_type(f);
        if (!ft || ft->kind != LayerKind::activation)
          fail(at, fmt::format("expected an activation function ({}), got \"{}\"", activation_list(), f));
        l.activation = f;
      }
    }
    require(j, path, t->required);
    bool pool = l.kind == LayerKind::maxpool || l.kind == LayerKind::avgpool;
    if (pool && !l.global && !j.contains("kernel")) fail(path, "expected the key \"kernel\" (or \"global\": true)");
    if (pool && l.global)
      for (const char* k : {"kernel", "stride", "padding", "ceil_mode"})
        if (j.contains(k)) fail(path + "." + k, "expected no window settings on a global pooling layer");
    if (pool && !s.explicit_stride) {  // pooling windows default to not overlapping
      l.stride_h = l.kernel_h;
      l.stride_w = l.kernel_w;
    }
    return s;
  }

  Shape shape(const Json& j, const std::string& where, const char* what) const {
    if (!j.is_array() || j.size() != 3) fail(where, fmt::format("expected {}, got {}", what, json_shown(j)));
    return {positive(j[0], where + "[0]"), positive(j[1], where + "[1]"), positive(j[2], where + "[2]")};
  }
};

// Kahn's algorithm, taking ready layers in file order so a file already in topological order keeps it.
std::vector<size_t> topological_order(const std::vector<SpecLayer>& layers,
                                      const std::vector<std::vector<size_t>>& producers, const Reader& reader) {
  size_t n = layers.size();
  std::vector<size_t> pending(n);
  std::vector<std::vector<size_t>> consumers(n);
  for (size_t i = 0; i < n; ++i) {
    pending[i] = producers[i].size();
    for (size_t p : producers[i]) consumers[p].push_back(i);
  }
  std::set<size_t> ready;
  for (size_t i = 0; i < n; ++i)
    if (pending[i] == 0) ready.insert(i);
  std::vector<size_t> order;
  while (!ready.empty()) {
    size_t i = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(i);
    for (size_t c : consumers[i])
      if (--pending[c] == 0) ready.insert(c);
  }
  if (order.size() == n) return order;
  // Walk back along unresolved producers from the first stuck layer until a layer repeats.
  size_t at = 0;
  while (pending[at] == 0) ++at;
  std::vector<size_t> walk;
  std::vector<bool> seen(n, false);
  while (!seen[at]) {
    seen[at] = true;
    walk.push_back(at);
    for (size_t p : producers[at])
      if (pending[p] != 0) {
        at = p;
        break;
      }
  }
  // walk[k]'s producer is walk[k + 1] and the last one's is `at`, so data flows backwards along it.
  std::string cycle = layers[at].layer.name;
  for (auto it = walk.rbegin(); it != walk.rend(); ++it) {
    cycle += " -> " + layers[*it].layer.name;
    if (*it == at) break;
  }
  reader.fail(fmt::format("layers[{}].inputs", at),
              "expected layers forming an acyclic graph, got the cycle " + cycle);
}

}  // namespace

Model parse_model(std::string_view json_text, const std::string& source) {
  Reader reader(source);
  json spec = parse_json(json_text, source, "a JSON model spec");
  if (!spec.is_object()) reader.fail("", fmt::format("expected a JSON object at the top level, got {}", json_type_name(spec)));
  reader.check_keys(spec, "", {"format", "name", "description", "input", "batch", "weight_bits", "act_bits", "layers"},
                    "a model spec");
  reader.require(spec, "", {"format", "name", "input", "layers"});
  std::string format_expected = fmt::format("the format version \"{}\"", kModelFormat);
  std::string format = reader.string(spec["format"], "format", format_expected.c_str());
  if (format != kModelFormat)
    reader.fail("format", fmt::format("expected the format version \"{}\", got \"{}\"", kModelFormat, format));

  Model m;
  m.name = reader.string(spec["name"], "name", "a model name (a non-empty string)");
  if (m.name.empty()) reader.fail("name", "expected a non-empty model name");
  if (spec.contains("description"))
    m.description = reader.string(spec["description"], "description", "a description (a string)");
  const json& in = spec["input"];
  if (!in.is_array() || in.size() != 3)
    reader.fail("input", fmt::format("expected the input shape [channels, height, width], got {}", json_shown(in)));
  m.input = {reader.positive(in[0], "input[0]"), reader.positive(in[1], "input[1]"), reader.positive(in[2], "input[2]")};
  checked_mul(checked_mul(m.input.c, m.input.h, {source, "input"}, "", "input size"), m.input.w, {source, "input"}, "",
              "input size");
  if (spec.contains("batch")) m.batch = reader.positive(spec["batch"], "batch");
  checked_mul(m.input.numel(), m.batch, {source, "batch"}, "", "input size per batch");
  if (spec.contains("weight_bits")) m.weight_bits = reader.bits(spec["weight_bits"], "weight_bits");
  if (spec.contains("act_bits")) m.act_bits = reader.bits(spec["act_bits"], "act_bits");

  const json& jl = spec["layers"];
  if (!jl.is_array() || jl.empty())
    reader.fail("layers", fmt::format("expected a non-empty array of layers, got {}", json_shown(jl)));
  std::vector<SpecLayer> layers;
  std::map<std::string, size_t, std::less<>> by_name;
  for (size_t i = 0; i < jl.size(); ++i) {
    layers.push_back(reader.layer(jl[i], i));
    auto [it, fresh] = by_name.emplace(layers.back().layer.name, i);
    if (!fresh)
      reader.fail(fmt::format("layers[{}].name", i),
                  fmt::format("expected a unique layer name, got \"{}\" again (first at layers[{}])",
                              layers.back().layer.name, it->second));
  }

  // Resolve inputs: by default the previous layer in the file, the model input for the first.
  constexpr size_t kModelInput = SIZE_MAX;
  std::vector<std::vector<size_t>> producers(layers.size());
  std::vector<std::vector<size_t>> sources(layers.size());
  for (size_t i = 0; i < layers.size(); ++i) {
    Layer& l = layers[i].layer;
    if (l.inputs.empty()) l.inputs.push_back(i == 0 ? "input" : layers[i - 1].layer.name);
    for (size_t k = 0; k < l.inputs.size(); ++k) {
      if (l.inputs[k] == "input") {
        sources[i].push_back(kModelInput);
        continue;
      }
      auto it = by_name.find(l.inputs[k]);
      if (it == by_name.end())
        reader.fail(fmt::format("layers[{}].inputs", i),
                    fmt::format("expected \"input\" or the name of a layer, got \"{}\"", l.inputs[k]));
      sources[i].push_back(it->second);
      producers[i].push_back(it->second);
    }
  }

  std::vector<Shape> shapes(layers.size());
  int64_t total_params = 0, total_macs = 0;
  for (size_t i : topological_order(layers, producers, reader)) {
    SpecLayer& s = layers[i];
    LayerSite site{source, fmt::format("layers[{}]", i)};
    for (size_t p : sources[i]) s.layer.input_shapes.push_back(p == kModelInput ? m.input : shapes[p]);
    infer_layer(s.layer, s.same_padding, site);
    shapes[i] = s.layer.output_shape;
    // Bounds the totals and the per-batch counts so later stages can multiply by the batch safely.
    checked_mul(s.layer.output_shape.numel(), m.batch, site, "", "activation count per batch");
    total_params = checked_add(total_params, s.layer.params(), site, "", "total parameter count");
    total_macs = checked_add(total_macs, s.layer.macs, site, "", "total MAC count");
    checked_mul(total_macs, m.batch, site, "", "MAC count per batch");
    m.layers.push_back(std::move(s.layer));
  }
  return m;
}

}  // namespace dkm::models

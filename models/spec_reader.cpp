// Reading a JSON model spec (docs/model-spec.md): JSON syntax, then every field with its JSON path in
// errors, then the layer graph (names, inputs, cycles), then shape inference in topological order.
#include <fmt/core.h>

#include <algorithm>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "models/error.hpp"
#include "models/model.hpp"
#include "models/shape_inference.hpp"
#include "models/spec_format.hpp"

namespace dkm::models {

namespace {

using json = nlohmann::ordered_json;

// A layer as read, before the graph is resolved; kept in file order so that its index locates errors.
struct SpecLayer {
  Layer layer;
  bool same_padding = false;
  bool explicit_stride = false;
};

std::string type_name(const json& j) {
  switch (j.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::string: return "a string";
    case json::value_t::array: return "an array";
    case json::value_t::object: return "an object";
    case json::value_t::number_float: return "a non-integer number";
    default: return "a number";
  }
}

// Short rendering of a JSON value for "got ..." in messages.
std::string shown(const json& j) {
  std::string s = j.dump();
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return s;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const std::string& where, const std::string& expected) const {
    throw InputError(source_, where, expected);
  }

  json parse_text(std::string_view text) const {
    if (text.find_first_not_of(" \t\r\n") == std::string_view::npos)
      fail("", "expected a JSON model spec, got an empty file");
    try {
      return json::parse(text, duplicate_key_check());
    } catch (const json::parse_error& e) {
      size_t offset = e.byte == 0 ? 0 : std::min<size_t>(e.byte - 1, text.size());
      size_t line = 1, column = 1;
      for (size_t i = 0; i < offset; ++i) {
        if (text[i] == '\n') {
          ++line;
          column = 1;
        } else {
          ++column;
        }
      }
      // nlohmann's message is "[json.exception.parse_error.101] parse error at line L, column C: WHAT".
      std::string what = e.what();
      if (auto p = what.find(": "); p != std::string::npos) what = what.substr(p + 2);
      std::string where = fmt::format("line {}, column {}", line, column);
      if (what.ends_with("; expected end of input"))
        fail(where, "expected the end of the file after the spec's JSON object, got trailing characters");
      fail(where, "expected valid JSON: " + what);
    } catch (const json::out_of_range&) {  // a number beyond double range, such as 1e999
      fail("", "expected valid JSON with numbers a double can hold");
    }
  }

  // JSON allows a key twice in one object and keeps the last; in a spec that is always a mistake.
  json::parser_callback_t duplicate_key_check() const {
    struct Frame {
      bool array = false;
      int64_t index = -1;
      std::string key;
      std::set<std::string> keys;
    };
    auto frames = std::make_shared<std::vector<Frame>>();
    return [this, frames](int, json::parse_event_t event, json& parsed) {
      auto& f = *frames;
      auto element = [&] {
        if (!f.empty() && f.back().array) ++f.back().index;
      };
      switch (event) {
        case json::parse_event_t::object_start:
        case json::parse_event_t::array_start:
          element();
          f.push_back({event == json::parse_event_t::array_start, -1, {}, {}});
          break;
        case json::parse_event_t::object_end:
        case json::parse_event_t::array_end:
          f.pop_back();
          break;
        case json::parse_event_t::value:
          element();
          break;
        case json::parse_event_t::key: {
          Frame& top = f.back();
          top.key = parsed.get<std::string>();
          if (!top.keys.insert(top.key).second) {
            std::string path;
            for (const Frame& fr : f)
              path += fr.array ? fmt::format("[{}]", fr.index) : (path.empty() ? "" : ".") + fr.key;
            fail(path, "expected each key once in an object, got a duplicate key");
          }
          break;
        }
      }
      return true;
    };
  }

  // Rejects keys outside `allowed`, suggesting the nearest allowed key for a typo.
  void check_keys(const json& obj, const std::string& path, const std::vector<std::string_view>& allowed,
                  const std::string& what) const {
    for (const auto& [key, value] : obj.items()) {
      if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
      std::string hint;
      for (auto a : allowed)
        if (edit_distance(key, a) <= 2) {
          hint = fmt::format(" (did you mean \"{}\"?)", a);
          break;
        }
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      fail(join(path, key), fmt::format("unknown key for {}{}; expected one of: {}", what, hint, list));
    }
  }

  static std::string join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }

  int64_t integer(const json& j, const std::string& where, int64_t min, const char* expected) const {
    if (!j.is_number_integer()) fail(where, fmt::format("expected {}, got {} ({})", expected, type_name(j), shown(j)));
    if (j.is_number_unsigned() && j.get<uint64_t>() > uint64_t(INT64_MAX))
      fail(where, fmt::format("expected {}, got {} (larger than 64 bits allow)", expected, shown(j)));
    int64_t v = j.get<int64_t>();
    if (v < min) fail(where, fmt::format("expected {}, got {}", expected, v));
    return v;
  }
  int64_t positive(const json& j, const std::string& where) const {
    return integer(j, where, 1, "a positive integer");
  }
  int bits(const json& j, const std::string& where) const {
    int64_t v = integer(j, where, 1, "a bit width from 1 to 32");
    if (v > 32) fail(where, fmt::format("expected a bit width from 1 to 32, got {}", v));
    return static_cast<int>(v);
  }
  std::string string(const json& j, const std::string& where, const char* expected) const {
    if (!j.is_string()) fail(where, fmt::format("expected {}, got {} ({})", expected, type_name(j), shown(j)));
    return j.get<std::string>();
  }
  bool boolean(const json& j, const std::string& where) const {
    if (!j.is_boolean()) fail(where, fmt::format("expected true or false, got {} ({})", type_name(j), shown(j)));
    return j.get<bool>();
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
    if (!j.is_object()) fail(path, fmt::format("expected a layer object, got {} ({})", type_name(j), shown(j)));
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
    l.bias = l.kind == LayerKind::conv2d || l.kind == LayerKind::linear;  // as in PyTorch
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
          fail(at, fmt::format("expected a layer name or a non-empty array of layer names, got {}", shown(v)));
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
          fail(at, fmt::format("expected \"nearest\" (the only upsampling mode), got {}", shown(v)));
      } else if (key == "rate") {
        if (!v.is_number() || v.get<double>() < 0 || v.get<double>() >= 1)
          fail(at, fmt::format("expected a drop probability in [0, 1), got {}", shown(v)));
        l.rate = v.get<double>();
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

  void require(const json& j, const std::string& path, const std::vector<std::string_view>& keys) const {
    for (auto k : keys)
      if (!j.contains(k)) fail(path, fmt::format("expected the key \"{}\"", k));
  }

 private:
  std::string source_;
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
  json spec = reader.parse_text(json_text);
  if (!spec.is_object()) reader.fail("", fmt::format("expected a JSON object at the top level, got {}", type_name(spec)));
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
    reader.fail("input", fmt::format("expected the input shape [channels, height, width], got {}", shown(in)));
  m.input = {reader.positive(in[0], "input[0]"), reader.positive(in[1], "input[1]"), reader.positive(in[2], "input[2]")};
  checked_mul(checked_mul(m.input.c, m.input.h, {source, "input"}, "", "input size"), m.input.w, {source, "input"}, "",
              "input size");
  if (spec.contains("batch")) m.batch = reader.positive(spec["batch"], "batch");
  checked_mul(m.input.numel(), m.batch, {source, "batch"}, "", "input size per batch");
  if (spec.contains("weight_bits")) m.weight_bits = reader.bits(spec["weight_bits"], "weight_bits");
  if (spec.contains("act_bits")) m.act_bits = reader.bits(spec["act_bits"], "act_bits");

  const json& jl = spec["layers"];
  if (!jl.is_array() || jl.empty())
    reader.fail("layers", fmt::format("expected a non-empty array of layers, got {}", shown(jl)));
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

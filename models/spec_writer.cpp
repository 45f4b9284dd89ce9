// Writing a model back as a JSON spec: every resolved value explicit (pads as numbers, never "same"), the
// defaults left out, one layer per line so a diff shows which layer changed.
#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "models/model.hpp"
#include "models/spec_format.hpp"

namespace dkm::models {

namespace {

using json = nlohmann::ordered_json;

// Compact but readable: {"a": 1, "b": [3, 3]} on one line.
std::string one_line(const json& j) {
  std::string s;
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) s += (s.empty() ? "" : ", ") + json(k).dump() + ": " + one_line(v);
    return "{" + s + "}";
  }
  if (j.is_array()) {
    for (const auto& v : j) s += (s.empty() ? "" : ", ") + one_line(v);
    return "[" + s + "]";
  }
  return j.dump();
}

json pair(int64_t h, int64_t w) { return h == w ? json(h) : json::array({h, w}); }

json shape(const Shape& s) { return json::array({s.c, s.h, s.w}); }

json pads(const Pads& p) {
  if (p.top == p.bottom && p.left == p.right) return pair(p.top, p.left);
  return json::array({p.top, p.left, p.bottom, p.right});
}

json window(json j, const Layer& l) {
  j["kernel"] = pair(l.kernel_h, l.kernel_w);
  if (l.has_weights() ? (l.stride_h != 1 || l.stride_w != 1)
                                  : (l.stride_h != l.kernel_h || l.stride_w != l.kernel_w))
    j["stride"] = pair(l.stride_h, l.stride_w);
  if (!(l.pads == Pads{})) j["padding"] = pads(l.pads);
  return j;
}

json layer_json(const Layer& l, const std::string& default_input) {
  json j;
  j["name"] = l.name;
  j["type"] = std::string(spec_type(l));
  if (l.inputs.size() != 1 || l.inputs[0] != default_input) j["inputs"] = l.inputs;
  switch (l.kind) {
    case LayerKind::conv2d:
      j["out_channels"] = l.out_channels;
      j = window(j, l);
      if (l.dilation_h != 1 || l.dilation_w != 1) j["dilation"] = pair(l.dilation_h, l.dilation_w);
      if (l.groups != 1) j["groups"] = l.groups;
      if (!l.bias) j["bias"] = false;
      if (l.const_params) j["params"] = l.const_params;
      break;
    case LayerKind::conv_transpose2d:
      j["out_channels"] = l.out_channels;
      j = window(j, l);
      if (l.output_padding_h != 0 || l.output_padding_w != 0)
        j["output_padding"] = pair(l.output_padding_h, l.output_padding_w);
      if (l.dilation_h != 1 || l.dilation_w != 1) j["dilation"] = pair(l.dilation_h, l.dilation_w);
      if (l.groups != 1) j["groups"] = l.groups;
      if (!l.bias) j["bias"] = false;
      break;
    case LayerKind::linear:
      j["out_features"] = l.out_features;
      if (!l.bias) j["bias"] = false;
      if (l.per_position) j["per_position"] = true;
      if (l.const_params) j["params"] = l.const_params;
      break;
    case LayerKind::layernorm:
      if (!l.bias) j["bias"] = false;
      break;
    case LayerKind::elementwise:
      j["op"] = l.op;
      if (l.constant) j["constant"] = shape(*l.constant);
      if (l.const_params) j["params"] = l.const_params;
      break;
    case LayerKind::reduce:
    case LayerKind::rearrange:
      j["op"] = l.op;
      j["shape"] = shape(l.target);
      if (l.const_params) j["params"] = l.const_params;
      break;
    case LayerKind::maxpool:
    case LayerKind::avgpool:
      if (l.global) {
        j["global"] = true;
      } else {
        j = window(j, l);
        if (l.ceil_mode) j["ceil_mode"] = true;
      }
      break;
    case LayerKind::dropout:
      j["rate"] = l.rate;
      break;
    case LayerKind::upsample:
      j["scale"] = l.scale;
      break;
    case LayerKind::add:
      if (l.pad_channels) j["pad_channels"] = true;
      break;
    default:
      break;
  }
  if (l.weight_bits) j["weight_bits"] = *l.weight_bits;
  if (l.act_bits) j["act_bits"] = *l.act_bits;
  return j;
}

}  // namespace

std::string to_json_spec(const Model& m) {
  std::string s = "{\n";
  auto field = [&](const char* key, const json& v) { s += fmt::format("  \"{}\": {},\n", key, one_line(v)); };
  field("format", std::string(kModelFormat));
  field("name", m.name);
  if (!m.description.empty()) field("description", m.description);
  field("input", json::array({m.input.c, m.input.h, m.input.w}));
  field("batch", m.batch);
  field("weight_bits", m.weight_bits);
  field("act_bits", m.act_bits);
  s += "  \"layers\": [\n";
  std::string previous = "input";
  for (size_t i = 0; i < m.layers.size(); ++i) {
    s += "    " + one_line(layer_json(m.layers[i], previous)) + (i + 1 < m.layers.size() ? ",\n" : "\n");
    previous = m.layers[i].name;
  }
  return s + "  ]\n}\n";
}

}  // namespace dkm::models

#include "kmeans/plan.hpp"

#include <algorithm>
#include <set>

#include <fmt/core.h>
#include <fmt/ranges.h>

#include "kmeans/compress.hpp"
#include "models/input_file.hpp"
#include "models/error.hpp"
#include "models/json_reader.hpp"

namespace dkm::kmeans {
namespace {

constexpr std::string_view kPlanFormat = "dkm-plan/1";

const std::vector<std::string_view> kSettingKeys = {"k", "cluster_rate", "granularity", "group_size", "sparsity",
                                                    "sparsity_variant", "init", "seed", "max_iter", "tol", "compress",
                                                    "weighting", "bias_correction"};

// One of `names` (the accepted spellings of an enum), or an error listing them.
template <typename T>
T choice(const JsonReader& r, const Json& v, const std::string& at, std::optional<T> (*parse)(std::string_view),
         std::string_view names) {
  const std::string expected = fmt::format("one of {}", names);
  const std::optional<T> parsed = parse(r.string(v, at, expected));
  if (!parsed) r.fail(at, fmt::format("expected {}, got {}", expected, json_shown(v)));
  return *parsed;
}

PlanSettings read_settings(const JsonReader& r, const Json& obj, const std::string& where, bool is_rule) {
  r.object(obj, where, is_rule ? "a rule object" : "an object of settings");
  std::vector<std::string_view> keys = kSettingKeys;
  if (is_rule) keys.insert(keys.begin(), "match");
  r.check_keys(obj, where, keys, is_rule ? "a plan rule" : "plan defaults");
  PlanSettings s;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const std::string& key = it.key();
    const Json& v = it.value();
    const std::string at = JsonReader::join(where, key);
    if (key == "k") {
      s.k = r.integer(v, at, 1, kJsonIntMax, "a positive integer");
    } else if (key == "cluster_rate") {
      s.cluster_rate = r.number(v, at, 0, 1, "a cluster rate K/N in (0, 1]", JsonReader::Ends::open_min);
    } else if (key == "granularity") {
      s.granularity = choice(r, v, at, parse_granularity, "row, kernel, filter, scalar, group");
    } else if (key == "group_size") {
      s.group_size = r.integer(v, at, 1, kJsonIntMax, "a positive integer (weights per vector of the group granularity)");
    } else if (key == "sparsity") {
      s.sparsity = r.number(v, at, 0, 1, "a sparsity in [0, 1)", JsonReader::Ends::open_max);
    } else if (key == "sparsity_variant") {
      s.sparsity_variant = choice(r, v, at, parse_sparsity_variant, "none, zero-norm, near-mean");
    } else if (key == "init") {
      s.init = choice(r, v, at, parse_init, "k-means++, linear, random, optimal-1d, afk-mc2");
    } else if (key == "seed") {
      s.seed = r.unsigned_integer(v, at, "a non-negative integer");
    } else if (key == "max_iter") {
      s.max_iter = static_cast<int>(r.integer(v, at, 0, 1'000'000, "an iteration count in [0, 1000000]"));
    } else if (key == "tol") {
      s.tol = r.number(v, at, 0, 1e300, "a tolerance in [0, 1e300]");
    } else if (key == "compress") {
      s.compress = r.boolean(v, at);
    } else if (key == "weighting") {
      s.weighting = choice(r, v, at, parse_weighting, "plain, activation");
    } else if (key == "bias_correction") {
      s.bias_correction = r.boolean(v, at);
    }
  }
  if (s.k && s.cluster_rate) r.fail(where, "expected either k or cluster_rate, got both");
  return s;
}

void overlay(PlanSettings& base, const PlanSettings& top) {
  if (top.k) base.k = top.k, base.cluster_rate.reset();
  if (top.cluster_rate) base.cluster_rate = top.cluster_rate, base.k.reset();
  if (top.granularity) base.granularity = top.granularity;
  if (top.group_size) base.group_size = top.group_size;
  if (top.sparsity) base.sparsity = top.sparsity;
  if (top.sparsity_variant) base.sparsity_variant = top.sparsity_variant;
  if (top.init) base.init = top.init;
  if (top.seed) base.seed = top.seed;
  if (top.max_iter) base.max_iter = top.max_iter;
  if (top.tol) base.tol = top.tol;
  if (top.compress) base.compress = top.compress;
  if (top.weighting) base.weighting = top.weighting;
  if (top.bias_correction) base.bias_correction = top.bias_correction;
}

}  // namespace

std::string_view to_string(Granularity g) {
  switch (g) {
    case Granularity::row: return "row";
    case Granularity::kernel: return "kernel";
    case Granularity::filter: return "filter";
    case Granularity::scalar: return "scalar";
    case Granularity::group: return "group";
  }
  return "?";
}
std::string_view to_string(SparsityVariant v) {
  switch (v) {
    case SparsityVariant::none: return "none";
    case SparsityVariant::zero_norm: return "zero-norm";
    case SparsityVariant::near_mean: return "near-mean";
  }
  return "?";
}
std::string_view to_string(Init init) {
  switch (init) {
    case Init::kmeans_plus_plus: return "k-means++";
    case Init::linear: return "linear";
    case Init::random: return "random";
    case Init::given: return "given";
    case Init::optimal_1d: return "optimal-1d";
    case Init::afk_mc2: return "afk-mc2";
  }
  return "?";
}
std::string_view to_string(Weighting w) { return w == Weighting::activation ? "activation" : "plain"; }
std::optional<Weighting> parse_weighting(std::string_view s) {
  for (auto w : {Weighting::plain, Weighting::activation})
    if (to_string(w) == s) return w;
  return std::nullopt;
}
std::optional<Granularity> parse_granularity(std::string_view s) {
  for (auto g : {Granularity::row, Granularity::kernel, Granularity::filter, Granularity::scalar, Granularity::group})
    if (to_string(g) == s) return g;
  return std::nullopt;
}
std::optional<SparsityVariant> parse_sparsity_variant(std::string_view s) {
  for (auto v : {SparsityVariant::none, SparsityVariant::zero_norm, SparsityVariant::near_mean})
    if (to_string(v) == s) return v;
  return std::nullopt;
}
std::optional<Init> parse_init(std::string_view s) {
  for (auto i : {Init::kmeans_plus_plus, Init::linear, Init::random, Init::optimal_1d, Init::afk_mc2})
    if (to_string(i) == s) return i;
  return std::nullopt;
}

bool glob_match(std::string_view pattern, std::string_view name) {
  // Iterative matcher with one backtrack point for the last '*'.
  size_t p = 0, n = 0, star = std::string_view::npos, mark = 0;
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
      ++p, ++n;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

VectorShape vector_shape(std::span<const int64_t> weight_shape, Granularity g, int64_t group_size) {
  int64_t numel = 1;
  for (auto d : weight_shape) numel *= d;
  if (g == Granularity::group) return {group_size > 0 ? numel / group_size : 0, group_size};
  if (weight_shape.size() == 2) {
    const int64_t as_conv[] = {weight_shape[0], weight_shape[1], 1, 1};
    return vector_shape(as_conv, g);
  }
  const auto& s = weight_shape;
  if (s.size() != 4) return {numel, 1};
  switch (g) {
    case Granularity::row: return {s[0] * s[1] * s[2], s[3]};
    case Granularity::kernel: return {s[0] * s[1], s[2] * s[3]};
    case Granularity::filter: return {s[0], s[1] * s[2] * s[3]};
    case Granularity::scalar: return {numel, 1};
    case Granularity::group: break;  // above
  }
  return {numel, 1};
}

Plan parse_plan(std::string_view text, const std::string& source) {
  const Json doc = parse_json(text, source, "a compression plan (a JSON object)");
  const JsonReader r(source);
  r.object(doc, "", fmt::format("a JSON object with \"format\": \"{}\"", kPlanFormat));
  r.check_keys(doc, "", {"format", "model", "description", "layer_types", "defaults", "layers"}, "a plan");
  const std::string format = r.string(r.field(doc, "", "format"), "format", fmt::format("\"{}\"", kPlanFormat));
  if (format != kPlanFormat) r.fail("format", fmt::format("expected \"{}\", got \"{}\"", kPlanFormat, format));
  Plan plan;
  plan.source = source;
  if (doc.contains("model")) plan.model = r.string(doc["model"], "model", "a model name");
  if (doc.contains("description")) r.string(doc["description"], "description", "a description (a string)");
  if (doc.contains("layer_types")) {
    const Json& v = doc["layer_types"];
    const std::string expected = "a non-empty array of distinct layer types, each \"conv2d\" or \"linear\"";
    if (!v.is_array() || v.empty()) r.wrong(v, "layer_types", expected);
    plan.layer_types.clear();
    for (size_t i = 0; i < v.size(); ++i) {
      const std::string at = JsonReader::index("layer_types", i);
      const std::string t = r.string(v[i], at, expected);
      const models::LayerKind kind = t == "conv2d" ? models::LayerKind::conv2d : models::LayerKind::linear;
      if ((t != "conv2d" && t != "linear") ||
          std::find(plan.layer_types.begin(), plan.layer_types.end(), kind) != plan.layer_types.end())
        r.fail(at, fmt::format("expected {}, got {}", expected, json_shown(v[i])));
      plan.layer_types.push_back(kind);
    }
  }
  if (doc.contains("defaults")) plan.defaults = read_settings(r, doc["defaults"], "defaults", false);
  if (doc.contains("layers")) {
    const Json& v = doc["layers"];
    if (!v.is_array()) r.wrong(v, "layers", "an array of rules");
    for (size_t i = 0; i < v.size(); ++i) {
      const std::string where = JsonReader::index("layers", i);
      PlanRule rule;
      rule.settings = read_settings(r, v[i], where, true);
      rule.match = r.string(r.field(v[i], where, "match"), where + ".match", "a layer name or glob");
      if (rule.match.empty()) r.fail(where + ".match", "expected a non-empty layer name or glob, got \"\"");
      rule.where = where;
      plan.rules.push_back(std::move(rule));
    }
  }
  return plan;
}

Plan load_plan(const std::string& path_or_name) {
  if (const EmbeddedFile* f = shipped_file(plan_files(), path_or_name))
    return parse_plan(f->text, "<embedded>/" + std::string(f->name));
  // An existing path is read as a file (read_file refuses a directory, a FIFO or a device by name).
  if (path_kind(path_or_name) != PathKind::missing)
    return parse_plan(read_file(path_or_name, kMaxTextInputBytes), path_or_name);
  throw InputError(path_or_name, "",
                   fmt::format("expected a plan file or a shipped plan name ({}), got no such file",
                               shipped_names(plan_files())));
}

std::vector<LayerSetting> resolve_plan(const Plan& plan, const models::Model& model) {
  auto has = [&](models::LayerKind kind) {
    return std::find(plan.layer_types.begin(), plan.layer_types.end(), kind) != plan.layer_types.end();
  };
  // A transposed conv's weight is a conv weight (docs/compression-plan.md): "conv2d" covers both.
  auto covered = [&](const models::Layer& l) {
    return has(l.kind == models::LayerKind::conv_transpose2d ? models::LayerKind::conv2d : l.kind);
  };
  const bool conv = has(models::LayerKind::conv2d), linear = has(models::LayerKind::linear);
  const std::string what = conv && linear ? "conv or linear" : conv ? "conv" : "linear";
  // A rule that matches nothing first: it usually means a plan written for another model.
  std::vector<std::string> names;
  for (const auto& layer : model.layers)
    if (covered(layer)) names.push_back(layer.name);
  for (const auto& rule : plan.rules)
    if (std::none_of(names.begin(), names.end(), [&](const std::string& n) { return glob_match(rule.match, n); }))
      throw InputError(plan.source, rule.where + ".match",
                       fmt::format("expected a name or glob matching a {} layer of model \"{}\" ({}), got \"{}\", which matches none",
                                   what, model.name, fmt::join(names, ", "), rule.match));
  std::vector<LayerSetting> out;
  int64_t conv_index = 0;
  for (const auto& layer : model.layers) {
    if (!covered(layer)) continue;
    PlanSettings s;
    overlay(s, plan.defaults);
    std::string where = "defaults";
    for (size_t i = 0; i < plan.rules.size(); ++i)
      if (glob_match(plan.rules[i].match, layer.name)) {
        overlay(s, plan.rules[i].settings);
        where = plan.rules[i].where;
      }
    LayerSetting ls;
    ls.layer = layer.name;
    ls.conv_index = conv_index;
    ls.compress = s.compress.value_or(true);
    ls.weight_shape = weight_shape(layer);
    ls.granularity = s.granularity.value_or(Granularity::row);
    const bool transposed = layer.kind == models::LayerKind::conv_transpose2d;
    if (ls.granularity == Granularity::group) {
      const int64_t per_output = ls.weight_shape[0] > 0 ? layer.weight_count / ls.weight_shape[0] : 0;
      if (!s.group_size || per_output % *s.group_size != 0)
        throw InputError(plan.source, where,
                         fmt::format("expected group_size dividing the {} weights per {} channel of layer \"{}\" "
                                     "(granularity group), got {}", per_output, transposed ? "input" : "output",
                                     layer.name, s.group_size ? std::to_string(*s.group_size) : std::string("none")));
    }
    // The first axis of a transposed conv's weight [C_in, M/groups, kH, kW] is its input channel: a "filter"
    // (one output channel's weights) is not a run of it, and the input moments index the other axis.
    if (transposed && ls.granularity == Granularity::filter)
      throw InputError(plan.source, where,
                       fmt::format("expected granularity row, kernel, scalar or group for the transposed conv layer "
                                   "\"{}\" (its weight is [C_in, M/groups, kH, kW]), got filter", layer.name));
    if (transposed && (s.weighting.value_or(Weighting::plain) == Weighting::activation || s.bias_correction.value_or(false)))
      throw InputError(plan.source, where,
                       fmt::format("expected no weighting activation or bias_correction for the transposed conv layer "
                                   "\"{}\" (they are defined for conv2d and linear weights)", layer.name));
    const VectorShape vs = vector_shape(ls.weight_shape, ls.granularity, s.group_size.value_or(0));
    ls.vectors = vs.vectors;
    ls.dim = vs.dim;
    ls.sparsity = s.sparsity.value_or(0.0);
    ls.sparsity_variant = ls.sparsity > 0 ? s.sparsity_variant.value_or(SparsityVariant::zero_norm) : SparsityVariant::none;
    if (ls.sparsity_variant == SparsityVariant::none) ls.sparsity = 0;
    ls.init = s.init.value_or(Init::kmeans_plus_plus);
    ls.seed = s.seed.value_or(1000 + static_cast<uint64_t>(conv_index));
    ls.max_iter = s.max_iter.value_or(300);
    ls.tol = s.tol.value_or(1e-4);
    ls.weighting = s.weighting.value_or(Weighting::plain);
    ls.bias_correction = s.bias_correction.value_or(false);
    if (ls.compress) {
      if (s.k) {
        ls.k = *s.k;
      } else if (s.cluster_rate) {
        ls.k = std::max<int64_t>(1, std::llround(*s.cluster_rate * double(ls.vectors)));
      } else {
        throw InputError(plan.source, where,
                         fmt::format("expected k or cluster_rate for {} layer \"{}\" (in defaults or a rule), got neither",
                                     layer.kind == models::LayerKind::linear ? "linear" : "conv", layer.name));
      }
      if (ls.k > ls.vectors) {
        ls.warning = fmt::format("K clamped from {} to N = {} vectors: the layer stays unchanged", ls.k, ls.vectors);
        ls.k = ls.vectors;
      }
      if (ls.init == Init::optimal_1d && ls.dim != 1)
        throw InputError(plan.source, where,
                         fmt::format("expected init optimal-1d only for vectors of length 1, got layer \"{}\" with length {} at granularity {}",
                                     layer.name, ls.dim, to_string(ls.granularity)));
    }
    out.push_back(std::move(ls));
    ++conv_index;
  }
  return out;
}

}  // namespace dkm::kmeans

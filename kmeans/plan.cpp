#include "kmeans/plan.hpp"

#include <algorithm>
#include <set>

#include <fmt/core.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "models/input_file.hpp"
#include "models/error.hpp"

namespace dkm::kmeans {
namespace {

using nlohmann::json;

std::string type_name(const json& v) { return v.type_name(); }

struct Reader {
  const std::string& source;

  [[noreturn]] void fail(const std::string& where, const std::string& expected) const {
    throw InputError(source, where, expected);
  }
  double number(const json& v, const std::string& where, double lo, double hi, bool hi_open) const {
    if (!v.is_number()) fail(where, fmt::format("a number, got {}", type_name(v)));
    const double x = v.get<double>();
    if (!(x >= lo) || (hi_open ? !(x < hi) : !(x <= hi)))
      fail(where, fmt::format("a number in [{}, {}{}, got {}", lo, hi, hi_open ? ")" : "]", x));
    return x;
  }
  int64_t integer(const json& v, const std::string& where, int64_t lo) const {
    if (!v.is_number_integer()) fail(where, fmt::format("an integer, got {}", type_name(v)));
    const int64_t x = v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX) ? INT64_MAX : v.get<int64_t>();
    if (x < lo) fail(where, fmt::format("an integer >= {}, got {}", lo, x));
    return x;
  }
  std::string string(const json& v, const std::string& where) const {
    if (!v.is_string()) fail(where, fmt::format("a string, got {}", type_name(v)));
    return v.get<std::string>();
  }

  PlanSettings settings(const json& obj, const std::string& where, bool is_rule) const {
    if (!obj.is_object()) fail(where, fmt::format("an object, got {}", type_name(obj)));
    PlanSettings s;
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      const std::string& key = it.key();
      const json& v = it.value();
      const std::string at = where + "." + key;
      if (key == "match" && is_rule) continue;
      if (key == "k") {
        s.k = integer(v, at, 1);
      } else if (key == "cluster_rate") {
        s.cluster_rate = number(v, at, 0, 1, false);
        if (*s.cluster_rate <= 0) fail(at, "a cluster rate K/N in (0, 1]");
      } else if (key == "granularity") {
        s.granularity = parse_granularity(string(v, at));
        if (!s.granularity) fail(at, "one of row, kernel, filter, scalar");
      } else if (key == "sparsity") {
        s.sparsity = number(v, at, 0, 1, true);
      } else if (key == "sparsity_variant") {
        s.sparsity_variant = parse_sparsity_variant(string(v, at));
        if (!s.sparsity_variant) fail(at, "one of none, zero-norm, near-mean");
      } else if (key == "init") {
        s.init = parse_init(string(v, at));
        if (!s.init) fail(at, "one of k-means++, linear, random, optimal-1d");
      } else if (key == "seed") {
        if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
          fail(at, fmt::format("a non-negative integer, got {}", v.dump()));
        s.seed = v.get<uint64_t>();
      } else if (key == "max_iter") {
        s.max_iter = static_cast<int>(std::min<int64_t>(integer(v, at, 0), 1'000'000));
      } else if (key == "tol") {
        s.tol = number(v, at, 0, 1e300, false);
      } else if (key == "compress") {
        if (!v.is_boolean()) fail(at, fmt::format("true or false, got {}", type_name(v)));
        s.compress = v.get<bool>();
      } else {
        fail(at, std::string("a known key: ") + (is_rule ? "match, " : "") +
                     "k, cluster_rate, granularity, sparsity, sparsity_variant, init, seed, max_iter, tol, compress");
      }
    }
    if (s.k && s.cluster_rate) fail(where, "either k or cluster_rate, not both");
    return s;
  }
};

void overlay(PlanSettings& base, const PlanSettings& top) {
  if (top.k) base.k = top.k, base.cluster_rate.reset();
  if (top.cluster_rate) base.cluster_rate = top.cluster_rate, base.k.reset();
  if (top.granularity) base.granularity = top.granularity;
  if (top.sparsity) base.sparsity = top.sparsity;
  if (top.sparsity_variant) base.sparsity_variant = top.sparsity_variant;
  if (top.init) base.init = top.init;
  if (top.seed) base.seed = top.seed;
  if (top.max_iter) base.max_iter = top.max_iter;
  if (top.tol) base.tol = top.tol;
  if (top.compress) base.compress = top.compress;
}

}  // namespace

std::string_view to_string(Granularity g) {
  switch (g) {
    case Granularity::row: return "row";
    case Granularity::kernel: return "kernel";
    case Granularity::filter: return "filter";
    case Granularity::scalar: return "scalar";
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
  }
  return "?";
}
std::optional<Granularity> parse_granularity(std::string_view s) {
  for (auto g : {Granularity::row, Granularity::kernel, Granularity::filter, Granularity::scalar})
    if (to_string(g) == s) return g;
  return std::nullopt;
}
std::optional<SparsityVariant> parse_sparsity_variant(std::string_view s) {
  for (auto v : {SparsityVariant::none, SparsityVariant::zero_norm, SparsityVariant::near_mean})
    if (to_string(v) == s) return v;
  return std::nullopt;
}
std::optional<Init> parse_init(std::string_view s) {
  for (auto i : {Init::kmeans_plus_plus, Init::linear, Init::random, Init::optimal_1d})
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

VectorShape vector_shape(std::span<const int64_t> s, Granularity g) {
  int64_t numel = 1;
  for (auto d : s) numel *= d;
  if (s.size() != 4) return {numel, 1};
  switch (g) {
    case Granularity::row: return {s[0] * s[1] * s[2], s[3]};
    case Granularity::kernel: return {s[0] * s[1], s[2] * s[3]};
    case Granularity::filter: return {s[0], s[1] * s[2] * s[3]};
    case Granularity::scalar: return {numel, 1};
  }
  return {numel, 1};
}

Plan parse_plan(std::string_view text, const std::string& source) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    throw InputError(source, fmt::format("byte {}", e.byte), "valid JSON");
  } catch (const json::out_of_range&) {  // a number beyond double range, such as 1e999
    throw InputError(source, "", "valid JSON with numbers a double can hold");
  }
  Reader r{source};
  if (!doc.is_object()) r.fail("", "a JSON object with \"format\": \"dkm-plan/1\"");
  Plan plan;
  plan.source = source;
  if (!doc.contains("format")) r.fail("format", "\"dkm-plan/1\" (missing)");
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const std::string& key = it.key();
    const json& v = it.value();
    if (key == "format") {
      if (r.string(v, "format") != "dkm-plan/1") r.fail("format", "\"dkm-plan/1\", got \"" + v.get<std::string>() + "\"");
    } else if (key == "model") {
      plan.model = r.string(v, "model");
    } else if (key == "description") {
      r.string(v, "description");
    } else if (key == "defaults") {
      plan.defaults = r.settings(v, "defaults", false);
    } else if (key == "layers") {
      if (!v.is_array()) r.fail("layers", fmt::format("an array of rules, got {}", type_name(v)));
      for (size_t i = 0; i < v.size(); ++i) {
        const std::string where = fmt::format("layers[{}]", i);
        PlanRule rule;
        rule.settings = r.settings(v[i], where, true);
        if (!v[i].contains("match")) r.fail(where + ".match", "a layer name or glob (missing)");
        rule.match = r.string(v[i]["match"], where + ".match");
        if (rule.match.empty()) r.fail(where + ".match", "a non-empty layer name or glob");
        rule.where = where;
        plan.rules.push_back(std::move(rule));
      }
    } else {
      r.fail(key, "a known key: format, model, description, defaults, layers");
    }
  }
  return plan;
}

Plan load_plan(const std::string& path_or_name) {
  if (path_kind(path_or_name) != PathKind::missing)
    return parse_plan(read_file(path_or_name, kMaxTextInputBytes), path_or_name);
  if (const EmbeddedFile* f = find_embedded(plan_files(), path_or_name))
    return parse_plan(f->text, "<embedded>/" + std::string(f->name));
  std::vector<std::string> names;
  for (const auto& f : plan_files()) names.emplace_back(f.name.substr(0, f.name.size() - 5));
  throw InputError(path_or_name, "", fmt::format("a plan file or a shipped plan ({})", fmt::join(names, ", ")));
}

std::vector<LayerSetting> resolve_plan(const Plan& plan, const models::Model& model) {
  // A rule that matches nothing first: it usually means a plan written for another model.
  std::vector<std::string> conv_names;
  for (const auto& layer : model.layers)
    if (layer.kind == models::LayerKind::conv2d) conv_names.push_back(layer.name);
  for (const auto& rule : plan.rules)
    if (std::none_of(conv_names.begin(), conv_names.end(), [&](const std::string& n) { return glob_match(rule.match, n); }))
      throw InputError(plan.source, rule.where + ".match",
                       fmt::format("a name or glob matching a conv layer of model '{}'; '{}' matches none (conv layers: {})",
                                   model.name, rule.match, fmt::join(conv_names, ", ")));
  std::vector<LayerSetting> out;
  int64_t conv_index = 0;
  for (const auto& layer : model.layers) {
    if (layer.kind != models::LayerKind::conv2d) continue;
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
    const models::Layer& l = layer;
    ls.weight_shape = {l.out_channels, l.weight_count / std::max<int64_t>(1, l.out_channels * l.kernel_h * l.kernel_w),
                       l.kernel_h, l.kernel_w};
    ls.granularity = s.granularity.value_or(Granularity::row);
    const VectorShape vs = vector_shape(ls.weight_shape, ls.granularity);
    ls.vectors = vs.vectors;
    ls.dim = vs.dim;
    ls.sparsity = s.sparsity.value_or(0.0);
    ls.sparsity_variant = ls.sparsity > 0 ? s.sparsity_variant.value_or(SparsityVariant::zero_norm) : SparsityVariant::none;
    if (ls.sparsity_variant == SparsityVariant::none) ls.sparsity = 0;
    ls.init = s.init.value_or(Init::kmeans_plus_plus);
    ls.seed = s.seed.value_or(1000 + static_cast<uint64_t>(conv_index));
    ls.max_iter = s.max_iter.value_or(300);
    ls.tol = s.tol.value_or(1e-4);
    if (ls.compress) {
      if (s.k) {
        ls.k = *s.k;
      } else if (s.cluster_rate) {
        ls.k = std::max<int64_t>(1, std::llround(*s.cluster_rate * double(ls.vectors)));
      } else {
        throw InputError(plan.source, where,
                         fmt::format("k or cluster_rate for conv layer '{}' (set it in defaults or a rule)", layer.name));
      }
      if (ls.k > ls.vectors) {
        ls.warning = fmt::format("K clamped from {} to N = {} vectors: the layer stays unchanged", ls.k, ls.vectors);
        ls.k = ls.vectors;
      }
      if (ls.init == Init::optimal_1d && ls.dim != 1)
        throw InputError(plan.source, where,
                         fmt::format("init optimal-1d only for vectors of length 1; layer '{}' has length {} at granularity {}",
                                     layer.name, ls.dim, to_string(ls.granularity)));
    }
    out.push_back(std::move(ls));
    ++conv_index;
  }
  return out;
}

}  // namespace dkm::kmeans

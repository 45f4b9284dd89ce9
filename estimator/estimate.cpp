#include "estimator/estimate.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>

#include <fmt/core.h>

#include "models/error.hpp"

namespace dkm::estimator {

namespace {

// A searched layer that no mapping of the profile can hold (a 16x16 patch-embedding kernel under a
// 12-row row-stationary constraint) is left unmapped and counted (Totals::unmapped_layers), not an error:
// both metrics still price it. A given mapping that breaks the profile stays an error naming its file.
template <class F>
std::optional<LayerMapping> mapped_if_legal(F&& map) {
  try {
    return map();
  } catch (const InputError& e) {
    if (e.file() != "mapping") throw;
    return std::nullopt;
  }
}

void add_layer(Totals& t, const PaperMetric& paper, const Hierarchy& h) {
  t.macs = checked_add(t.macs, paper.macs, "total MACs");
  t.executed_macs = checked_add(t.executed_macs, h.macs, "total executed MACs");
  t.paper_energy += paper.total_energy();
  t.paper_comp_energy += paper.comp_energy;
  t.paper_rep_energy += paper.rep_energy;
  t.comp_full_adders += paper.comp_full_adders;
  t.r_w_bits += paper.r_w_bits;
  t.r_x_bits += paper.r_x_bits;
  t.hierarchy_energy += h.total_energy();
  t.hierarchy_mac_energy += h.mac_energy;
  for (size_t d = 0; d < 4; ++d)
    for (size_t l = 0; l < 4; ++l) t.hierarchy_by[d][l] += h.energy[d][l];
}

void add_mapped(Totals& t, const LayerMapping& m, int64_t macs) {
  t.mapped_macs = checked_add(t.mapped_macs, macs, "total mapped MACs");
  t.mapped_energy += m.energy();
  t.mapped_cycles = checked_add(t.mapped_cycles, m.cycles(), "total cycles");
}

void validate(const LayerCompression& c, const ConvProblem& p, const std::string& layer) {
  const std::string where = fmt::format("layer '{}'", layer);
  if (!(c.density > 0.0 && c.density <= 1.0))
    throw InputError("compression settings", where, fmt::format("a weight density in (0, 1], got {}", c.density));
  if (!c.shared()) return;
  const int64_t vectors = vector_count(p, c.granularity, c.group_size);
  if (c.k < 1 || c.k > vectors)
    throw InputError("compression settings", where, fmt::format("K in [1, {}] (the vectors), got {}", vectors, c.k));
  if (c.index_bits < 0 || c.index_bits > 32)
    throw InputError("compression settings", where, fmt::format("index bits in [0, 32], got {}", c.index_bits));
}

// An estimate is a result only when every energy is finite: a profile energy near the top of double's
// range (1e308) times an access count overflows to inf, which must never reach a table or JSON as null.
void check_finite(const Estimate& e, const HwProfile& hw) {
  auto check = [&](double v, const std::string& what) {
    if (!std::isfinite(v))
      throw InputError(hw.file, "", fmt::format("expected energies that a double can hold, got {} for {} (the "
                                                "profile's energies times the access counts overflow)", v, what));
  };
  for (const LayerEstimate& l : e.layers) {
    check(l.paper.total_energy(), fmt::format("the paper metric of layer '{}'", l.name));
    check(l.hierarchy.total_energy(), fmt::format("the hierarchy energy of layer '{}'", l.name));
    if (l.mapped) check(l.mapped->energy(), fmt::format("the mapped energy of layer '{}'", l.name));
    for (const auto& row : l.hierarchy.energy)
      for (double v : row) check(v, fmt::format("the hierarchy energy of layer '{}'", l.name));
  }
  for (const ElementwiseEstimate& l : e.elementwise)
    check(l.energy(), fmt::format("the element operations and activation traffic of layer '{}'", l.name));
  check(e.totals.paper_energy, "the model's total paper metric");
  check(e.totals.hierarchy_energy, "the model's total hierarchy energy");
  if (e.uncompressed) {
    check(e.uncompressed->paper_energy, "the uncompressed model's total paper metric");
    check(e.uncompressed->hierarchy_energy, "the uncompressed model's total hierarchy energy");
  }
}

ElementwiseEstimate elementwise(const models::Model& model, const models::Layer& layer, const HwProfile& hw,
                                int64_t batch) {
  ElementwiseEstimate e;
  e.name = layer.name;
  e.kind = layer.kind;
  e.element_ops = checked_mul(layer.element_ops, batch, "element operations");
  int64_t values = layer.output_shape.numel();
  for (const auto& in : layer.input_shapes) values = checked_add(values, in.numel(), "activation traffic");
  e.values_moved = checked_mul(values, batch, "activation traffic");
  const int bits = model.layer_act_bits(layer);
  e.ops_energy = static_cast<double>(e.element_ops) * hw.mac_energy_at(bits, bits);
  const DataType type = DataType::inputs;
  const Level level = hw.bypasses_buffer(type) ? Level::dram : Level::buffer;
  e.traffic_energy = static_cast<double>(e.values_moved) * hw.access_energy(level, type, bits);
  return e;
}

}  // namespace

Estimate estimate(const models::Model& model, const HwProfile& hw, const EstimateOptions& options) {
  Estimate out;
  out.model = model.name;
  out.profile = hw.name;
  out.unit = hw.unit;
  out.batch = options.batch > 0 ? options.batch : model.batch;
  if (options.batch < 0) throw UsageError(fmt::format("--batch must be >= 1 (got {})", options.batch));
  if (options.conv_bits && (*options.conv_bits < 1 || *options.conv_bits > 32))
    throw UsageError(fmt::format("conv bit width must be in [1, 32] (got {})", *options.conv_bits));

  for (const auto& [name, c] : options.compression) {
    const models::Layer* l = model.find(name);
    if (!l || !l->has_weights())
      throw InputError("compression settings", fmt::format("layer '{}'", name),
                       fmt::format("a conv or linear layer of model '{}'", model.name));
  }

  for (const auto& [name, given] : options.given_mappings) {
    const models::Layer* l = model.find(name);
    if (!l || !l->has_macs())
      throw InputError(given.second, "", fmt::format("a mapping for a conv, linear or matmul layer of model '{}', not '{}'",
                                                     model.name, name));
  }
  std::optional<MappingCache> cache;
  if (options.mapper) cache.emplace(hw, *options.mapper);

  bool any_compressed = false;
  Totals dense_totals;
  const LayerCompression dense;
  for (const models::Layer& layer : model.layers) {
    if (!layer.has_macs()) {
      ElementwiseEstimate e = elementwise(model, layer, hw, out.batch);
      for (Totals* t : {&out.totals, &dense_totals}) {
        t->element_ops = checked_add(t->element_ops, e.element_ops, "total element operations");
        t->elementwise_energy += e.energy();
      }
      out.elementwise.push_back(std::move(e));
      continue;
    }
    LayerEstimate le;
    le.name = layer.name;
    le.kind = layer.kind;
    le.problem = conv_problem(model, layer, out.batch);
    if (options.conv_bits && layer.kind == models::LayerKind::conv2d)
      le.problem.weight_bits = le.problem.act_bits = *options.conv_bits;
    auto it = options.compression.find(layer.name);
    const LayerCompression& c = it == options.compression.end() ? dense : it->second;
    validate(c, le.problem, layer.name);

    const Hierarchy dense_h = hierarchy_energy(le.problem, dense, hw);
    LoadCounts loads{static_cast<double>(dense_h.weight_feed_reads) / static_cast<double>(le.problem.weights()),
                     static_cast<double>(dense_h.input_feed_reads) / static_cast<double>(le.problem.inputs())};
    std::optional<LayerMapping> dense_map;
    if (cache) {
      auto g = options.given_mappings.find(layer.name);
      const bool given = g != options.given_mappings.end();
      dense_map = mapped_if_legal([&] {
        return map_layer(*cache, le.problem, dense, given ? &g->second.first : nullptr, given ? g->second.second : "");
      });
      if (dense_map) loads = {dense_map->weight_loads, dense_map->input_loads};
      if (dense_map && c.compressed() && !given) {
        le.mapped = mapped_if_legal([&] { return map_layer(*cache, le.problem, c); });
        // Changed: another mapping than the dense layer's, where the dense one no longer fits or costs
        // more at the compressed widths (a tie broken another way is no change).
        if (le.mapped && le.mapped->mapping != dense_map->mapping) {
          const std::optional<NestResult> on_dense = price_on(*cache, le.problem, c, dense_map->mapping);
          if (on_dense) le.energy_on_dense_mapping = on_dense->energy * static_cast<double>(le.problem.groups);
          le.mapping_changed = !on_dense || *le.energy_on_dense_mapping > le.mapped->energy();
          if (!le.mapping_changed) le.energy_on_dense_mapping.reset();
        }
      } else {
        le.mapped = dense_map;
      }
      if (!le.mapped) ++out.totals.unmapped_layers;
    }
    le.paper = paper_metric(le.problem, c, loads, hw);
    le.hierarchy = c.compressed() ? hierarchy_energy(le.problem, c, hw) : dense_h;
    le.compression = {c.density,
                      c.k,
                      c.granularity,
                      c.shared() ? vector_count(le.problem, c.granularity, c.group_size) : 0,
                      c.shared() ? vector_dim(le.problem, c.granularity, c.group_size) : 0,
                      c.shared() ? c.index_bits : 0,
                      c.shared() && !c.labels.empty()};
    add_layer(out.totals, le.paper, le.hierarchy);
    if (c.compressed()) {
      any_compressed = true;
      add_layer(dense_totals, paper_metric(le.problem, dense, loads, hw), dense_h);
    } else {
      add_layer(dense_totals, le.paper, dense_h);
    }
    if (le.mapped) {
      add_mapped(out.totals, *le.mapped, le.paper.macs);
      add_mapped(dense_totals, *dense_map, le.paper.macs);
      if (le.mapping_changed) {
        ++out.totals.mapping_changes;
        if (le.energy_on_dense_mapping) out.totals.mapping_change_saving += *le.energy_on_dense_mapping - le.mapped->energy();
        else ++out.totals.mapping_changes_unfit;
      }
    }
    out.layers.push_back(std::move(le));
  }
  if (any_compressed) out.uncompressed = dense_totals;
  check_finite(out, hw);
  return out;
}

std::optional<double> r_squared(std::span<const double> x, std::span<const double> y) {
  if (x.size() != y.size()) throw std::invalid_argument("r_squared: series of different lengths");
  if (x.size() < 2) return std::nullopt;
  const double n = static_cast<double>(x.size());
  double mx = 0, my = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  if (sxx == 0 || syy == 0) return std::nullopt;  // 0/0: no line is better or worse than another
  return sxy * sxy / (sxx * syy);
}

Sweep sweep(const models::Model& model, const HwProfile& hw, std::span<const double> rates, const EstimateOptions& base) {
  if (rates.empty()) throw UsageError("--rates needs at least one cluster rate");
  Sweep s;
  s.model = model.name;
  s.profile = hw.name;
  s.unit = hw.unit;
  std::vector<double> paper, hier, paper_no_reuse;
  for (double rate : rates) {
    if (!(rate > 0.0 && rate <= 1.0)) throw UsageError(fmt::format("cluster rate must be in (0, 1] (got {})", rate));
    EstimateOptions opt = base;
    opt.compression.clear();
    const int64_t batch = opt.batch > 0 ? opt.batch : model.batch;
    for (const models::Layer& layer : model.layers) {
      if (layer.kind != models::LayerKind::conv2d) continue;
      const ConvProblem p = conv_problem(model, layer, batch);
      const int64_t n = vector_count(p, kmeans::Granularity::row);
      LayerCompression c;
      c.granularity = kmeans::Granularity::row;
      c.k = std::clamp<int64_t>(std::llround(rate * static_cast<double>(n)), 1, n);
      c.index_bits = index_bits_for(c.k);
      opt.compression[layer.name] = c;
    }
    Estimate e = estimate(model, hw, opt);
    SweepPoint pt;
    pt.rate = rate;
    pt.all_layers = e.totals;
    for (const LayerEstimate& le : e.layers) {
      if (le.kind != models::LayerKind::conv2d) continue;
      add_layer(pt.totals, le.paper, le.hierarchy);
      const PaperMetric dense = paper_metric(le.problem, {}, {le.paper.n_w, le.paper.n_x}, hw);
      pt.paper_energy_without_reuse += dense.comp_energy + le.paper.rep_energy;
    }
    paper_no_reuse.push_back(pt.paper_energy_without_reuse);
    paper.push_back(pt.totals.paper_energy);
    hier.push_back(pt.totals.hierarchy_energy);
    s.points.push_back(pt);
  }
  s.r2 = r_squared(paper, hier);
  s.r2_without_reuse = r_squared(paper_no_reuse, hier);
  const bool any_conv = std::any_of(model.layers.begin(), model.layers.end(),
                                    [](const models::Layer& l) { return l.kind == models::LayerKind::conv2d; });
  const size_t distinct = std::set<double>(rates.begin(), rates.end()).size();
  if (!any_conv) s.r2_undefined = "the model has no conv layer";
  else if (distinct < 2) s.r2_undefined = "R^2 needs at least two different cluster rates";
  else if (!s.r2) s.r2_undefined = "the energies do not change over these rates";
  if (!s.r2_undefined.empty()) s.r2.reset(), s.r2_without_reuse.reset();
  return s;
}

}  // namespace dkm::estimator

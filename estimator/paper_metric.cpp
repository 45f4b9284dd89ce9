#include "estimator/paper_metric.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include <fmt/core.h>

#include "models/error.hpp"

namespace dkm::estimator {

namespace {

int ceil_log2(double d) { return d <= 1.0 ? 0 : static_cast<int>(std::ceil(std::log2(d) - 1e-12)); }

// Expected distinct values among n labels drawn uniformly from k.
double expected_distinct(double n, int64_t k) {
  if (n <= 0) return 0;
  if (k <= 1) return 1;
  const double kd = static_cast<double>(k);
  return -kd * std::expm1(n * std::log1p(-1.0 / kd));
}

// For each padded input position along one axis, the set of kernel taps that meet it (a bitmask over
// taps, as a string for kernels wider than 64), with how many positions share each set.
std::map<std::vector<char>, int64_t> tap_sets(int64_t out, int64_t stride, int64_t kernel, int64_t dilation) {
  const int64_t padded = (out - 1) * stride + (kernel - 1) * dilation + 1;
  std::vector<std::vector<char>> sets(static_cast<size_t>(padded), std::vector<char>(static_cast<size_t>(kernel), 0));
  for (int64_t o = 0; o < out; ++o)
    for (int64_t t = 0; t < kernel; ++t) sets[static_cast<size_t>(o * stride + t * dilation)][static_cast<size_t>(t)] = 1;
  std::map<std::vector<char>, int64_t> count;
  for (auto& s : sets)
    if (std::find(s.begin(), s.end(), 1) != s.end()) ++count[s];
  return count;
}

// Distinct labels among `ids` (vector indices), `skip` (the zero centre, or -1) not counted; `seen` is
// scratch of size k, reset afterwards.
int64_t distinct(std::span<const int32_t> labels, const std::vector<int64_t>& ids, std::vector<char>& seen,
                 int32_t skip) {
  int64_t n = 0;
  for (int64_t i : ids) {
    const int32_t label = labels[static_cast<size_t>(i)];
    auto& s = seen[static_cast<size_t>(label)];
    if (!s && label != skip) {
      s = 1;
      ++n;
    }
  }
  for (int64_t i : ids) seen[static_cast<size_t>(labels[static_cast<size_t>(i)])] = 0;
  return n;
}

// Expected distinct non-zero centres among n vectors under uniform labels: with a zero centre, a vector
// is in it with probability q = 1 - density and otherwise uniform over the other k - 1 centres.
double expected_nonzero_distinct(double n, const LayerCompression& c) {
  if (c.zero_label < 0) return expected_distinct(n, c.k);
  if (c.k <= 1 || n <= 0) return 0;
  const double others = static_cast<double>(c.k - 1);
  const double hit = c.density / others;  // one vector lands on one given non-zero centre
  return -others * std::expm1(n * std::log1p(-hit));
}

// The fraction of vectors in the zero centre: counted from real labels, 1 - density under uniform ones.
double zero_fraction(const LayerCompression& c) {
  if (c.zero_label < 0) return 0;
  if (c.labels.empty()) return 1.0 - c.density;
  const auto zeros = std::count(c.labels.begin(), c.labels.end(), c.zero_label);
  return static_cast<double>(zeros) / static_cast<double>(c.labels.size());
}

void check_labels(const ConvProblem& p, const LayerCompression& c) {
  const int64_t expected = vector_count(p, c.granularity, c.group_size);
  if (static_cast<int64_t>(c.labels.size()) != expected)
    throw InputError("cluster labels", "", fmt::format("{} labels (one per vector), got {}", expected, c.labels.size()));
  for (size_t i = 0; i < c.labels.size(); ++i)
    if (c.labels[i] < 0 || c.labels[i] >= c.k)
      throw InputError("cluster labels", fmt::format("label {}", i), fmt::format("a value in [0, {})", c.k));
}

}  // namespace

int64_t comp_cost(int64_t d, int weight_bits, int act_bits) {
  if (d < 1) throw UsageError(fmt::format("dot product length must be >= 1 (got {})", d));
  const char* what = "computational cost (Eq. 5)";
  const int64_t mults = checked_mul(checked_mul(d, weight_bits, what), act_bits, what);
  const int64_t adder_width = act_bits + weight_bits + ceil_log2(static_cast<double>(d)) - 1;
  return checked_add(mults, checked_mul(d - 1, adder_width, what), what);
}

double shared_products(const ConvProblem& p, const LayerCompression& c) {
  const double dense = static_cast<double>(p.macs());
  if (!c.shared()) return dense;
  const bool exact = !c.labels.empty();
  if (exact) check_labels(p, c);
  const int64_t M = p.out_channels, C = p.in_channels, R = p.kernel_h, S = p.kernel_w;
  const int64_t G = p.groups, E = p.out_h, F = p.out_w;
  const double batch = static_cast<double>(p.batch);
  std::vector<char> seen(exact ? static_cast<size_t>(c.k) : 0, 0);
  std::vector<int64_t> ids;
  double products = 0;

  // Per group g and input channel c, the vectors of filters o meeting it; `vec(o, c, r, s)` indexes the
  // container's OIHW vector order for the granularity.
  // Uniform labels give every (g, c) the same expectation: one product, not a loop as long as the
  // channels (a spec with 2^40 channels is estimated at once, not in hours).
  auto sum_over = [&](auto&& members, double per_distinct, int64_t n_members) {
    if (!exact) {
      products += static_cast<double>(G) * static_cast<double>(C) * per_distinct *
                  expected_nonzero_distinct(static_cast<double>(n_members), c);
      return;
    }
    for (int64_t g = 0; g < G; ++g)
      for (int64_t ch = 0; ch < C; ++ch) {
        ids.clear();
        members(g, ch, ids);
        products += per_distinct * static_cast<double>(distinct(c.labels, ids, seen, c.zero_label));
      }
  };

  switch (c.granularity) {
    case kmeans::Granularity::filter: {
      // One vector per filter: whole dot products are reused among filters with the same centre.
      const double per_distinct = batch * static_cast<double>(E * F * C * R * S);
      if (!exact) {
        products += static_cast<double>(G) * expected_nonzero_distinct(static_cast<double>(M), c) * per_distinct;
        break;
      }
      for (int64_t g = 0; g < G; ++g) {
        ids.clear();
        for (int64_t o = g * M; o < (g + 1) * M; ++o) ids.push_back(o);
        products += static_cast<double>(distinct(c.labels, ids, seen, c.zero_label)) * per_distinct;
      }
      break;
    }
    case kmeans::Granularity::group: {
      // Slice j of every filter (the same Gs taps of the same channels): filters with the same centre
      // there share the partial dot product at each output position.
      const int64_t Gs = vector_dim(p, c.granularity, c.group_size), slices = C * R * S / Gs;
      const double per_distinct = batch * static_cast<double>(E * F * Gs);
      if (!exact) {
        products += static_cast<double>(G) * static_cast<double>(slices) * per_distinct *
                    expected_nonzero_distinct(static_cast<double>(M), c);
        break;
      }
      for (int64_t g = 0; g < G; ++g)
        for (int64_t j = 0; j < slices; ++j) {
          ids.clear();
          for (int64_t o = g * M; o < (g + 1) * M; ++o) ids.push_back(o * slices + j);
          products += per_distinct * static_cast<double>(distinct(c.labels, ids, seen, c.zero_label));
        }
      break;
    }
    case kmeans::Granularity::kernel:
      sum_over([&](int64_t g, int64_t ch, std::vector<int64_t>& out) {
                 for (int64_t o = g * M; o < (g + 1) * M; ++o) out.push_back(o * C + ch);
               },
               batch * static_cast<double>(E * F * R * S), M);
      break;
    case kmeans::Granularity::row: {
      // Kernel rows r that meet the same padded input row collapse to their distinct centres; each
      // distinct centre costs one row convolution (F*S products).
      for (const auto& [taps, rows] : tap_sets(E, p.stride_h, R, p.dilation_h)) {
        const int64_t n_taps = std::count(taps.begin(), taps.end(), 1);
        sum_over([&, &taps = taps](int64_t g, int64_t ch, std::vector<int64_t>& out) {
                   for (int64_t o = g * M; o < (g + 1) * M; ++o)
                     for (int64_t r = 0; r < R; ++r)
                       if (taps[static_cast<size_t>(r)]) out.push_back((o * C + ch) * R + r);
                 },
                 batch * static_cast<double>(rows * F * S), M * n_taps);
      }
      break;
    }
    case kmeans::Granularity::scalar: {
      auto vert = tap_sets(E, p.stride_h, R, p.dilation_h);
      auto horz = tap_sets(F, p.stride_w, S, p.dilation_w);
      for (const auto& [rt, rows] : vert)
        for (const auto& [st, cols] : horz) {
          const int64_t n = M * std::count(rt.begin(), rt.end(), 1) * std::count(st.begin(), st.end(), 1);
          sum_over([&, &rt = rt, &st = st](int64_t g, int64_t ch, std::vector<int64_t>& out) {
                     for (int64_t o = g * M; o < (g + 1) * M; ++o)
                       for (int64_t r = 0; r < R; ++r)
                         for (int64_t s = 0; s < S; ++s)
                           if (rt[static_cast<size_t>(r)] && st[static_cast<size_t>(s)])
                             out.push_back(((o * C + ch) * R + r) * S + s);
                   },
                   batch * static_cast<double>(rows * cols), n);
        }
      break;
    }
  }
  return std::min(products, dense);
}

PaperMetric paper_metric(const ConvProblem& p, const LayerCompression& c, const LoadCounts& loads,
                         const HwProfile& hw) {
  if (!(c.density > 0.0 && c.density <= 1.0))
    throw UsageError(fmt::format("weight density must be in (0, 1] (got {})", c.density));
  PaperMetric m;
  m.dot_products = p.dot_products();
  m.dot_length = p.dot_length();
  m.macs = p.macs();
  const int bw = p.weight_bits, bx = p.act_bits;
  const double P = static_cast<double>(m.dot_products);

  if (!c.compressed()) {
    // Exactly Eq. 5 per dot product, in integers.
    m.products = static_cast<double>(m.macs);
    m.comp_full_adders =
        static_cast<double>(checked_mul(m.dot_products, comp_cost(m.dot_length, bw, bx), "computational cost"));
  } else {
    // Pruning shortens every dot product to density*D terms; sharing lets products of one activation
    // with one shared centre be reused, which saves multiplications, not additions.
    const double d_eff = c.density * static_cast<double>(m.dot_length);
    // Shared products already leave out the zero centre's vectors; only the zeros elsewhere (pruning
    // without a zero centre, or zero entries inside other centres) still scale them. Multiplying by the
    // whole density would count the zero centre's saving twice.
    const double rest = 1.0 - zero_fraction(c);
    const double rest_density = rest > 0 ? std::min(1.0, c.density / rest) : 1.0;  // the zero centre holds no non-zero
    m.products = (c.shared() ? rest_density : c.density) * shared_products(p, c);
    const double adds = std::max(0.0, d_eff - 1.0) * (bx + bw + ceil_log2(d_eff) - 1);
    m.comp_full_adders = m.products * bw * bx + P * adds;
  }

  // Load counts from the dataflow; the representational costs in bits.
  m.n_w = loads.n_w;
  m.n_x = loads.n_x;
  const double weights = static_cast<double>(p.weights());
  if (c.shared()) {
    const double vectors = static_cast<double>(vector_count(p, c.granularity));
    const double dim = static_cast<double>(vector_dim(p, c.granularity));
    m.weight_bits_stored = c.density * vectors * c.index_bits + static_cast<double>(c.k) * dim * bw;
  } else {
    m.weight_bits_stored = c.density * weights * bw;
  }
  m.r_w_bits = m.n_w * m.weight_bits_stored;
  m.r_x_bits = m.n_x * c.density * static_cast<double>(p.inputs()) * bx;

  // Normalisation: a full adder costs E_MAC / (full adders of one reference-width MAC at this D), so a
  // dense layer at the reference widths costs exactly MACs x E_MAC; a bit moved costs the global
  // buffer's energy per bit (the paper's "6x a MAC" for a 16-bit word on Eyeriss).
  const double d = static_cast<double>(m.dot_length);
  const double fa_per_ref_mac = static_cast<double>(comp_cost(m.dot_length, hw.ref_weight_bits, hw.ref_act_bits)) / d;
  m.comp_energy = m.comp_full_adders * hw.mac_energy / fa_per_ref_mac;
  m.rep_energy = (m.r_w_bits + m.r_x_bits) * hw.buffer.per_bit();
  return m;
}

}  // namespace dkm::estimator

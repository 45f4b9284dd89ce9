#include "estimator/hierarchy.hpp"

#include <algorithm>
#include <vector>

#include "models/error.hpp"

namespace dkm::estimator {

namespace {

constexpr const char* kWhat = "row-stationary access counts";

int64_t mul(int64_t a, int64_t b) { return checked_mul(a, b, kWhat); }
int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

__extension__ typedef __int128 wide;

// count * num / den without intermediate overflow (num <= den): the share of `count` left by gating.
int64_t scale(int64_t count, int64_t num, int64_t den) {
  return static_cast<int64_t>(static_cast<wide>(count) * num / den);
}

double d(int64_t v) { return static_cast<double>(v); }

size_t ix(DataType t) { return static_cast<size_t>(t); }
size_t ix(Level l) { return static_cast<size_t>(l); }

// Input rows touched by output rows [e0, e1) and kernel rows [r0, r1): how many distinct real rows
// (`distinct`) and how many (output row, kernel row) PE positions read a real row (`pe_reads`).
struct RowUse {
  int64_t distinct = 0, pe_reads = 0;
};

RowUse row_use(const ConvProblem& p, int64_t e0, int64_t e1, int64_t r0, int64_t r1) {
  std::vector<char> seen(static_cast<size_t>(p.in_h), 0);
  RowUse u;
  for (int64_t e = e0; e < e1; ++e)
    for (int64_t r = r0; r < r1; ++r) {
      int64_t h = e * p.stride_h - p.pad_top + r * p.dilation_h;
      if (h < 0 || h >= p.in_h) continue;
      ++u.pe_reads;
      if (!seen[static_cast<size_t>(h)]) {
        seen[static_cast<size_t>(h)] = 1;
        ++u.distinct;
      }
    }
  return u;
}

// Real input columns any output column reads (padding columns are generated, not fetched).
int64_t columns_used(const ConvProblem& p) {
  std::vector<char> seen(static_cast<size_t>(p.in_w), 0);
  int64_t n = 0;
  for (int64_t f = 0; f < p.out_w; ++f)
    for (int64_t s = 0; s < p.kernel_w; ++s) {
      int64_t w = f * p.stride_w - p.pad_left + s * p.dilation_w;
      if (w >= 0 && w < p.in_w && !seen[static_cast<size_t>(w)]) {
        seen[static_cast<size_t>(w)] = 1;
        ++n;
      }
    }
  return n;
}

// Dense per-group counts for a mapping, plus the gating / sharing adjustments of `c`.
Hierarchy count(const ConvProblem& p, const LayerCompression& c, const HwProfile& hw, const Mapping& m) {
  const int64_t N = p.batch, M = p.out_channels, C = p.in_channels, R = p.kernel_h, S = p.kernel_w;
  const int64_t E = p.out_h, F = p.out_w, G = p.groups;
  const int64_t weights_g = mul(mul(M, C), mul(R, S));
  const int64_t macs_g = mul(mul(mul(N, M), mul(E, F)), mul(C, mul(R, S)));
  const int64_t outputs_g = mul(mul(N, M), mul(E, F));
  const int64_t batch_blocks = ceil_div(N, m.batch_block);
  const int64_t w_used = columns_used(p);

  // Input rows per (strip, kernel-row fold), and per strip over all kernel rows.
  int64_t rows_per_fold = 0, pe_row_reads = 0, rows_per_strip = 0;
  for (int64_t s = 0; s < m.strips; ++s) {
    const int64_t e0 = s * m.strip_rows, e1 = std::min(E, e0 + m.strip_rows);
    rows_per_strip += row_use(p, e0, e1, 0, R).distinct;
    for (int64_t f = 0; f < m.kernel_row_folds; ++f) {
      RowUse u = row_use(p, e0, e1, f * m.pe_set_rows, std::min(R, (f + 1) * m.pe_set_rows));
      rows_per_fold += u.distinct;
      pe_row_reads += u.pe_reads;
    }
  }

  AccessTable a{};
  auto& W = a[ix(DataType::weights)];
  auto& X = a[ix(DataType::inputs)];
  auto& P = a[ix(DataType::psums)];

  // Weights: loaded once per (batch block, strip), multicast along the PE row to the strip's PEs, then
  // read from the scratchpad by every MAC.
  const int64_t weight_loads = mul(mul(weights_g, m.strips), batch_blocks);
  W[ix(Level::dram)] = weight_loads;
  W[ix(Level::buffer)] = hw.bypasses_buffer(DataType::weights) ? 0 : weight_loads;
  W[ix(Level::array)] = mul(mul(weights_g, E), batch_blocks);
  W[ix(Level::rf)] = macs_g;

  // Inputs: every needed row is read once per pass from the feeding level and multicast to the PEs on
  // its diagonal, in every filter set; the buffer keeps a strip's rows across filter folds when it can.
  const int64_t feed_inputs = mul(mul(mul(N, m.filter_folds), mul(C, w_used)), rows_per_fold);
  const int64_t dram_inputs =
      m.inputs_stay_in_buffer ? mul(mul(N, C), mul(w_used, rows_per_strip)) : feed_inputs;
  const bool x_bypass = hw.bypasses_buffer(DataType::inputs);
  X[ix(Level::dram)] = x_bypass ? feed_inputs : dram_inputs;
  X[ix(Level::buffer)] = x_bypass ? 0 : feed_inputs;
  X[ix(Level::array)] = mul(mul(mul(N, ceil_div(M, m.filters_per_pe)), mul(C, w_used)), pe_row_reads);
  X[ix(Level::rf)] = macs_g;

  // Partial sums, with the Eyeriss bookkeeping: a psum accumulated d times in a scratchpad costs 2(d-1)
  // scratchpad accesses; c contributions merged over the array cost c-1 array accesses; b buffer-level
  // contributions cost 2(b-1) buffer accesses; a DRAM round trips cost 2a-1 DRAM accesses.
  const int64_t pe_psums = mul(mul(outputs_g, ceil_div(C, m.channels_per_pe)), R);
  const int64_t buffer_psums = mul(mul(outputs_g, m.channel_folds), m.kernel_row_folds);
  const int64_t dram_trips = m.psums_stay_in_buffer ? 1 : mul(m.channel_folds, m.kernel_row_folds);
  P[ix(Level::rf)] = mul(2, macs_g - pe_psums);
  P[ix(Level::array)] = pe_psums - buffer_psums;
  P[ix(Level::buffer)] = m.psums_stay_in_buffer ? mul(2, buffer_psums - outputs_g) : 0;
  P[ix(Level::dram)] = mul(mul(2, dram_trips) - 1, outputs_g);

  Hierarchy h;
  h.mapping = m;
  h.weight_feed_reads = mul(hw.bypasses_buffer(DataType::weights) ? W[ix(Level::dram)] : W[ix(Level::buffer)], G);
  h.input_feed_reads = mul(feed_inputs, G);
  int64_t executed = macs_g;

  // Pruning: zero weights are neither stored nor moved, and their MACs (with the input and psum
  // scratchpad accesses they would make) are gated off. Input traffic above the PEs is unchanged.
  if (c.density < 1.0) {
    const int64_t total_w = mul(weights_g, G);
    const int64_t nonzero = std::clamp<int64_t>(static_cast<int64_t>(c.density * static_cast<double>(total_w) + 0.5), 0, total_w);
    for (Level l : kLevels) W[ix(l)] = scale(W[ix(l)], nonzero, total_w);
    executed = scale(macs_g, nonzero, total_w);
    X[ix(Level::rf)] = executed;
    P[ix(Level::rf)] = scale(P[ix(Level::rf)], nonzero, total_w);
  }

  // Weight sharing, decoded in the PE: indexes travel in place of weights, each MAC reads its centre
  // from a codebook table in the PE (priced as a weight-scratchpad read), and each weight load brings
  // the centres the PE's weights use (at most K*dim, at most the PE's weights).
  double weight_bits = p.weight_bits;
  auto& K = a[ix(DataType::codebook)];
  int64_t codebook_words = 0;
  if (c.shared()) {
    const int64_t vec = vector_dim(p, c.granularity, c.group_size);
    weight_bits = static_cast<double>(c.index_bits) / static_cast<double>(vec);
    codebook_words = mul(c.k, vec);
    const int64_t pe_weights = mul(mul(m.filters_per_pe, m.channels_per_pe), S);
    K[ix(Level::dram)] = mul(mul(codebook_words, m.strips), batch_blocks);
    K[ix(Level::buffer)] = hw.bypasses_buffer(DataType::weights) ? 0 : K[ix(Level::dram)];
    K[ix(Level::array)] = scale(W[ix(Level::array)], std::min(codebook_words, pe_weights), pe_weights);
    K[ix(Level::rf)] = executed;
  }

  // Per group -> whole layer (the codebook is per layer already at DRAM and buffer).
  for (DataType t : kDataTypes)
    for (Level l : kLevels)
      if (!(t == DataType::codebook && (l == Level::dram || l == Level::buffer))) a[ix(t)][ix(l)] = mul(a[ix(t)][ix(l)], G);
  h.macs = mul(executed, G);
  h.accesses = a;

  const double bits[4] = {weight_bits, static_cast<double>(p.act_bits), static_cast<double>(hw.psum_bits),
                          static_cast<double>(p.weight_bits)};
  for (DataType t : kDataTypes)
    for (Level l : kLevels)
      h.energy[ix(t)][ix(l)] = static_cast<double>(a[ix(t)][ix(l)]) * hw.access_energy(l, t, bits[ix(t)]);
  h.mac_energy = static_cast<double>(h.macs) * hw.mac_energy_at(p.weight_bits, p.act_bits);
  return h;
}

// Largest batch block whose buffer working set fits, or 0 when not even one image fits.
int64_t fit_batch(const ConvProblem& p, const HwProfile& hw, const Mapping& m, bool inputs_stay, bool psums_stay) {
  const double capacity = d(hw.buffer_bytes) * 8.0;
  const int64_t rows_in = std::min(p.in_h, (m.strip_rows - 1) * p.stride_h + (p.kernel_h - 1) * p.dilation_h + 1);
  const int64_t fold_rows = std::min(p.in_h, (m.strip_rows - 1) * p.stride_h + (m.pe_set_rows - 1) * p.dilation_h + 1);
  const int64_t block_filters = m.filters_per_pe * m.sets_on_filters;
  const int64_t block_channels = m.channels_per_pe * m.sets_on_channels;
  const double per_image_inputs =
      hw.bypasses_buffer(DataType::inputs)
          ? 0.0
          : d(inputs_stay ? p.in_channels * rows_in : block_channels * fold_rows) * d(p.in_w) * p.act_bits;
  const double per_image_psums = psums_stay ? d(block_filters) * d(m.strip_rows * p.out_w) * hw.psum_bits : 0.0;
  const double weights = hw.bypasses_buffer(DataType::weights)
                             ? 0.0
                             : d(block_filters) * d(block_channels) * d(m.pe_set_rows * p.kernel_w) * p.weight_bits;
  const double per_image = per_image_inputs + per_image_psums;
  if (weights + per_image > capacity) return 0;
  if (per_image <= 0) return p.batch;
  return std::min<int64_t>(p.batch, static_cast<int64_t>((capacity - weights) / per_image));
}

}  // namespace

double Hierarchy::level_energy(Level l) const {
  double e = 0;
  for (DataType t : kDataTypes) e += energy_at(t, l);
  return e;
}

double Hierarchy::type_energy(DataType t) const {
  double e = 0;
  for (Level l : kLevels) e += energy_at(t, l);
  return e;
}

double Hierarchy::total_energy() const {
  double e = mac_energy;
  for (Level l : kLevels) e += level_energy(l);
  return e;
}

Mapping map_row_stationary(const ConvProblem& p, const HwProfile& hw) {
  Mapping m;
  m.pe_set_rows = std::min(p.kernel_h, hw.pe_rows);
  m.kernel_row_folds = ceil_div(p.kernel_h, m.pe_set_rows);
  m.strip_rows = std::min(p.out_h, hw.pe_cols);
  m.strips = ceil_div(p.out_h, m.strip_rows);
  m.sets = (hw.pe_rows / m.pe_set_rows) * (hw.pe_cols / m.strip_rows);
  // The input scratchpad holds a kernel-row window of q channels; the weight scratchpad p*q kernel
  // rows; the psum scratchpad one psum per interleaved filter.
  const int64_t window_x = hw.rf_inputs.words / p.kernel_w, window_w = hw.rf_weights.words / p.kernel_w;
  m.channels_per_pe = std::clamp<int64_t>(std::min(window_x, window_w), 1, p.in_channels);
  m.filters_per_pe = std::clamp<int64_t>(std::min(window_w / m.channels_per_pe, hw.rf_psums.words), 1, p.out_channels);
  m.sets_on_filters = std::min(m.sets, ceil_div(p.out_channels, m.filters_per_pe));
  m.sets_on_channels = std::clamp<int64_t>(m.sets / m.sets_on_filters, 1, ceil_div(p.in_channels, m.channels_per_pe));
  m.filter_folds = ceil_div(p.out_channels, m.filters_per_pe * m.sets_on_filters);
  m.channel_folds = ceil_div(p.in_channels, m.channels_per_pe * m.sets_on_channels);
  m.active_pes = m.sets_on_filters * m.sets_on_channels * m.pe_set_rows * m.strip_rows;

  // The buffer's use: try keeping a strip's inputs across filter folds, or not, each with the largest
  // batch block that fits; keep the cheaper (ties: the first). Psums spill to DRAM only when even one
  // image's tile does not fit.
  const LayerCompression dense;
  Mapping best;
  double best_energy = -1;
  for (bool inputs_stay : {true, false}) {
    Mapping cand = m;
    cand.inputs_stay_in_buffer = inputs_stay;
    cand.psums_stay_in_buffer = true;
    cand.batch_block = fit_batch(p, hw, cand, inputs_stay, true);
    if (cand.batch_block == 0) {
      cand.psums_stay_in_buffer = false;
      cand.batch_block = std::max<int64_t>(1, fit_batch(p, hw, cand, inputs_stay, false));
    }
    const double e = count(p, dense, hw, cand).total_energy();
    if (best_energy < 0 || e < best_energy) {
      best = cand;
      best_energy = e;
    }
  }
  return best;
}

Hierarchy hierarchy_energy(const ConvProblem& problem, const LayerCompression& c, const HwProfile& profile) {
  return count(problem, c, profile, map_row_stationary(problem, profile));
}

}  // namespace dkm::estimator

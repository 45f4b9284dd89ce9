#pragma once
// The energy-aware metric of Deep k-Means (paper.md section 4): the computational cost of the dot
// products in 1-bit full adders (Eq. 5), the representational costs R_w and R_x in bits, with load counts
// N_w, N_x taken from the row-stationary dataflow, and their sum normalised per MAC with the profile's
// constants (docs/hwprofile.md, "Paper metric").
#include <cstdint>

#include "estimator/problem.hpp"
#include "estimator/profile.hpp"

namespace dkm::estimator {

// Eq. 5: D*B_w*B_x + (D-1)*(B_x + B_w + ceil(log2 D) - 1) full adders for one D-term dot product.
int64_t comp_cost(int64_t d, int weight_bits, int act_bits);

// How often each weight and each input activation is fetched from the level that feeds the PE array
// (the global buffer, or DRAM for a type that bypasses it), from the dataflow of the uncompressed layer.
struct LoadCounts {
  double n_w = 0;
  double n_x = 0;
};

struct PaperMetric {
  int64_t dot_products = 0;
  int64_t dot_length = 0;         // D
  int64_t macs = 0;               // dense: dot_products * D
  double products = 0;            // multiplications left after pruning and reuse of shared products
  double comp_full_adders = 0;    // C_comp over all dot products; Eq. 5 exactly when uncompressed
  double n_w = 0, n_x = 0;
  double weight_bits_stored = 0;  // |W|*B_w, or N*index_bits + K*dim*B_w when shared (times density)
  double r_w_bits = 0, r_x_bits = 0;
  double comp_energy = 0;         // profile unit
  double rep_energy = 0;          // (R_w + R_x) at the feeding level's energy per bit
  double total_energy() const { return comp_energy + rep_energy; }
  double per_mac() const { return macs > 0 ? total_energy() / static_cast<double>(macs) : 0.0; }
};

// Multiplications needed when products of the same activation with the same shared centre are reused:
// for each input channel and input position, the kernel vectors that meet it collapse to the distinct
// centres among them. Exact from `c.labels` when given, the expectation under uniform labels otherwise.
// Vectors in the zero centre (c.zero_label) cost nothing and are not counted. Equals problem.macs()
// without sharing.
double shared_products(const ConvProblem& problem, const LayerCompression& c);

PaperMetric paper_metric(const ConvProblem& problem, const LayerCompression& c, const LoadCounts& loads,
                         const HwProfile& profile);

}  // namespace dkm::estimator

#pragma once
// The Timeloop v3.0.3 reference runs (../shared/reference/timeloop, beside the clone): layers, access
// counts and Timeloop's own mappings, read for the cost-model and mapper tests.
#include <map>
#include <string>
#include <vector>

#include "estimator/nest.hpp"
#include "estimator/profile.hpp"

namespace dkm::test {

std::string timeloop_dir();  // "" when the folder is missing

// One CSV file as rows of header -> field (quoted fields may hold commas).
std::vector<std::map<std::string, std::string>> read_csv(const std::string& path);

// The problem of a reference row (N = 1, P and Q torchvision's output sizes, square stride).
estimator::Workload reference_workload(const std::map<std::string, std::string>& row);

// The reference folder, eyeriss-like-timeloop at 16 bits and the reference's 113 layer rows; a missing
// folder fails the calling test (CI always has ../shared beside the clone).
struct Reference {
  std::string dir;
  estimator::HwProfile profile;
  std::vector<estimator::LevelCosts> levels;
  std::vector<std::map<std::string, std::string>> layers;
};
Reference load_reference();

}  // namespace dkm::test

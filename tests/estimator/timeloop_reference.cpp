#include "tests/estimator/timeloop_reference.hpp"

#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>

#include "estimator/mapper.hpp"

namespace dkm::test {

std::string timeloop_dir() {
  const std::string dir = std::string(DKM_SHARED_DIR) + "/reference/timeloop";
  return std::filesystem::exists(dir + "/timeloop-v3-eyeriss-like.csv") ? dir : "";
}

namespace {
std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (char c : line) {
    if (c == '"') quoted = !quoted;
    else if (c == ',' && !quoted) out.emplace_back();
    else if (c != '\r') out.back() += c;
  }
  return out;
}
}  // namespace

std::vector<std::map<std::string, std::string>> read_csv(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::vector<std::map<std::string, std::string>> rows;
  if (!std::getline(in, line)) return rows;
  const auto header = split(line);
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto fields = split(line);
    std::map<std::string, std::string> row;
    for (size_t i = 0; i < header.size() && i < fields.size(); ++i) row[header[i]] = fields[i];
    rows.push_back(std::move(row));
  }
  return rows;
}

estimator::Workload reference_workload(const std::map<std::string, std::string>& row) {
  using estimator::Dim;
  estimator::Workload w;
  w[Dim::C] = std::stoll(row.at("C"));
  w[Dim::M] = std::stoll(row.at("M"));
  w[Dim::R] = std::stoll(row.at("R"));
  w[Dim::S] = std::stoll(row.at("S"));
  w[Dim::P] = std::stoll(row.at("P"));
  w[Dim::Q] = std::stoll(row.at("Q"));
  w.stride_h = w.stride_w = std::stoll(row.at("stride"));
  return w;
}

Reference load_reference() {
  Reference r;
  r.dir = timeloop_dir();
  REQUIRE_MESSAGE(!r.dir.empty(), "../shared/reference/timeloop is missing beside the clone");
  r.profile = estimator::load_profile("eyeriss-like-timeloop");
  r.levels = estimator::level_costs(r.profile, {16, 16, 16});
  r.layers = read_csv(r.dir + "/timeloop-v3-eyeriss-like.csv");
  REQUIRE(r.layers.size() == 113);
  return r;
}

}  // namespace dkm::test

#pragma once
// A one-line progress bar on standard error, drawn only when it is a terminal (quiet in pipes, logs
// and tests). Header-only: the tools folder has no library.
#include <cstdio>
#include <string>
#include <string_view>

#include <fmt/core.h>

#include "tools/command.hpp"

namespace dkm::cli {

class ProgressBar {
 public:
  explicit ProgressBar(std::string label, bool enabled = stderr_is_terminal())
      : label_(std::move(label)), enabled_(enabled) {}
  ~ProgressBar() { finish(); }

  // Redraws "label [#####.....] done/total item".
  void update(size_t done, size_t total, std::string_view item) {
    if (!enabled_) return;
    constexpr size_t width = 30;
    const size_t filled = total ? done * width / total : width;
    std::string line = fmt::format("\r{} [{}{}] {}/{} {}", label_, std::string(filled, '#'),
                                   std::string(width - filled, '.'), done, total, item);
    if (line.size() < last_) line.append(last_ - line.size(), ' ');
    last_ = line.size();
    std::fputs(line.c_str(), stderr);
    std::fflush(stderr);
    drawn_ = true;
  }

  // Clears the line so that the next output starts clean.
  void finish() {
    if (!enabled_ || !drawn_) return;
    fmt::print(stderr, "\r{}\r", std::string(last_, ' '));
    std::fflush(stderr);
    drawn_ = false;
  }

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  size_t last_ = 0;
};

}  // namespace dkm::cli

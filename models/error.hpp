#pragma once
// The one error type for bad input. Every reader throws it with the file, the place inside the file
// (a JSON path such as `layers[12].kernel`, a tensor name, a byte offset) and what was expected; the
// `dkm` command prints it as one line and exits with code 2.
#include <stdexcept>
#include <string>

namespace dkm {

class InputError : public std::runtime_error {
 public:
  InputError(std::string file, std::string where, std::string expected)
      : std::runtime_error(format(file, where, expected)),
        file_(std::move(file)), where_(std::move(where)), expected_(std::move(expected)) {}

  const std::string& file() const { return file_; }
  const std::string& where() const { return where_; }
  const std::string& expected() const { return expected_; }

 private:
  static std::string format(const std::string& file, const std::string& where, const std::string& expected) {
    std::string s = file.empty() ? std::string("<input>") : file;
    if (!where.empty()) s += ": " + where;
    return s + ": " + expected;
  }
  std::string file_, where_, expected_;
};

// Bad usage that is not tied to a file (an option value out of range, say). Also exit code 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace dkm

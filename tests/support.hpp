#pragma once
// Helpers shared by the suites: paths into the source tree and running the `dkm` binary.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace dkm::test {

// A test case that cannot run here calls skip(why) and returns: ctest then reports it as skipped, not
// passed (tests/doctest_main.cpp). Use it only before the case has checked anything.
inline constexpr int kSkipExitCode = 77;
void skip(const std::string& why);

inline std::string source_path(const std::string& rel) { return std::string(DKM_SOURCE_DIR) + "/" + rel; }

// How many times `needle` starts in `haystack` (overlapping matches counted).
inline size_t count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string::npos; pos = haystack.find(needle, pos + 1)) ++n;
  return n;
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A fresh empty directory under the system temp dir, removed at scope exit.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "dkm-test-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

struct RunResult {
  int exit_code = -1;
  std::string out;  // standard output
  std::string err;  // standard error
};

// Runs `dkm <args>` through the shell (args are passed verbatim) and captures both streams.
inline RunResult run_dkm(const std::string& args) {
  TempDir dir;
  std::string cmd = std::string("'") + DKM_BINARY + "' " + args + " >'" + (dir / "out") + "' 2>'" +
                    (dir / "err") + "' </dev/null";
  int status = std::system(cmd.c_str());
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(dir / "out");
  r.err = slurp(dir / "err");
  return r;
}

}  // namespace dkm::test

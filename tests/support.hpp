#pragma once
// Helpers shared by the suites: paths into the source tree and running the `dkm` binary.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "models/error.hpp"

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

// For a test that cannot run here: under ctest (tests/CMakeLists.txt sets DKM_CTEST and runs each
// TEST_CASE in its own process) it prints why and exits with 77, which ctest reports as skipped; run
// directly it returns so the caller can print why with MESSAGE and return.
inline void skip_under_ctest(const std::string& why) {
  if (!std::getenv("DKM_CTEST")) return;
  std::printf("skipped: %s\n", why.c_str());
  std::fflush(stdout);
  std::_Exit(77);
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The message of the dkm::InputError thrown by `f`, or "" when it throws none.
inline std::string input_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const dkm::InputError& e) {
    return e.what();
  }
  return "";
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

// Runs `dkm <args>` through the shell (args are passed verbatim) and captures both streams. With
// `timeout_s`, a run that takes longer is killed (exit code 137), so a test of a hang fails instead of hanging.
inline RunResult run_dkm(const std::string& args, int timeout_s = 0) {
  TempDir dir;
  std::string cmd = (timeout_s > 0 ? "timeout -s KILL " + std::to_string(timeout_s) + " '" : std::string("'")) +
                    DKM_BINARY + "' " + args + " >'" + (dir / "out") + "' 2>'" +
                    (dir / "err") + "' </dev/null";
  int status = std::system(cmd.c_str());
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(dir / "out");
  r.err = slurp(dir / "err");
  return r;
}

}  // namespace dkm::test

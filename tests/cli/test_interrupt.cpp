// Nothing lost: SIGINT or SIGTERM at any moment of `dkm compress` leaves an earlier output untouched and no
// partial or temporary file (models/atomic_file.cpp removes its in-flight temporary file on both signals).
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support.hpp"

namespace {

using dkm::test::slurp;
using dkm::test::TempDir;

std::vector<std::string> files_in(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// Starts `dkm compress` of a model big enough to take a while, writing into `dir`/out.safetensors.
pid_t start_compress(const TempDir& dir) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(null, 2);
    std::string out = dir / "out.safetensors";
    ::execl(DKM_BINARY, "dkm", "compress", "wrn-16-4", "--random-weights", "7", "--plan", "wrn-16-4-cr50", "-o",
            out.c_str(), "--json", (dir / "summary.json").c_str(), "--threads", "1", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

}  // namespace

TEST_CASE("interrupt: SIGINT or SIGTERM during dkm compress keeps the earlier output and leaves no temp file") {
  const std::string earlier = "earlier output, must survive";
  int interrupted = 0;
  for (int sig : {SIGINT, SIGTERM}) {
    for (int delay_ms : {50, 150, 400, 900}) {
      TempDir dir;
      std::ofstream(dir / "out.safetensors") << earlier;
      pid_t pid = start_compress(dir);
      REQUIRE(pid > 0);
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      ::kill(pid, sig);
      int status = 0;
      REQUIRE(::waitpid(pid, &status, 0) == pid);
      INFO("signal ", sig, " after ", delay_ms, " ms");
      if (WIFSIGNALED(status)) {
        ++interrupted;
        CHECK(WTERMSIG(status) == sig);
        CHECK(slurp(dir / "out.safetensors") == earlier);
        CHECK(files_in(dir.path) == std::vector<std::string>{"out.safetensors"});
      } else {
        // The run finished before the signal: then it must have completed normally and replaced the file.
        CHECK(WEXITSTATUS(status) == 0);
        CHECK(slurp(dir / "out.safetensors") != earlier);
        CHECK(files_in(dir.path) == std::vector<std::string>{"out.safetensors", "summary.json"});
      }
    }
  }
  CHECK(interrupted > 0);  // at least the early signals land while it computes
}

TEST_CASE("interrupt: a signal while dkm compress writes its output removes the temporary file") {
  // A FIFO planted where dkm puts its temporary file (<output>.tmp.<pid>): the test reads a little, so the
  // write blocks half done, then signals. Deterministic: the signal lands inside write_file_atomic.
  for (int sig : {SIGINT, SIGTERM}) {
    TempDir dir;
    const std::string target = dir / "out.safetensors";
    std::ofstream(target) << "earlier";
    int go[2];
    REQUIRE(::pipe(go) == 0);
    pid_t pid = ::fork();
    if (pid == 0) {
      char c;
      ::close(go[1]);
      if (::read(go[0], &c, 1) != 1) ::_exit(126);
      int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 1);
      ::dup2(null, 2);
      ::execl(DKM_BINARY, "dkm", "compress", "wrn-16-4", "--random-weights", "7", "--plan", "wrn-16-4-cr50", "-o",
              target.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    REQUIRE(pid > 0);
    ::close(go[0]);
    const std::string tmp = target + ".tmp." + std::to_string(pid);
    REQUIRE(::mkfifo(tmp.c_str(), 0600) == 0);
    REQUIRE(::write(go[1], "g", 1) == 1);
    ::close(go[1]);
    int fifo = ::open(tmp.c_str(), O_RDONLY);  // returns once dkm opens its temporary file
    REQUIRE(fifo >= 0);
    char buf[4096];
    REQUIRE(::read(fifo, buf, sizeof buf) > 0);  // dkm is inside its write (the container is ~700 kB)
    ::kill(pid, sig);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    ::close(fifo);
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == sig);
    CHECK(!std::filesystem::exists(tmp));
    CHECK(slurp(target) == "earlier");
    CHECK(files_in(dir.path) == std::vector<std::string>{"out.safetensors"});
  }
}

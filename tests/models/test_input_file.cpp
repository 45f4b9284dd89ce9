// models/input_file.hpp: only regular files are read, never more than the limit, and every filesystem
// failure is an InputError naming the path. Special files are made in a scratch folder (never a system file);
// a FIFO is opened in a child process that is killed after a while, so a regression fails instead of hanging.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "estimator/profile.hpp"
#include "kmeans/plan.hpp"
#include "models/error.hpp"
#include "models/input_file.hpp"
#include "models/model.hpp"
#include "models/tensor_io.hpp"
#include "tests/support.hpp"

using namespace dkm;
using dkm::test::TempDir;

using dkm::test::input_error;

namespace {

// Runs `f` in a child process and returns its InputError message ("" when it threw none); "timed out"
// when it did not finish within 20 s (it is killed then), "crashed" when it died otherwise.
std::string input_error_in_child(const std::function<void()>& f) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    const std::string message = input_error(f);
    (void)!::write(fds[1], message.data(), message.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  int status = 0;
  bool done = false;
  for (int i = 0; i < 2000 && !done; ++i) {
    done = ::waitpid(pid, &status, WNOHANG) == pid;
    if (!done) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!done) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    ::close(fds[0]);
    return "timed out";
  }
  std::string message;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) message.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? message : "crashed";
}

void write_text(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

}  // namespace

TEST_CASE("read_file: a regular file whole, the empty file too") {
  TempDir dir;
  write_text(dir / "a", std::string("ab\0cd", 5));
  write_text(dir / "empty", "");
  CHECK(read_file(dir / "a", 100) == std::string("ab\0cd", 5));
  CHECK(read_file(dir / "a", 5) == std::string("ab\0cd", 5));
  CHECK(read_file(dir / "empty", 0).empty());
  CHECK(input_error([&] { read_file(dir / "missing", 100); }) ==
        dir / "missing" + ": cannot open file for reading: No such file or directory");
}

TEST_CASE("read_file: over the limit is refused before reading, with the limit named") {
  TempDir dir;
  write_text(dir / "a", std::string(1001, 'x'));
  CHECK(input_error([&] { read_file(dir / "a", 1000); }) ==
        dir / "a" + ": expected a file of at most 1000 bytes, got 1001 bytes");
  // A sparse file one byte over the binary limit: refused from its size, nothing of it is read.
  std::filesystem::resize_file((std::ofstream(dir / "big.npy"), dir / "big.npy"), kMaxBinaryInputBytes + 1);
  CHECK(input_error([&] { read_npy(dir / "big.npy"); }) ==
        dir / "big.npy" + ": expected a file of at most 2 GiB (2147483647 bytes), got 2147483648 bytes");
  std::filesystem::resize_file((std::ofstream(dir / "big.json"), dir / "big.json"), kMaxTextInputBytes + 1);
  CHECK(input_error([&] { models::load_model(dir / "big.json"); }) ==
        dir / "big.json" + ": expected a file of at most 64 MiB (67108864 bytes), got 67108865 bytes");
}

TEST_CASE("read_file: a directory and a FIFO are refused by type, without waiting for a writer") {
  TempDir dir;
  std::filesystem::create_directory(dir / "d.json");
  CHECK(input_error([&] { read_file(dir / "d.json", 100); }) == dir / "d.json" + ": expected a regular file, got a directory");
  CHECK(input_error([&] { models::load_model(dir / "d.json"); }) ==
        dir / "d.json" + ": expected a regular file, got a directory");
  REQUIRE(::mkfifo((dir / "f.npz").c_str(), 0600) == 0);
  const std::string fifo = ": expected a regular file, got a FIFO (named pipe)";
  CHECK(input_error_in_child([&] { read_npz(dir / "f.npz"); }) == dir / "f.npz" + fifo);
  CHECK(input_error_in_child([&] { models::load_model(dir / "f.npz"); }) == dir / "f.npz" + fifo);
  CHECK(input_error_in_child([&] { kmeans::load_plan(dir / "f.npz"); }) == dir / "f.npz" + fifo);
  CHECK(input_error_in_child([&] { estimator::load_profile(dir / "f.npz"); }) == dir / "f.npz" + fifo);
  CHECK(input_error_in_child([&] { read_safetensors(dir / "f.npz"); }) == dir / "f.npz" + fifo);
}

TEST_CASE("path_kind: missing, regular, other; loops and long names are input errors naming the path") {
  TempDir dir;
  write_text(dir / "a", "x");
  CHECK(path_kind(dir / "a") == PathKind::regular);
  CHECK(path_kind(dir.path.string()) == PathKind::other);
  CHECK(path_kind(dir / "missing") == PathKind::missing);
  CHECK(path_kind(dir / "a/below") == PathKind::missing);  // a file is no directory: nothing there
  std::filesystem::create_symlink("loop2", dir.path / "loop1");
  std::filesystem::create_symlink("loop1", dir.path / "loop2");
  const std::string loop = dir / "loop1";
  CHECK(input_error([&] { path_kind(loop); }) == loop + ": cannot access: Too many levels of symbolic links");
  CHECK(input_error([&] { models::load_model(loop); }) == loop + ": cannot access: Too many levels of symbolic links");
  CHECK(input_error([&] { kmeans::load_plan(loop); }) == loop + ": cannot access: Too many levels of symbolic links");
  CHECK(input_error([&] { estimator::load_profile(loop); }) == loop + ": cannot access: Too many levels of symbolic links");
  const std::string long_name = dir / (std::string(300, 'n') + ".json");
  CHECK(input_error([&] { models::load_model(long_name); }) == long_name + ": cannot access: File name too long");
  CHECK(input_error([&] { read_npy(long_name); }) == long_name + ": cannot open file for reading: File name too long");
}

TEST_CASE("describe_limit: the unit a person would use, and the exact bytes") {
  CHECK(describe_limit(kMaxBinaryInputBytes) == "2 GiB (2147483647 bytes)");
  CHECK(describe_limit(kMaxTextInputBytes) == "64 MiB (67108864 bytes)");
  CHECK(describe_limit(1000) == "1000 bytes");
}

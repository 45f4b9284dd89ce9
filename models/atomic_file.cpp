#include "models/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>

#include "models/error.hpp"
#include "models/output_files.hpp"

namespace dkm {
namespace {

// The temporary files being written, so that SIGINT, SIGTERM or SIGPIPE (`| head` closed the pipe that a
// stream output goes to) can remove them before the process dies: an interrupted command leaves no
// partial file behind. Plain storage and atomic flags, as a handler may touch nothing else. A command
// stages at most a few outputs at once; a file that finds no free slot is simply not registered.
constexpr int kSlots = 8;
char g_in_flight[kSlots][4096];
std::atomic<bool> g_claimed[kSlots];     // a writer owns g_in_flight[i]
std::atomic<bool> g_registered[kSlots];  // g_in_flight[i] holds a complete path

void unlink_in_flight_and_reraise(int sig) {
  for (int i = 0; i < kSlots; ++i)
    if (g_registered[i].load()) ::unlink(g_in_flight[i]);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

// Registers `tmp` for the handler (when a slot is free and the name fits); returns the slot or -1.
int register_in_flight(const std::string& tmp) {
  static const bool installed = [] {
    struct sigaction sa {};
    sa.sa_handler = unlink_in_flight_and_reraise;
    sigemptyset(&sa.sa_mask);
    for (int sig : {SIGINT, SIGTERM, SIGPIPE}) {
      struct sigaction old {};
      // Leave signals that the process ignores (nohup) or handles itself alone.
      if (::sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_DFL) ::sigaction(sig, &sa, nullptr);
    }
    return true;
  }();
  (void)installed;
  if (tmp.size() >= sizeof g_in_flight[0]) return -1;
  for (int i = 0; i < kSlots; ++i) {
    if (g_claimed[i].exchange(true)) continue;
    std::memcpy(g_in_flight[i], tmp.c_str(), tmp.size() + 1);
    g_registered[i].store(true);
    return i;
  }
  return -1;
}

void unregister_in_flight(int slot) {
  if (slot < 0) return;
  g_registered[slot].store(false);
  g_claimed[slot].store(false);
}

}  // namespace

StagedFile::StagedFile(const std::string& path, const std::string& target, std::string_view bytes, unsigned mode,
                       int tail)
    : path_(path), target_(target), tmp_(target + ".tmp." + std::to_string(::getpid())) {
  slot_ = register_in_flight(tmp_);
  int fd = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    int err = errno;
    unregister_in_flight(slot_);
    done_ = true;
    throw InputError(path_, "", std::string("cannot create output: ") + std::strerror(err));
  }
  auto fail = [&](const char* what, int err) {
    ::close(fd);
    ::unlink(tmp_.c_str());
    unregister_in_flight(slot_);
    done_ = true;
    throw InputError(path_, "", std::string(what) + std::strerror(err));
  };
  // The permissions of the file being replaced (0644 for a new one, as the umask allows).
  if (mode != 0644 && ::fchmod(fd, static_cast<mode_t>(mode)) != 0) fail("cannot set the output's permissions: ", errno);
  try {
    write_all_from(fd, path_, bytes, tail);
  } catch (const InputError&) {
    ::close(fd);
    ::unlink(tmp_.c_str());
    unregister_in_flight(slot_);
    done_ = true;
    throw;
  }
  if (::fsync(fd) != 0) fail("cannot flush output: ", errno);
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp_.c_str());
    unregister_in_flight(slot_);
    done_ = true;
    throw InputError(path_, "", std::string("cannot flush output: ") + std::strerror(err));
  }
}

StagedFile::~StagedFile() {
  if (done_) return;
  ::unlink(tmp_.c_str());
  unregister_in_flight(slot_);
}

void StagedFile::commit() {
  if (done_) return;
  done_ = true;
  if (std::rename(tmp_.c_str(), target_.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp_.c_str());
    unregister_in_flight(slot_);
    throw InputError(path_, "", std::string("cannot rename output into place: ") + std::strerror(err));
  }
  unregister_in_flight(slot_);
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
  OutputFiles out;
  out.add("output", path);
  out.set("output", std::string(bytes));
  out.commit();
}

}  // namespace dkm

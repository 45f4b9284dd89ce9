#include "models/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>

#include "models/error.hpp"

namespace dkm {
namespace {

// The temporary file being written, so that SIGINT or SIGTERM can remove it before the process dies: an
// interrupted command leaves no partial file behind. Plain storage and an atomic flag, as a handler may
// touch nothing else. One write at a time is covered; a concurrent second one simply is not registered.
char g_in_flight[4096];
std::atomic<bool> g_claimed{false};     // a writer owns g_in_flight
std::atomic<bool> g_registered{false};  // g_in_flight holds a complete path

void unlink_in_flight_and_reraise(int sig) {
  if (g_registered.load()) ::unlink(g_in_flight);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

// Registers `tmp` for the handler while it lives (when the slot is free and the name fits).
struct InFlight {
  bool owned = false;
  explicit InFlight(const std::string& tmp) {
    static const bool installed = [] {
      struct sigaction sa {};
      sa.sa_handler = unlink_in_flight_and_reraise;
      sigemptyset(&sa.sa_mask);
      for (int sig : {SIGINT, SIGTERM}) {
        struct sigaction old {};
        // Leave signals that the process ignores (nohup) or handles itself alone.
        if (::sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_DFL) ::sigaction(sig, &sa, nullptr);
      }
      return true;
    }();
    (void)installed;
    if (tmp.size() >= sizeof g_in_flight) return;
    if (g_claimed.exchange(true)) return;
    std::memcpy(g_in_flight, tmp.c_str(), tmp.size() + 1);
    g_registered.store(true);
    owned = true;
  }
  ~InFlight() {
    if (!owned) return;
    g_registered.store(false);
    g_claimed.store(false);
  }
};

}  // namespace

void write_file_atomic(const std::string& path, std::string_view bytes) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  InFlight in_flight(tmp);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw InputError(path, "", std::string("cannot create output: ") + std::strerror(errno));
  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw InputError(path, "", std::string("cannot write output: ") + std::strerror(err));
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    throw InputError(path, "", std::string("cannot flush output: ") + std::strerror(errno));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw InputError(path, "", std::string("cannot rename output into place: ") + std::strerror(err));
  }
}

}  // namespace dkm

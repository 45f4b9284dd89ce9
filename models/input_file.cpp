#include "models/input_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "models/error.hpp"

namespace dkm {
namespace {

struct Fd {
  int fd;
  ~Fd() { ::close(fd); }
};

[[noreturn]] void too_large(const std::string& path, uint64_t limit, const std::string& found) {
  throw InputError(path, "", fmt::format("expected a file of at most {}, got {}", describe_limit(limit), found));
}

}  // namespace

std::string_view file_type_name(unsigned mode) {
  if (S_ISREG(mode)) return "a regular file";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISLNK(mode)) return "a symbolic link";
  return "a special file";
}

std::string describe_limit(uint64_t limit) {
  for (auto [shift, unit] : {std::pair{30, "GiB"}, {20, "MiB"}, {10, "KiB"}}) {
    const uint64_t one = uint64_t{1} << shift;
    if (limit + 1 >= one) return fmt::format("{} {} ({} bytes)", (limit + one / 2) / one, unit, limit);
  }
  return fmt::format("{} bytes", limit);
}

std::string read_file(const std::string& path, uint64_t limit) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused right after, by its type.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) throw InputError(path, "", std::string("cannot open file for reading: ") + std::strerror(errno));
  Fd guard{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw InputError(path, "", std::string("cannot read file: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    throw InputError(path, "", fmt::format("expected a regular file, got {}", file_type_name(st.st_mode)));
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size > limit) too_large(path, limit, fmt::format("{} bytes", size));
  std::string bytes(static_cast<size_t>(size), '\0');
  uint64_t done = 0;
  // The size from fstat, then on to the end in small reads: a file may grow while it is read (or report
  // 0 bytes, as /proc files do), but what is kept never passes the limit.
  char more[1 << 16];
  for (;;) {
    const bool sized = done < bytes.size();
    const ssize_t n = sized ? ::read(fd, bytes.data() + done, bytes.size() - done) : ::read(fd, more, sizeof more);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw InputError(path, fmt::format("byte {}", done), std::string("read error: ") + std::strerror(errno));
    }
    if (n == 0) break;
    if (!sized) {
      if (done + static_cast<uint64_t>(n) > limit) too_large(path, limit, "a file that grew past it while read");
      bytes.append(more, static_cast<size_t>(n));
    }
    done += static_cast<uint64_t>(n);
  }
  bytes.resize(static_cast<size_t>(done));
  return bytes;
}

PathKind path_kind(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return S_ISREG(st.st_mode) ? PathKind::regular : PathKind::other;
  if (errno == ENOENT || errno == ENOTDIR) return PathKind::missing;
  throw InputError(path, "", std::string("cannot access: ") + std::strerror(errno));
}

}  // namespace dkm

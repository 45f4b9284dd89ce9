#include "models/output_files.hpp"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>

#include <fmt/format.h>

#include "models/atomic_file.hpp"
#include "models/error.hpp"
#include "models/input_file.hpp"

namespace dkm {
namespace {

std::string errno_text() { return std::strerror(errno); }

std::string parent_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string name_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// `path` with every symbolic link in its last component followed (a dangling link gives the name it points
// at, which is then created): replacing that file keeps the link.
std::string follow_links(const std::string& path) {
  std::string p = path;
  for (int hops = 0;; ++hops) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) return p;  // a new file (check_directory says what is wrong)
      throw InputError(path, "", "cannot write output: " + errno_text());
    }
    if (!S_ISLNK(st.st_mode)) return p;
    // A link to a pipe, a terminal or a device (/dev/stdout, whose /proc/self/fd/1 reads "pipe:[...]") is
    // written through the link itself: opening it reaches the right file where reading the link does not.
    struct stat to {};
    if (::stat(p.c_str(), &to) == 0 && !S_ISREG(to.st_mode)) return p;
    if (hops == 40) throw InputError(path, "", "cannot write output: " + std::string(std::strerror(ELOOP)));
    std::string link(PATH_MAX, '\0');
    const ssize_t n = ::readlink(p.c_str(), link.data(), link.size());
    if (n < 0) throw InputError(path, "", "cannot write output: " + errno_text());
    link.resize(static_cast<size_t>(n));
    p = link.starts_with('/') ? link : parent_of(p) + "/" + link;
  }
}

// The directory the temporary file goes into: it must exist and take a new file.
void check_directory(const std::string& path, const std::string& target) {
  const std::string dir = parent_of(target);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0)
    throw InputError(path, "", fmt::format("cannot create output in the directory {}: {}", dir, errno_text()));
  if (!S_ISDIR(st.st_mode))
    throw InputError(path, "", fmt::format("cannot create output: {} is {}, not a directory", dir, file_type_name(st.st_mode)));
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    throw InputError(path, "", fmt::format("cannot create output in the directory {}: {}", dir, errno_text()));
}

// The canonical name of a file that may not exist yet: its directory resolved, its name as given.
std::string canonical_name(const std::string& target) {
  std::unique_ptr<char, decltype(&std::free)> dir(::realpath(parent_of(target).c_str(), nullptr), &std::free);
  return (dir ? std::string(dir.get()) : parent_of(target)) + "/" + name_of(target);
}

bool same_file(uint64_t dev_a, uint64_t ino_a, uint64_t dev_b, uint64_t ino_b) { return dev_a == dev_b && ino_a == ino_b; }

void write_all(int fd, const std::string& path, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw InputError(path, "", "cannot write output: " + errno_text());
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

// The whole of `from` (a spool, read from its start) written to `fd`.
void copy_all(int fd, const std::string& path, int from) {
  std::string buffer(size_t{1} << 20, '\0');
  for (uint64_t offset = 0;;) {
    const ssize_t n = ::pread(from, buffer.data(), buffer.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw InputError(path, "", "cannot read back the output's temporary file: " + errno_text());
    if (n == 0) return;
    write_all(fd, path, std::string_view(buffer.data(), static_cast<size_t>(n)));
    offset += static_cast<uint64_t>(n);
  }
}

// An unnamed file in `dir`, gone when closed; the filesystem's refusal of O_TMPFILE falls back to a
// named one removed at once.
int unnamed_file(const std::string& path, const std::string& dir) {
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
  std::string name = dir + "/.dkm-spool-XXXXXX";
  fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0) throw InputError(path, "", fmt::format("cannot create a temporary file in {}: {}", dir, errno_text()));
  ::unlink(name.c_str());
  return fd;
}

}  // namespace

void write_all_from(int fd, const std::string& path, std::string_view head, int tail) {
  write_all(fd, path, head);
  if (tail >= 0) copy_all(fd, path, tail);
}

OutputFiles::~OutputFiles() {
  for (const auto& o : outputs_)
    if (o.spool >= 0) ::close(o.spool);
}

int OutputFiles::spool(const std::string& option) {
  Output* o = find(option);
  if (!o) throw std::logic_error("OutputFiles: " + option + " spooled but never added");
  if (o->path.empty()) return -1;
  if (o->spool < 0) {
    const char* tmpdir = std::getenv("TMPDIR");
    const std::string dir = o->kind == Kind::replace ? parent_of(o->target) : tmpdir && *tmpdir ? tmpdir : "/tmp";
    o->spool = unnamed_file(o->path, dir);
  }
  return o->spool;
}

void OutputFiles::set_spooled(const std::string& option, std::string head) {
  Output* o = find(option);
  if (!o || (!o->path.empty() && o->spool < 0)) throw std::logic_error("OutputFiles: " + option + " set_spooled without spool");
  o->bytes = std::move(head);
  o->is_set = true;
}

OutputFiles::OutputFiles(const std::vector<std::string>& inputs) {
  for (const auto& path : inputs) {
    struct stat st {};
    // What cannot be stat'ed is no file dkm will read (a zoo name) or fails in its reader with a clear error.
    if (path.empty() || ::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    inputs_.push_back({path, static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)});
  }
}

OutputFiles::Output* OutputFiles::find(const std::string& option) {
  for (auto& o : outputs_)
    if (o.option == option) return &o;
  return nullptr;
}

void OutputFiles::add(const std::string& option, const std::string& path) {
  if (find(option)) throw std::logic_error("OutputFiles: " + option + " added twice");
  Output o;
  o.option = option;
  o.path = path;
  if (path.empty()) {
    outputs_.push_back(std::move(o));
    return;
  }
  if (path == "-") {
    o.kind = Kind::standard_output;
  } else {
    o.target = follow_links(path);
    struct stat st {};
    if (::stat(o.target.c_str(), &st) == 0) {
      o.exists = true;
      o.device = static_cast<uint64_t>(st.st_dev);
      o.inode = static_cast<uint64_t>(st.st_ino);
      o.mode = static_cast<unsigned>(st.st_mode & 07777);
      if (S_ISDIR(st.st_mode) || S_ISSOCK(st.st_mode))
        throw InputError(path, "", fmt::format("cannot write output to {}", file_type_name(st.st_mode)));
      // The file standard output is open on (`--json /dev/stdout`, or its own name under `> file`) is `-`.
      struct stat out {};
      const bool is_stdout = ::fstat(STDOUT_FILENO, &out) == 0 && out.st_dev == st.st_dev && out.st_ino == st.st_ino;
      if (is_stdout) {
        o.kind = Kind::standard_output;
      } else if (!S_ISREG(st.st_mode)) {  // a FIFO, a terminal or a device: written in place
        o.kind = Kind::stream;
        if (::access(o.target.c_str(), W_OK) != 0) throw InputError(path, "", "cannot write output: " + errno_text());
      } else {
        check_directory(path, o.target);
      }
    } else if (errno == ENOENT || errno == ENOTDIR) {
      check_directory(path, o.target);
    } else {
      throw InputError(path, "", "cannot write output: " + errno_text());
    }
  }
  if (o.kind == Kind::replace && o.exists)
    for (const auto& in : inputs_)
      if (same_file(in.device, in.inode, o.device, o.inode))
        throw UsageError(fmt::format("{} {}: the same file as the input {}; refusing to overwrite an input (give "
                                     "another output path)",
                                     option, path, in.path));
  for (const auto& other : outputs_) {
    if (other.path.empty()) continue;
    bool clash = false;
    if (o.kind == Kind::standard_output || other.kind == Kind::standard_output)
      clash = o.kind == other.kind;
    else if (o.kind == Kind::replace && other.kind == Kind::replace)
      clash = o.exists && other.exists ? same_file(o.device, o.inode, other.device, other.inode)
                                       : canonical_name(o.target) == canonical_name(other.target);
    if (clash)
      throw UsageError(fmt::format("{} {} and {} {}: the same file; give each output its own path", other.option,
                                   other.path, option, path));
  }
  outputs_.push_back(std::move(o));
}

void OutputFiles::set(const std::string& option, std::string bytes) {
  Output* o = find(option);
  if (!o) throw std::logic_error("OutputFiles: " + option + " set but never added");
  o->bytes = std::move(bytes);
  o->is_set = true;
}

void OutputFiles::commit() {
  for (const auto& o : outputs_)
    if (!o.path.empty() && !o.is_set) throw std::logic_error("OutputFiles: " + o.option + " given but never set");
  // Regular files first, to temporaries: a failure here (a full disk) leaves every output as it was.
  std::vector<std::unique_ptr<StagedFile>> staged;
  for (const auto& o : outputs_)
    if (!o.path.empty() && o.kind == Kind::replace)
      staged.push_back(std::make_unique<StagedFile>(o.path, o.target, o.bytes, o.exists ? o.mode : 0644u, o.spool));
  // Then the streams, which cannot be taken back; a failure still replaces no file.
  for (const auto& o : outputs_) {
    if (o.path.empty() || o.kind == Kind::replace) continue;
    if (o.kind == Kind::standard_output) {
      std::fflush(stdout);
      write_all_from(STDOUT_FILENO, o.path, o.bytes, o.spool);
      // Standard output carries the data alone: what the command prints from here on goes to standard error.
      std::fflush(stdout);
      ::dup2(STDERR_FILENO, STDOUT_FILENO);
      continue;
    }
    const int fd = ::open(o.target.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) throw InputError(o.path, "", "cannot write output: " + errno_text());
    try {
      write_all_from(fd, o.path, o.bytes, o.spool);
    } catch (...) {
      ::close(fd);
      throw;
    }
    if (::close(fd) != 0) throw InputError(o.path, "", "cannot write output: " + errno_text());
  }
  for (auto& s : staged) s->commit();
}

}  // namespace dkm

#pragma once
// Outputs are written whole or not at all: to a temporary file beside the target, flushed, then renamed
// over it. An interrupted write leaves any earlier file untouched. Commands go through
// models/output_files.hpp, which decides what is replaced this way and stages all outputs together.
#include <string>
#include <string_view>

namespace dkm {

// One output, with every rule of OutputFiles (a symlink's target is replaced, a FIFO or device written
// through, `-` is standard output). Throws dkm::InputError (naming the path) when it cannot be written.
void write_file_atomic(const std::string& path, std::string_view bytes);

// `head`, then the whole of the file `tail` (from its start; none when -1), to `fd`. Throws dkm::InputError
// naming `path`.
void write_all_from(int fd, const std::string& path, std::string_view head, int tail);

// `bytes` in a temporary file beside `target` (`<target>.tmp.<pid>`), written and flushed on construction;
// `commit` renames it over `target`; destroyed uncommitted, it is removed. While it exists its path is
// registered for SIGINT, SIGTERM and SIGPIPE, whose handler removes it before the process dies. `path` is the
// name errors give (the one the user wrote); `mode` the permissions of the new file.
class StagedFile {
 public:
  // `tail` >= 0: the whole of that file (an OutputFiles spool) follows `bytes`.
  StagedFile(const std::string& path, const std::string& target, std::string_view bytes, unsigned mode, int tail = -1);
  ~StagedFile();
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;
  void commit();

 private:
  std::string path_, target_, tmp_;
  int slot_ = -1;
  bool done_ = false;
};

}  // namespace dkm

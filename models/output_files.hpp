#pragma once
// The files one command writes, checked before the work and written together after it. Nothing a
// command was asked to write replaces anything until every output is ready:
// - `add` checks an output at once (so a bad path fails before minutes of k-means): its directory exists
//   and is writable, it is no directory, it is not one of the command's inputs (same device and inode, so
//   a hard link or a symlink to an input counts) and not another output of the same command;
// - `commit` writes every regular file to a temporary beside it, flushes them all, then writes the
//   streams, then renames the temporaries into place: when any of them fails, nothing is replaced.
// What a path names decides how it is written:
// - a regular file or a new name: replaced atomically (models/atomic_file.hpp), keeping its permissions;
// - a symbolic link: the file it points to is replaced and the link kept;
// - a FIFO, a terminal, /dev/null or another device: written through, never replaced;
// - `-`, and any path naming the file standard output is open on (/dev/stdout): standard output. It then
//   carries the data alone: once it is written, the process's standard output is pointed at standard
//   error, so the summary a command prints afterwards cannot mix into `--json - | jq`.
#include <cstdint>
#include <string>
#include <vector>

namespace dkm {

class OutputFiles {
 public:
  // `inputs`: every path the command reads; a name that is no file (a zoo model, a shipped plan) is skipped.
  explicit OutputFiles(const std::vector<std::string>& inputs = {});

  // Registers the output of `option` ("-o", "--json"); an empty path means the option was not given.
  // Throws dkm::InputError (the path: what is wrong) or dkm::UsageError (a clash with an input or output).
  void add(const std::string& option, const std::string& path);
  // The bytes of an output that was added; ignored for an option that was added with an empty path.
  void set(const std::string& option, std::string bytes);
  // An output too large to hold in memory (a compressed 1e9-weight model): the command appends its bytes
  // to the returned file descriptor as the work goes on, then gives the few bytes that precede them
  // (`head`, a header known only at the end) with set_spooled. The spool is an unnamed temporary file
  // (O_TMPFILE) beside the output, or in $TMPDIR (else /tmp) for a stream or standard output: nothing
  // is replaced before commit, and a process that dies leaves no file behind. -1 for an option added
  // with an empty path.
  int spool(const std::string& option);
  void set_spooled(const std::string& option, std::string head);
  // Writes every output that was given (each must have been set).
  void commit();
  ~OutputFiles();
  OutputFiles(const OutputFiles&) = delete;
  OutputFiles& operator=(const OutputFiles&) = delete;

 private:
  enum class Kind { replace, stream, standard_output };
  struct Output {
    std::string option, path;
    std::string target;  // `path` with symbolic links followed
    Kind kind = Kind::replace;
    bool exists = false, is_set = false;
    uint64_t device = 0, inode = 0;
    unsigned mode = 0644;
    std::string bytes;
    int spool = -1;  // the rest of the output, after `bytes` (spool)
  };
  struct Input {
    std::string path;
    uint64_t device = 0, inode = 0;
  };
  Output* find(const std::string& option);

  std::vector<Output> outputs_;
  std::vector<Input> inputs_;
};

}  // namespace dkm

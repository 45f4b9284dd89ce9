#pragma once
// Every file dkm reads goes through here: only regular files (a FIFO, /dev/zero or a directory is refused
// before a byte is read, so nothing waits for a writer or reads forever), and only up to a size limit that
// the error names, so an endless or huge file ends as one clear error, never as bad_alloc.
#include <cstdint>
#include <string>
#include <string_view>

namespace dkm {

// JSON texts (model specs, plans, hardware profiles, result files): the largest zoo spec is under 100 kB.
inline constexpr uint64_t kMaxTextInputBytes = uint64_t{64} << 20;
// Binary inputs (ONNX, .npy, .npz and what it inflates to, safetensors, containers): protobuf's 2 GiB
// limit for an ONNX file, kept for every format so that all of them hold the same models.
inline constexpr uint64_t kMaxBinaryInputBytes = (uint64_t{1} << 31) - 1;

// Reads the whole regular file at `path`, refusing more than `limit_bytes`. Throws dkm::InputError naming
// the path: cannot be opened (with the system's reason), not a regular file (says what it is), too large
// (names the limit).
std::string read_file(const std::string& path, uint64_t limit_bytes);

// What a path names, for "a file or a built-in name" arguments. `missing` when nothing exists there; any
// other failure (a symlink loop, a name over 255 bytes, a directory that cannot be searched) throws
// dkm::InputError naming the path rather than guessing.
enum class PathKind { missing, regular, other };
PathKind path_kind(const std::string& path);

// "a FIFO (named pipe)", "a directory", ... for the file type bits of a stat mode.
std::string_view file_type_name(unsigned mode);

// The limit in words for error messages: "2 GiB (2147483647 bytes)".
std::string describe_limit(uint64_t limit_bytes);

}  // namespace dkm

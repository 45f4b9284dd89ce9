#pragma once
// Outputs are written whole or not at all: to a temporary file beside the target, flushed, then renamed
// over it. An interrupted write leaves any earlier file untouched.
#include <string>
#include <string_view>

namespace dkm {

// Throws dkm::InputError (naming the path) when the file cannot be written.
void write_file_atomic(const std::string& path, std::string_view bytes);

}  // namespace dkm

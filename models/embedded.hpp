#pragma once
// Files compiled into the binary by dkm_embed() (top-level CMakeLists.txt): the zoo, the plans and the
// hardware profiles, so that `dkm info resnet50` works from any directory.
#include <span>
#include <string_view>

namespace dkm {

struct EmbeddedFile {
  std::string_view name;  // base name, e.g. "resnet50.json"
  std::string_view text;
};

// The file called `name` or `name + ".json"`, or nullptr.
inline const EmbeddedFile* find_embedded(std::span<const EmbeddedFile> files, std::string_view name) {
  for (const auto& f : files) {
    if (f.name == name) return &f;
    if (f.name.size() == name.size() + 5 && f.name.starts_with(name) && f.name.ends_with(".json")) return &f;
  }
  return nullptr;
}

}  // namespace dkm

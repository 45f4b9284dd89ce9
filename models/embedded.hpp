#pragma once
// Files compiled into the binary by dkm_embed() (top-level CMakeLists.txt): the zoo, the plans and the
// hardware profiles, so that `dkm info resnet50` works from any directory.
#include <span>
#include <string>
#include <string_view>

namespace dkm {

struct EmbeddedFile {
  std::string_view name;  // base name, e.g. "resnet50.json"
  std::string_view text;
};

// The one rule for an argument that takes a shipped name or a path (models, plans, hardware profiles;
// docs/plan.md, "Names and paths"): a bare name - no '/' and no ".json" or ".onnx" ending - is the shipped
// file of that name when there is one, whatever the working directory holds; anything else is a path.
// `./NAME` reads a file that shares a shipped name; a bare name that nothing ships is read as a path.
inline bool is_bare_name(std::string_view arg) {
  return !arg.empty() && arg.find('/') == std::string_view::npos && !arg.ends_with(".json") && !arg.ends_with(".onnx");
}

// The shipped file `arg` names by that rule (EmbeddedFile::name is "NAME.json"), or nullptr.
inline const EmbeddedFile* shipped_file(std::span<const EmbeddedFile> files, std::string_view arg) {
  if (!is_bare_name(arg)) return nullptr;
  for (const auto& f : files)
    if (f.name.size() == arg.size() + 5 && f.name.starts_with(arg) && f.name.ends_with(".json")) return &f;
  return nullptr;
}

// "a, b, c": the shipped names, for messages.
inline std::string shipped_names(std::span<const EmbeddedFile> files) {
  std::string names;
  for (const auto& f : files) {
    if (!names.empty()) names += ", ";
    names += f.name.substr(0, f.name.size() - 5);
  }
  return names;
}

}  // namespace dkm

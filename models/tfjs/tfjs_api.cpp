// The public TF.js entry points (models/tfjs.hpp): model.json and its shards from files, then through the
// JSON spec so that an import and `dkm import -o spec.json` followed by loading the spec are one model.
#include <fmt/core.h>
#include <fmt/ranges.h>

#include <sys/stat.h>

#include <filesystem>

#include "models/error.hpp"
#include "models/tfjs.hpp"
#include "models/tfjs/tfjs_converter.hpp"

namespace dkm::models {

std::optional<std::string> tfjs_model_json(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::path(path).filename() == "model.json") return path;
  if (fs::is_directory(path, ec) && fs::exists(fs::path(path) / "model.json", ec))
    return (fs::path(path) / "model.json").string();
  return std::nullopt;
}

Model load_tfjs(const std::string& path, const TfjsOptions& options) {
  namespace fs = std::filesystem;
  const std::string file = tfjs_model_json(path).value_or(path);
  const std::string text = read_file(file, tfjs::kMaxModelJsonBytes);
  const Json doc = parse_json(text, file, "a TF.js model.json");
  const fs::path folder = fs::path(file).parent_path();
  // Shards are read only when a layer asks for a weight, after the whole manifest has been checked; each
  // group's shard sizes are compared with what its weights need before a byte is read.
  auto read_group = [&](const tfjs::ManifestGroup& group) {
    std::vector<std::string> shard_paths;
    uint64_t on_disk = 0;
    for (size_t i = 0; i < group.paths.size(); ++i) {
      const fs::path rel(group.paths[i]);
      std::string where = fmt::format("{}.paths[{}]", group.where, i);
      bool escapes = rel.empty() || rel.is_absolute();
      for (const auto& part : rel) escapes = escapes || part == "..";
      if (escapes)
        throw InputError(file, where,
                         fmt::format("expected a shard path inside model.json's folder, got \"{}\"", group.paths[i]));
      std::string shard = (folder / rel).string();
      struct stat st {};
      if (::stat(shard.c_str(), &st) != 0)
        throw InputError(file, where, fmt::format("expected the weight shard \"{}\" beside model.json, but it is missing",
                                                  group.paths[i]));
      if (!S_ISREG(st.st_mode))
        throw InputError(file, where, fmt::format("expected the weight shard \"{}\" as a regular file, got {}",
                                                  group.paths[i], file_type_name(st.st_mode)));
      on_disk += static_cast<uint64_t>(st.st_size);
      if (on_disk > tfjs::kMaxWeightBytes)
        throw InputError(file, where, fmt::format("expected shards of at most {} in all", describe_limit(tfjs::kMaxWeightBytes)));
      shard_paths.push_back(shard);
    }
    if (on_disk != group.bytes)
      throw InputError(file, group.where,
                       fmt::format("expected shards of {} bytes in all (what the group's weights need), got {} in {}",
                                   group.bytes, on_disk, fmt::join(group.paths, ", ")));
    std::string bytes;
    bytes.reserve(group.bytes);
    for (const auto& shard : shard_paths) bytes += read_file(shard, group.bytes);
    if (bytes.size() != group.bytes)  // a shard changed size while being read
      throw InputError(file, group.where, fmt::format("expected shards of {} bytes in all, read {}", group.bytes, bytes.size()));
    return bytes;
  };
  Model imported = tfjs::convert_layers_model(doc, file, read_group, {options.input_shape});
  std::string spec;
  try {
    spec = to_json_spec(imported);
  } catch (const nlohmann::json::type_error& e) {  // invalid UTF-8 in a layer name
    std::string reason = e.what();
    throw InputError(file, "", "expected layer names in UTF-8, got " + reason.substr(reason.find("] ") + 2));
  }
  Model model = parse_model(spec, file);
  model.weights = std::move(imported.weights);
  return model;
}

namespace tfjs {

Model convert_layers_model(const Json& doc, const std::string& source, const GroupReader& read_group,
                           const TfjsInput& options) {
  return Converter(doc, source, read_group, options).run();
}

}  // namespace tfjs

}  // namespace dkm::models

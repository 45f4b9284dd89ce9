// Safetensors read tensor by tensor: the header is read and checked once (parse_safetensors_header), each
// tensor's byte range is then read with pread. A sharded model's index maps every tensor to its shard;
// all shard headers are read when the model is opened, so a missing shard or tensor fails before k-means.
#include "models/weight_source.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "models/error.hpp"
#include "models/input_file.hpp"
#include "models/json_reader.hpp"
#include "models/tensor_io.hpp"

namespace dkm {
namespace {

[[noreturn]] void system_error(const std::string& path, const std::string& where, const std::string& what) {
  throw InputError(path, where, what + ": " + std::strerror(errno));
}

// pread until `size` bytes are in, or the error names the byte offset.
void read_at(int fd, const std::string& path, char* out, uint64_t size, uint64_t offset, const std::string& where) {
  uint64_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, out + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) system_error(path, fmt::format("{}, byte {}", where, offset + done), "read error");
    if (n == 0)
      throw InputError(path, fmt::format("{}, byte {}", where, offset + done),
                       fmt::format("expected {} more bytes, got the end of the file (was it changed while read?)",
                                   size - done));
    done += static_cast<uint64_t>(n);
  }
}

// One safetensors file, open for the whole run; its size is checked again before each read.
class SafetensorsFile {
 public:
  explicit SafetensorsFile(std::string path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd_ < 0) system_error(path_, "", "cannot open file for reading");
    struct stat st {};
    if (::fstat(fd_, &st) != 0) system_error(path_, "", "cannot read file");
    if (!S_ISREG(st.st_mode))
      throw InputError(path_, "", fmt::format("expected a regular file, got {}", file_type_name(st.st_mode)));
    size_ = static_cast<uint64_t>(st.st_size);
    std::string head(8, '\0');
    if (size_ >= 8) read_at(fd_, path_, head.data(), 8, 0, "header length");
    const uint64_t header_len = safetensors_header_length(head, size_, path_);
    // The header is JSON text: the text inputs' limit bounds what is held for it.
    if (header_len > kMaxTextInputBytes)
      throw InputError(path_, "byte 0", fmt::format("expected a header of at most {}, got {} bytes",
                                                    describe_limit(kMaxTextInputBytes), header_len));
    head.resize(8 + header_len);
    read_at(fd_, path_, head.data() + 8, header_len, 8, "header");
    index_ = parse_safetensors_header(head, size_, path_);
  }
  ~SafetensorsFile() { ::close(fd_); }
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const SafetensorsIndex& index() const { return index_; }
  const std::string& path() const { return path_; }

  Tensor load(const std::string& name) const {
    const SafetensorsEntry& e = index_.tensors.at(name);
    const std::string where = fmt::format("tensor '{}'", name);
    struct stat st {};
    if (::fstat(fd_, &st) != 0) system_error(path_, where, "cannot read file");
    if (static_cast<uint64_t>(st.st_size) != size_)
      throw InputError(path_, where, fmt::format("expected the file of {} bytes it was when opened, got {} bytes "
                                                 "(it changed while dkm read it)", size_, st.st_size));
    if (e.end - e.begin > kMaxBinaryInputBytes)
      throw InputError(path_, where, fmt::format("expected a tensor of at most {} (dkm holds one tensor at a "
                                                 "time), got {} bytes", describe_limit(kMaxBinaryInputBytes),
                                                 e.end - e.begin));
    Array a;
    a.dtype = e.dtype;
    a.shape = e.shape;
    a.bytes.resize(static_cast<size_t>(e.end - e.begin));
    read_at(fd_, path_, a.bytes.data(), a.bytes.size(), e.begin, where);
    return a.to_tensor(path_, name);
  }

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
  SafetensorsIndex index_;
};

// One file or the shards of an index: tensor name -> the file holding it.
class SafetensorsSource final : public WeightSource {
 public:
  explicit SafetensorsSource(const std::string& path) {
    if (!path.ends_with(".index.json")) {
      files_.push_back(std::make_unique<SafetensorsFile>(path));
      for (const auto& entry : files_.back()->index().tensors) where_[entry.first] = files_.back().get();
      return;
    }
    // Hugging Face's index: {"metadata": {...}, "weight_map": {"tensor": "shard file name", ...}}; shard
    // names are relative to the index's directory. Every tensor of every shard must be in the map, in
    // the shard the map names, and every mapped tensor in its shard.
    const Json doc = parse_json(read_file(path, kMaxTextInputBytes), path, "a safetensors index");
    JsonReader r(path);
    r.object(doc, "", "a safetensors index object");
    r.check_keys(doc, "", {"metadata", "weight_map"}, "a safetensors index");
    const Json& map = r.field(doc, "", "weight_map");
    r.object(map, "weight_map", "an object mapping tensor names to shard files");
    if (map.empty()) r.fail("weight_map", "expected at least one tensor, got an empty map");
    const std::filesystem::path dir = std::filesystem::path(path).parent_path();
    std::map<std::string, SafetensorsFile*> shards;
    for (const auto& [name, value] : map.items()) {
      const std::string at = JsonReader::join("weight_map", name);
      const std::string shard = r.string(value, at, "a shard file name");
      if (shard.empty() || shard.find('/') != std::string::npos || !shard.ends_with(".safetensors"))
        r.fail(at, fmt::format("expected a .safetensors file name in the index's directory, got \"{}\"", shard));
      SafetensorsFile*& file = shards[shard];
      if (!file) {
        files_.push_back(std::make_unique<SafetensorsFile>((dir / shard).string()));
        file = files_.back().get();
      }
      if (!file->index().tensors.contains(name))
        r.fail(at, fmt::format("expected a tensor that {} holds, got \"{}\" (not in that shard)", file->path(), name));
      where_[name] = file;
    }
    for (const auto& file : files_)
      for (const auto& entry : file->index().tensors) {
        auto it = where_.find(entry.first);
        if (it == where_.end())
          throw InputError(file->path(), fmt::format("tensor '{}'", entry.first),
                           fmt::format("expected every tensor of the shard in {}'s weight_map, got one more", path));
        if (it->second != file.get())
          throw InputError(file->path(), fmt::format("tensor '{}'", entry.first),
                           fmt::format("expected each tensor in one shard, got it also in {} ({} maps it there)",
                                       it->second->path(), path));
      }
  }

  std::optional<std::vector<int64_t>> shape(const std::string& name) const override {
    auto it = where_.find(name);
    if (it == where_.end()) return std::nullopt;
    return it->second->index().tensors.at(name).shape;
  }
  Tensor load(const std::string& name) const override {
    auto it = where_.find(name);
    if (it == where_.end()) throw InputError(source(name), fmt::format("tensor '{}'", name), "expected the tensor, got none");
    return it->second->load(name);
  }
  std::string source(const std::string& name) const override {
    auto it = where_.find(name);
    return it == where_.end() ? files_.front()->path() : it->second->path();
  }
  std::vector<std::string> files() const override {
    std::vector<std::string> paths;
    for (const auto& f : files_) paths.push_back(f->path());
    return paths;
  }

 private:
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, SafetensorsFile*> where_;
};

class MemorySource final : public WeightSource {
 public:
  MemorySource(const Weights& weights, std::string source) : weights_(weights), source_(std::move(source)) {}
  std::optional<std::vector<int64_t>> shape(const std::string& name) const override {
    auto it = weights_.find(name);
    if (it == weights_.end()) return std::nullopt;
    return it->second.shape;
  }
  Tensor load(const std::string& name) const override {
    auto it = weights_.find(name);
    if (it == weights_.end()) throw InputError(source_, fmt::format("tensor '{}'", name), "expected the tensor, got none");
    return it->second;
  }
  std::string source(const std::string&) const override { return source_; }
  std::vector<std::string> files() const override { return {source_}; }

 private:
  const Weights& weights_;
  std::string source_;
};

// A file read whole (.npz, .npy) and the source over it.
class LoadedSource final : public WeightSource {
 public:
  explicit LoadedSource(const std::string& path) : weights_(load_weights(path)), memory_(weights_, path) {}
  std::optional<std::vector<int64_t>> shape(const std::string& name) const override { return memory_.shape(name); }
  Tensor load(const std::string& name) const override { return memory_.load(name); }
  std::string source(const std::string& name) const override { return memory_.source(name); }
  std::vector<std::string> files() const override { return memory_.files(); }

 private:
  Weights weights_;
  MemorySource memory_;
};

}  // namespace

std::unique_ptr<WeightSource> open_weights(const std::string& path) {
  if (path.ends_with(".safetensors") || path.ends_with(".safetensors.index.json"))
    return std::make_unique<SafetensorsSource>(path);
  return std::make_unique<LoadedSource>(path);
}

std::unique_ptr<WeightSource> weights_in_memory(const Weights& weights, std::string source) {
  return std::make_unique<MemorySource>(weights, std::move(source));
}

}  // namespace dkm

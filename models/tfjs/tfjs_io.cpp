// Strict JSON and bounded reads for the TF.js import.
#include <fmt/core.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <set>

#include "models/error.hpp"
#include "models/tfjs/tfjs_internal.hpp"

namespace dkm::models::tfjs {

namespace {

// JSON allows a key twice in one object and keeps the last; in a model file that hides a mistake.
Json::parser_callback_t duplicate_key_check(const std::string& source) {
  struct Frame {
    bool array = false;
    int64_t index = -1;
    std::string key;
    std::set<std::string> keys;
  };
  auto frames = std::make_shared<std::vector<Frame>>();
  return [source, frames](int, Json::parse_event_t event, Json& parsed) {
    auto& f = *frames;
    auto element = [&] {
      if (!f.empty() && f.back().array) ++f.back().index;
    };
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        element();
        f.push_back({event == Json::parse_event_t::array_start, -1, {}, {}});
        break;
      case Json::parse_event_t::object_end:
      case Json::parse_event_t::array_end:
        f.pop_back();
        break;
      case Json::parse_event_t::value:
        element();
        break;
      case Json::parse_event_t::key: {
        Frame& top = f.back();
        top.key = parsed.get<std::string>();
        if (!top.keys.insert(top.key).second) {
          std::string path;
          for (const Frame& fr : f)
            path += fr.array ? fmt::format("[{}]", fr.index) : (path.empty() ? "" : ".") + fr.key;
          throw InputError(source, path, "expected each key once in an object, got a duplicate key");
        }
        break;
      }
    }
    return true;
  };
}

}  // namespace

Json parse_json(std::string_view text, const std::string& source) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos)
    throw InputError(source, "", "expected a TF.js model.json, got an empty file");
  try {
    return Json::parse(text, duplicate_key_check(source));
  } catch (const Json::parse_error& e) {
    size_t offset = e.byte == 0 ? 0 : std::min<size_t>(e.byte - 1, text.size());
    size_t line = 1, column = 1;
    for (size_t i = 0; i < offset; ++i) {
      column = text[i] == '\n' ? 1 : column + 1;
      line += text[i] == '\n';
    }
    std::string what = e.what();  // "[json.exception.parse_error.101] parse error at line L, column C: WHAT"
    if (auto p = what.find(": "); p != std::string::npos) what = what.substr(p + 2);
    throw InputError(source, fmt::format("line {}, column {}", line, column), "expected valid JSON: " + what);
  } catch (const Json::out_of_range&) {  // a number beyond double range, such as 1e999
    throw InputError(source, "", "expected valid JSON with numbers a double can hold");
  }
}

std::string type_name(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::boolean: return "a boolean";
    case Json::value_t::string: return "a string";
    case Json::value_t::array: return "an array";
    case Json::value_t::object: return "an object";
    case Json::value_t::number_float: return "a non-integer number";
    default: return "a number";
  }
}

std::string shown(const Json& v) {
  std::string s = v.dump(-1, ' ', false, Json::error_handler_t::replace);
  return s.size() > 40 ? s.substr(0, 37) + "..." : s;
}

std::string read_regular_file(const std::string& path, uint64_t limit_bytes, const std::string& what) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) throw InputError(path, "", fmt::format("expected {}, but there is no such file", what));
  if (!fs::is_regular_file(st))
    throw InputError(path, "", fmt::format("expected {} as a regular file, got a directory or special file", what));
  uint64_t size = fs::file_size(path, ec);
  if (ec) throw InputError(path, "", fmt::format("expected {}, but its size cannot be read: {}", what, ec.message()));
  if (size > limit_bytes)
    throw InputError(path, "", fmt::format("expected {} of at most {} bytes, got {} bytes", what, limit_bytes, size));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, "", fmt::format("expected {} that can be opened for reading", what));
  std::string bytes(size, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  // A file that shrank while being read; one that grew is read to its size when checked.
  if (static_cast<uint64_t>(in.gcount()) != size)
    throw InputError(path, "", fmt::format("expected {} of {} bytes, read only {}", what, size, in.gcount()));
  return bytes;
}

}  // namespace dkm::models::tfjs

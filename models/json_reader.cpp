#include "models/json_reader.hpp"

#include <algorithm>
#include <memory>
#include <set>

#include <fmt/core.h>

#include "models/error.hpp"

namespace dkm {

namespace {

// Edits (insert, delete, substitute, swap two neighbours) from a to b: a swapped pair is one typo.
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

// `path` inside a document embedded at `at` ("__metadata__.layers" + "[0].k").
std::string prefixed(const std::string& at, const std::string& path) {
  if (at.empty()) return path;
  if (path.empty()) return at;
  return path.front() == '[' ? at + path : at + "." + path;
}

// JSON allows a key twice in one object and keeps the last; in a dkm input that is always a mistake.
Json::parser_callback_t duplicate_key_check(const JsonReader& reader, const std::string& at) {
  struct Frame {
    bool array = false;
    int64_t index = -1;
    std::string key;
    std::set<std::string> keys;
  };
  auto frames = std::make_shared<std::vector<Frame>>();
  return [&reader, at, frames](int, Json::parse_event_t event, Json& parsed) {
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
          reader.fail(prefixed(at, path), "expected each key once in an object, got a duplicate key");
        }
        break;
      }
    }
    return true;
  };
}

}  // namespace

Json parse_json(std::string_view text, const std::string& source, std::string_view what, const std::string& at) {
  const JsonReader reader(source);
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos)
    reader.fail(at, fmt::format("expected {}, got {}", what, at.empty() ? "an empty file" : "an empty string"));
  try {
    return Json::parse(text, duplicate_key_check(reader, at));
  } catch (const Json::parse_error& e) {
    const size_t offset = e.byte == 0 ? 0 : std::min<size_t>(e.byte - 1, text.size());
    size_t line = 1, column = 1;
    for (size_t i = 0; i < offset; ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    // nlohmann's message is "[json.exception.parse_error.101] parse error at line L, column C: WHAT".
    std::string why = e.what();
    if (auto p = why.find(": "); p != std::string::npos) why = why.substr(p + 2);
    const std::string where = (at.empty() ? "" : at + ", ") + fmt::format("line {}, column {}", line, column);
    if (why.ends_with("; expected end of input"))
      reader.fail(where, fmt::format("expected the end of the {} after the top-level JSON value, got trailing characters",
                                     at.empty() ? "file" : "text"));
    reader.fail(where, "expected valid JSON: " + why);
  } catch (const Json::out_of_range&) {  // a number beyond double range, such as 1e999
    reader.fail(at, "expected valid JSON with numbers a double can hold");
  }
}

std::string json_type_name(const Json& v) {
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

std::string json_shown(const Json& v) {
  std::string s = v.dump();
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return s;
}

std::string did_you_mean(std::string_view given, const std::vector<std::string_view>& candidates) {
  std::string_view best;
  size_t best_distance = 3;  // at most two edits away, the nearest (the first of equals) wins
  for (auto c : candidates)
    if (const size_t d = edit_distance(given, c); d < best_distance) best = c, best_distance = d;
  return best.empty() ? "" : fmt::format(" (did you mean \"{}\"?)", best);
}

void JsonReader::fail(const std::string& where, const std::string& message) const {
  throw InputError(source_, where, message);
}

void JsonReader::wrong(const Json& v, const std::string& where, std::string_view expected) const {
  fail(where, fmt::format("expected {}, got {} ({})", expected, json_type_name(v), json_shown(v)));
}

void JsonReader::object(const Json& v, const std::string& where, std::string_view what) const {
  if (!v.is_object()) wrong(v, where, what);
}

const Json& JsonReader::field(const Json& obj, const std::string& path, std::string_view key) const {
  auto it = obj.find(key);
  if (it == obj.end()) fail(path, fmt::format("expected the key \"{}\"", key));
  return *it;
}

void JsonReader::require(const Json& obj, const std::string& path, const std::vector<std::string_view>& keys) const {
  for (auto k : keys) field(obj, path, k);
}

void JsonReader::check_keys(const Json& obj, const std::string& path, const std::vector<std::string_view>& allowed,
                            std::string_view what) const {
  for (const auto& [key, value] : obj.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    std::string list;
    for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
    fail(join(path, key),
         fmt::format("unknown key for {}{}; expected one of: {}", what, did_you_mean(key, allowed), list));
  }
}

int64_t JsonReader::integer(const Json& v, const std::string& where, int64_t min, int64_t max,
                            std::string_view expected) const {
  if (!v.is_number_integer()) wrong(v, where, expected);
  if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(kJsonIntMax))
    fail(where, fmt::format("expected {}, got {} (larger than 64 bits allow)", expected, json_shown(v)));
  const int64_t x = v.get<int64_t>();
  if (x < min || x > max) fail(where, fmt::format("expected {}, got {}", expected, x));
  return x;
}

uint64_t JsonReader::unsigned_integer(const Json& v, const std::string& where, std::string_view expected) const {
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0)) wrong(v, where, expected);
  return v.get<uint64_t>();
}

double JsonReader::number(const Json& v, const std::string& where, double min, double max, std::string_view expected,
                          Ends ends) const {
  if (!v.is_number()) wrong(v, where, expected);
  const double x = v.get<double>();
  const bool low_ok = ends == Ends::open_min ? x > min : x >= min;
  const bool high_ok = ends == Ends::open_max ? x < max : x <= max;
  if (!low_ok || !high_ok) fail(where, fmt::format("expected {}, got {}", expected, json_shown(v)));
  return x;
}

std::string JsonReader::string(const Json& v, const std::string& where, std::string_view expected) const {
  if (!v.is_string()) wrong(v, where, expected);
  return v.get<std::string>();
}

bool JsonReader::boolean(const Json& v, const std::string& where) const {
  if (!v.is_boolean()) wrong(v, where, "true or false");
  return v.get<bool>();
}

std::string JsonReader::join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string JsonReader::index(const std::string& path, size_t i) { return fmt::format("{}[{}]", path, i); }

}  // namespace dkm

#pragma once
// The one way dkm reads a JSON document (model specs, plans, hardware profiles, the container's layer
// table), so that every reader has the same rules and the same messages:
//  - an empty file, a syntax error (with line and column), trailing characters, a number beyond double
//    range and a key given twice in one object are all errors;
//  - every error is a dkm::InputError naming the file, the JSON path (`layers[3].k`) and
//    "expected WHAT, got WHAT".
// Usage:
//   const Json doc = parse_json(text, path, "a compression plan");
//   JsonReader r(path);
//   r.check_keys(doc, "", {"format", "layers"}, "a plan");
//   int64_t k = r.integer(doc["k"], "k", 1, INT64_MAX, "a positive integer");
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace dkm {

using Json = nlohmann::ordered_json;  // keeps file order, so the first bad key in the file is reported

// Parses a whole document. `what` names it for the empty-file message ("a compression plan"). `at` is
// the JSON path of a document embedded in another one ("__metadata__.layers"); it prefixes every place.
Json parse_json(std::string_view text, const std::string& source, std::string_view what, const std::string& at = "");

// "a string", "an array", "a non-integer number", ... for "got ..." in messages.
std::string json_type_name(const Json& v);
// The value as JSON text, cut to 40 characters.
std::string json_shown(const Json& v);
// " (did you mean "NAME"?)" for the nearest candidate within two edits of `given` (a swap of two
// neighbours is one edit), or "".
std::string did_you_mean(std::string_view given, const std::vector<std::string_view>& candidates);

// Field readers that name the JSON path of anything missing, ill-typed or out of range.
class JsonReader {
 public:
  explicit JsonReader(std::string source) : source_(std::move(source)) {}
  const std::string& source() const { return source_; }

  // InputError(source, where, message); `message` is "expected ..., got ..." or "expected ...".
  [[noreturn]] void fail(const std::string& where, const std::string& message) const;
  // "expected EXPECTED, got TYPE (VALUE)".
  [[noreturn]] void wrong(const Json& v, const std::string& where, std::string_view expected) const;

  // `v` must be an object; `what` names it ("a layer object").
  void object(const Json& v, const std::string& where, std::string_view what) const;
  // The value of a required key of the object `obj` at `path`.
  const Json& field(const Json& obj, const std::string& path, std::string_view key) const;
  void require(const Json& obj, const std::string& path, const std::vector<std::string_view>& keys) const;
  // Rejects keys outside `allowed`, suggesting the nearest allowed key; `what` names the object.
  void check_keys(const Json& obj, const std::string& path, const std::vector<std::string_view>& allowed,
                  std::string_view what) const;

  int64_t integer(const Json& v, const std::string& where, int64_t min, int64_t max, std::string_view expected) const;
  uint64_t unsigned_integer(const Json& v, const std::string& where, std::string_view expected) const;
  // A number in [min, max]; an open end excludes that bound.
  enum class Ends { closed, open_min, open_max };
  double number(const Json& v, const std::string& where, double min, double max, std::string_view expected,
                Ends ends = Ends::closed) const;
  std::string string(const Json& v, const std::string& where, std::string_view expected) const;
  bool boolean(const Json& v, const std::string& where) const;

  // "path.key" (or "key" at the top level) and "path[i]".
  static std::string join(const std::string& path, std::string_view key);
  static std::string index(const std::string& path, size_t i);

 private:
  std::string source_;
};

inline constexpr int64_t kJsonIntMax = std::numeric_limits<int64_t>::max();

}  // namespace dkm

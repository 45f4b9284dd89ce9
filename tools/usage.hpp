#pragma once
// Usage errors of the `dkm` command as one line each: `dkm: error: OPTION: expected ALLOWED, got GIVEN`.
// The option validators below word their failures that way (CLI11 puts the option's name in front), and
// usage_error() rewrites CLI11's own parse errors (missing options, unknown ones, misspelt commands).
#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace dkm::cli {

// An integer in [min, max].
CLI::Validator integer_in(int64_t min, int64_t max);
// A number in [min, max], or (min, max] with `min_open`; `what` names it ("a cluster rate").
CLI::Validator number_in(double min, double max, bool min_open, const std::string& what);

// One of `names`; the option's value becomes the index of the name (for an enum's underlying value).
CLI::Validator choice(const std::vector<std::pair<std::string, int>>& names);

// The first argument that names a command, when it names none: one line with the nearest command, or
// "" when the command line is fine. `argv` without the program name.
std::string unknown_command(const CLI::App& app, const std::vector<std::string>& args);

// The one-line message (without "dkm: error: ") for a CLI11 parse error of `app`.
std::string usage_error(const CLI::App& app, const CLI::ParseError& e);

}  // namespace dkm::cli

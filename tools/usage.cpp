#include "tools/usage.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include <fmt/core.h>

#include "models/json_reader.hpp"

namespace dkm::cli {

namespace {

std::string in_quotes(const std::string& s) { return "\"" + s + "\""; }

// The subcommand being parsed when the error came (the deepest one parsed), or nullptr.
const CLI::App* active_command(const CLI::App& app) {
  const std::vector<CLI::App*> parsed = app.get_subcommands();
  return parsed.empty() ? nullptr : parsed.back();
}

std::string see_help(const CLI::App* command) {
  return command ? fmt::format("; see `dkm {} --help`", command->get_name()) : "; see `dkm --help`";
}

std::vector<std::string> command_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) names.push_back(sub->get_name());
  return names;
}

std::string nearest(const std::string& given, const std::vector<std::string>& names) {
  std::vector<std::string_view> views(names.begin(), names.end());
  std::string hint = did_you_mean(given, views);
  if (hint.empty())  // a prefix ("est") is as good a hint as a typo
    for (const auto& n : names)
      if (given.size() >= 2 && n.starts_with(given)) return fmt::format(" (did you mean \"{}\"?)", n);
  return hint;
}

std::string joined(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

// What an option takes, in words, from CLI11's type name ("INT", "UINT", "FLOAT", "TEXT").
std::string type_words(const std::string& type) {
  if (type.starts_with("UINT")) return "a non-negative integer";
  if (type.starts_with("INT")) return "an integer";
  if (type.starts_with("FLOAT")) return "a number";
  return "a value";
}

}  // namespace

CLI::Validator integer_in(int64_t min, int64_t max) {
  const std::string expected = fmt::format("an integer from {} to {}", min, max);
  return CLI::Validator(
      [=](std::string& s) -> std::string {
        errno = 0;
        char* end = nullptr;
        const long long v = std::strtoll(s.c_str(), &end, 10);
        if (s.empty() || *end != '\0' || errno == ERANGE || v < min || v > max)
          return fmt::format("expected {}, got {}", expected, in_quotes(s));
        return "";
      },
      fmt::format("[{}, {}]", min, max));
}

CLI::Validator number_in(double min, double max, bool min_open, const std::string& what) {
  const std::string expected = fmt::format("{} in {}{}, {}]", what, min_open ? "(" : "[", min, max);
  return CLI::Validator(
      [=](std::string& s) -> std::string {
        errno = 0;
        char* end = nullptr;
        const double v = std::strtod(s.c_str(), &end);
        const bool low_ok = min_open ? v > min : v >= min;
        if (s.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(v) || !low_ok || !(v <= max))
          return fmt::format("expected {}, got {}", expected, in_quotes(s));
        return "";
      },
      fmt::format("{}{}, {}]", min_open ? "(" : "[", min, max));
}

CLI::Validator choice(const std::vector<std::pair<std::string, int>>& names) {
  std::vector<std::string> list;
  for (const auto& [name, value] : names) list.push_back(name);
  return CLI::Validator(
      [=](std::string& s) -> std::string {
        for (const auto& [name, value] : names)
          if (s == name) {
            s = std::to_string(value);
            return "";
          }
        return fmt::format("expected one of {}, got {}{}", joined(list), in_quotes(s), nearest(s, list));
      },
      "{" + joined(list) + "}");
}

std::string unknown_command(const CLI::App& app, const std::vector<std::string>& args) {
  const std::vector<std::string> names = command_names(app);
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--input-shape") {  // the one option before the command that takes a value
      ++i;
      continue;
    }
    if (a.starts_with("-")) continue;
    for (const auto& n : names)
      if (a == n) return "";
    return fmt::format("unknown command {}{}; expected one of: {}", in_quotes(a), nearest(a, names), joined(names));
  }
  return "";
}

std::string usage_error(const CLI::App& app, const CLI::ParseError& e) {
  const CLI::App* command = active_command(app);
  const std::string what = e.what();
  const std::string help = see_help(command);
  const std::string where = command ? command->get_name() + ": " : "";
  if (dynamic_cast<const CLI::ValidationError*>(&e)) return what;  // "OPTION: expected ..., got ..." (ours)
  if (dynamic_cast<const CLI::ConversionError*>(&e)) {
    // "Could not convert: --batch = abc" or "The value abc is not an allowed value for --batch"
    std::string option, value;
    if (auto p = what.find("Could not convert: "); p != std::string::npos) {
      const std::string rest = what.substr(p + 19);
      const auto eq = rest.find(" = ");
      option = rest.substr(0, eq);
      value = eq == std::string::npos ? "" : rest.substr(eq + 3);
    } else if (auto q = what.find(" is not an allowed value for "); q != std::string::npos) {
      value = what.substr(10, q - 10);
      option = what.substr(q + 29);
    }
    std::string type = "a value";
    if (command)
      for (const CLI::Option* opt : command->get_options())
        if (opt->check_name(option)) type = type_words(opt->get_type_name());
    return fmt::format("{}: expected {}, got {}", option.empty() ? "option" : option, type, in_quotes(value));
  }
  if (dynamic_cast<const CLI::RequiredError*>(&e)) {
    if (!command) return fmt::format("expected a command (one of: {}), got none", joined(command_names(app)));
    if (const auto p = what.find(" is required"); p != std::string::npos)
      return fmt::format("{}expected {} (required), got none{}", where, what.substr(0, p), help);
    return fmt::format("{}{}{}", where, what, help);
  }
  if (dynamic_cast<const CLI::ExtrasError*>(&e)) {
    // "The following argument(s) was/were not expected: A B"
    // CLI11 lists them last first; the one to name is the first unknown option, else the first argument.
    std::vector<std::string> args;
    const std::string list = what.substr(what.find(": ") + 2);
    for (size_t at = 0; at <= list.size();) {
      const size_t end = std::min(list.find(' ', at), list.size());
      args.insert(args.begin(), list.substr(at, end - at));
      at = end + 1;
    }
    std::string first = args.front();
    for (const auto& a : args)
      if (a.starts_with("-")) {
        first = a;
        break;
      }
    std::string hint;
    if (command && first.starts_with("--")) {
      std::vector<std::string> longs;
      for (const CLI::Option* opt : command->get_options())
        for (const auto& n : opt->get_lnames()) longs.push_back("--" + n);
      hint = nearest(first, longs);
    }
    return fmt::format("{}expected {}, got {}{}{}", where,
                       first.starts_with("-") ? "a known option" : "no further argument", in_quotes(first), hint, help);
  }
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&e)) {
    // "--batch: 1 required INT missing": an option given without its value
    const auto colon = what.find(": ");
    if (colon != std::string::npos && what.ends_with(" missing"))
      return fmt::format("{}: expected a value, got none{}", what.substr(0, colon), help);
    return fmt::format("{}{}{}", where, what, help);
  }
  return fmt::format("{}{}{}", where, what, help);
}

}  // namespace dkm::cli

#pragma once
// Each `dkm` subcommand lives in its own tools/cmd_*.cpp and registers itself here, so the CLI stays a
// thin layer of wiring: parse options, call the stages, print or write the result.
#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace dkm::cli {

// `setup` adds one subcommand to `app` (with its options and its callback).
struct Command {
  int order;  // position in `dkm --help`
  std::function<void(CLI::App& app)> setup;
};

// Use at namespace scope: `static const bool registered = dkm::cli::register_command({30, setup_info});`
bool register_command(Command command);

// True when standard error is a terminal: progress bars are drawn only then.
bool stderr_is_terminal();

}  // namespace dkm::cli

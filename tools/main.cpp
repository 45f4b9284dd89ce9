// The `dkm` command: wiring only. Subcommands register themselves from tools/cmd_*.cpp.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "kmeans/cuda_backend.hpp"
#include "models/error.hpp"
#include "models/onnx.hpp"
#include "tools/command.hpp"
#include "tools/usage.hpp"

namespace dkm::cli {

static std::vector<Command>& registry() {
  static std::vector<Command> commands;
  return commands;
}

bool register_command(Command command) {
  registry().push_back(std::move(command));
  return true;
}

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

}  // namespace dkm::cli

int main(int argc, char** argv) {
  CLI::App app{"dkm: what k-means weight sharing does to a CNN's size, energy and accuracy", "dkm"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "dkm 0.1.0");
  // Options every command takes; set before the subcommands so they inherit fall-through to them.
  app.fallthrough();
  app.add_option_function<std::string>(
      "--input-shape",
      [](const std::string& s) { dkm::models::default_onnx_options().input_shape = dkm::models::parse_input_shape(s); },
      "input shape N,C,H,W (as the ONNX input's layout) for ONNX models with symbolic dimensions");
  auto commands = dkm::cli::registry();
  std::stable_sort(commands.begin(), commands.end(), [](auto& a, auto& b) { return a.order < b.order; });
  for (auto& c : commands) c.setup(app);
  // Bare `dkm` shows what there is; a misspelt command names the nearest one. Both are usage errors.
  if (argc < 2) {
    fmt::print("{}", app.help());
    return 2;
  }
  if (std::string bad = dkm::cli::unknown_command(app, std::vector<std::string>(argv + 1, argv + argc)); !bad.empty()) {
    fmt::print(stderr, "dkm: error: {}\n", bad);
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help and --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "dkm: error: {}\n", dkm::cli::usage_error(app, e));
    return 2;
  } catch (const dkm::InputError& e) {
    fmt::print(stderr, "dkm: error: {}\n", e.what());
    return 2;
  } catch (const dkm::UsageError& e) {
    fmt::print(stderr, "dkm: error: {}\n", e.what());
    return 2;
  } catch (const dkm::kmeans::CudaError& e) {
    // The GPU failed while running (out of memory, a fault): not dkm's bug, and --device auto would
    // have rerun on the CPU.
    fmt::print(stderr, "dkm: error: {} (--device auto falls back to the CPU)\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "dkm: internal error: {}\n", e.what());
    return 1;
  }
  return 0;
}

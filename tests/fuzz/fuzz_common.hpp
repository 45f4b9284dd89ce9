#pragma once
// Shared by the libFuzzer targets: the readers must either succeed or throw the documented error types;
// anything else (a crash, a sanitizer report, another exception escaping) is a finding.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "models/error.hpp"

namespace dkm::fuzz {

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Readers that only take a path get the input through one temporary file per process (in /dev/shm when
// it exists, so the run is not disk bound). `suffix` picks the reader by extension where that matters.
inline std::string write_temp(const uint8_t* data, size_t size, const std::string& suffix) {
  static const std::string dir = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  std::string path = dir + "/dkm-fuzz-" + std::to_string(::getpid()) + suffix;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) __builtin_trap();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) __builtin_trap();
  std::fclose(f);
  return path;
}

// Runs `parse`, accepting the two documented error types only.
template <typename F>
void expect_clean(F&& parse) {
  try {
    parse();
  } catch (const dkm::InputError&) {
  } catch (const dkm::UsageError&) {
  }
}

}  // namespace dkm::fuzz

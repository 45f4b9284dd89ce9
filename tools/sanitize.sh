#!/usr/bin/env bash
# The doctest suites built with AddressSanitizer + UndefinedBehaviorSanitizer (any report fails the test).
# CPU only; the Python module is left out because python3 itself is not built with the sanitizer runtime.
set -euo pipefail
cd "$(dirname "$0")/.."
launcher=()
export CCACHE_BASEDIR="$PWD"  # relative paths in the cache key: clones in other folders share hits
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B build-sanitize -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDKM_SANITIZE=ON -DDKM_CUDA=OFF \
  -DDKM_PYTHON=OFF "${launcher[@]}" >/dev/null
cmake --build build-sanitize -j"$(nproc)"
cd build-sanitize
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --output-on-failure -j"$(nproc)" -E '^python:'

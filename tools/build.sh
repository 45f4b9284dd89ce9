#!/usr/bin/env bash
# Configures and builds dkm in ./build (Release, Ninja, ccache when present). Extra arguments go to
# cmake's configure step.
set -euo pipefail
cd "$(dirname "$0")/.."
launcher=()
export CCACHE_BASEDIR="$PWD"  # relative paths in the cache key: clones in other folders share hits
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" "$@" >/dev/null
cmake --build build -j"$(nproc)"

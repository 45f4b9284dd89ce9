#!/usr/bin/env bash
# Builds every libFuzzer target with clang (ASan + UBSan + coverage) in build-fuzz and runs each for
# SECONDS of wall time (CI: tools/fuzz.sh 45). Findings fail the run; docs/reliability.md has the long runs.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-45}
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
export CCACHE_BASEDIR="$PWD"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDKM_CUDA=OFF \
  -DDKM_FUZZ=ON -DDKM_PYTHON=OFF "${launcher[@]}" >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_targets
DKM_FUZZ_BUILD="$PWD/build-fuzz" tests/fuzz/run-all.sh "$seconds"

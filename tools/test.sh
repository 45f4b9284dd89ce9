#!/usr/bin/env bash
# Everything the test suite needs, then the build, then every test. The README's second command.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh test
tools/build.sh
cd build && ctest --output-on-failure -j"$(nproc)"

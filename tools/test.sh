#!/usr/bin/env bash
# The README's second command: everything the test suite needs, then the build, then every test.
# The real model for the ONNX tests (BlazeFace) is fetched at a pinned version with its sha256 checked;
# without network those tests skip with a message.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh test
tools/fetch-blazeface.sh >/dev/null || echo "dkm: BlazeFace not fetched; its tests will skip" >&2
tools/build.sh
cd build && ctest --output-on-failure -j"$(nproc)"

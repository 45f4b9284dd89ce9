#!/usr/bin/env bash
# The README's second command: everything the test suite needs, then the build, then every test.
# The real models for the ONNX tests (BlazeFace) and the TF.js tests (face-api) are fetched at pinned
# versions with their sha256 checked; without network those tests are reported as skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh test
tools/fetch-blazeface.sh >/dev/null || echo "dkm: BlazeFace not fetched; its tests will skip" >&2
tools/fetch-face-api.sh >/dev/null || echo "dkm: face-api not fetched; its tests will skip" >&2
tools/build.sh
cd build && ctest --output-on-failure -j"$(nproc)"

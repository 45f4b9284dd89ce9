#!/usr/bin/env bash
# The one command for accuracy (docs/onnx.md): installs the pinned onnxruntime-node (install.sh) and runs
# evaluate.mjs with the arguments.
# Usage: tools/evaluate/run.sh [--json] [--data lfw_subset.npy] MODEL.onnx [MODEL.onnx ...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
modules="$("$here/install.sh")"
exec node "$here/evaluate.mjs" --modules "$modules" "$@"

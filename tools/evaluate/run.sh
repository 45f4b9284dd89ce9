#!/usr/bin/env bash
# The one command for accuracy (docs/onnx.md): installs the pinned onnxruntime-node from package-lock.json
# into tools/data/evaluate/ (gitignored; npm ci on first use only) and runs evaluate.mjs with the arguments.
# Usage: tools/evaluate/run.sh [--json] [--data lfw_subset.npy] MODEL.onnx [MODEL.onnx ...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dest="$here/../data/evaluate"
command -v node >/dev/null && command -v npm >/dev/null ||
  { echo "evaluate: node and npm are needed (apt-get install nodejs npm)" >&2; exit 3; }
mkdir -p "$dest"
if ! cmp -s "$here/package-lock.json" "$dest/package-lock.json" || [ ! -d "$dest/node_modules/onnxruntime-node" ]; then
  cp "$here/package.json" "$here/package-lock.json" "$dest/"
  # The npm package ships the CPU runtime; --ignore-scripts skips its optional GPU download.
  (cd "$dest" && npm ci --ignore-scripts --no-audit --no-fund --silent) >&2 ||
    { echo "evaluate: npm ci failed (no network?)" >&2; exit 3; }
fi
exec node "$here/evaluate.mjs" --modules "$dest/node_modules" "$@"

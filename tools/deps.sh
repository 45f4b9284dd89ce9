#!/usr/bin/env bash
# Installs the Debian packages dkm needs, only those missing. Usage: tools/deps.sh build|test
set -euo pipefail
want=(cmake g++ make pkg-config libeigen3-dev nlohmann-json3-dev libcli11-dev libfmt-dev doctest-dev zlib1g-dev)
if [ "${1:-build}" = test ]; then
  # Peers and tools the test suite and benchmarks use.
  want+=(python3 python3-numpy python3-sklearn python3-faiss)
fi
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "dkm: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

#!/usr/bin/env bash
# Installs the Debian packages dkm needs, only those missing.
#   tools/deps.sh build   what the `dkm` command needs (the README's first command)
#   tools/deps.sh test    plus the peers and tools the test suite uses (the README's second command)
set -euo pipefail
want=(cmake g++ make ninja-build pkg-config ccache libeigen3-dev nlohmann-json3-dev libcli11-dev libfmt-dev
      doctest-dev zlib1g-dev libonnx-dev libprotobuf-dev protobuf-compiler)
if [ "${1:-build}" = test ]; then
  # Python bindings and the PyTorch hook; peers for equivalence tests and benchmarks (scikit-learn,
  # faiss, torchvision CNNs for the inference check); ONNX checker and the LFW check set; the browser for the
  # report test; sanitizer runtimes and libFuzzer (clang).
  want+=(python3 python3-dev pybind11-dev python3-pytest python3-numpy python3-sklearn python3-faiss
         python3-torch python3-torchvision dataset-fashion-mnist python3-onnx python3-skimage chromium
         clang libclang-rt-14-dev)
  # Node.js runs onnxruntime-node for the accuracy check; keep a newer one if the machine has it.
  command -v node >/dev/null || want+=(nodejs)
  command -v npm >/dev/null || want+=(npm)
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

#!/usr/bin/env bash
# Deep k-Means re-training of LeNet-5 on Fashion-MNIST, one command (docs/validation.md, docs/retraining.md).
# Usage: tools/retrain/run.sh [build dir (default: build)] [extra retrain.py options]
# Needs Debian's python3-torch, python3-dev, pybind11-dev and dataset-fashion-mnist. Builds the dkm Python
# module in the build dir, then trains, fine-tunes, shares and writes <build>/retrain/results.{md,json}.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$root/build}"
shift || true
python=/usr/bin/python3  # Debian's interpreter, the one with python3-torch
[ -d /usr/share/datasets/fashion-mnist ] || { echo "run.sh: install dataset-fashion-mnist" >&2; exit 2; }
"$python" -c "import torch" 2>/dev/null || { echo "run.sh: install python3-torch" >&2; exit 2; }
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DPython3_EXECUTABLE="$python" >/dev/null
cmake --build "$build" -j"${DKM_JOBS:-2}" --target dkm dkm_python
PYTHONPATH="$build/tools/python" PYTHONDONTWRITEBYTECODE=1 \
  "$python" "$root/tools/retrain/retrain.py" --out "$build/retrain" "$@"
# The container the PyTorch hook wrote, read back by the CLI.
for container in "$build"/retrain/lenet5-hard-k*.dkmc; do
  "$build/tools/dkm" estimate lenet5 --compressed "$container"
done

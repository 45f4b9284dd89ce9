#!/usr/bin/env bash
# The README's first command: install what is missing, build, and run the main job on the bundled default
# (WRN-16-4, the paper's CR 47 plan, random heavy-tailed weights, the eyeriss-65nm profile).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh build
tools/build.sh
dkm=build/tools/dkm
mkdir -p out
"$dkm" compress wrn-16-4 --plan wrn-16-4-cr47 --random-weights 1 -o out/wrn-16-4-cr47.safetensors
"$dkm" estimate wrn-16-4 --hw eyeriss-65nm --compressed out/wrn-16-4-cr47.safetensors --json out/wrn-16-4-cr47-estimate.json
"$dkm" report wrn-16-4 --hw eyeriss-65nm --plan wrn-16-4-cr47 --random-weights 1 -o out/wrn-16-4-cr47-report.html
echo "report: $(pwd)/out/wrn-16-4-cr47-report.html"

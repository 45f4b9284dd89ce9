#!/usr/bin/env bash
# BlazeFace end to end (docs/onnx.md, docs/validation.md "BlazeFace"): fetch, import, then for each K and
# granularity: compress every conv layer, decompress, export the ONNX with codebook[label] weights, measure
# face/non-face accuracy on the LFW subset and estimate energy on two hardware profiles. Prints a Markdown
# table; intermediate files stay in tools/data/blazeface-sweep/.
# Usage: tools/evaluate/blazeface-sweep.sh [path/to/dkm]   (default build/tools/dkm)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dkm="$(realpath "${1:-$root/build/tools/dkm}")"
profiles=(eyeriss-65nm horowitz-45nm)
ks=(4 8 16 32 64)
src="$("$root/tools/fetch-blazeface.sh")"
out="$root/tools/data/blazeface-sweep"
mkdir -p "$out"
cd "$out"
"$dkm" import "$src" -o blazeface.json --weights-out blazeface.safetensors >/dev/null

# energy PROFILE [--compressed FILE]: the row-stationary hierarchy estimate per image from `dkm estimate`,
# with its unit, and the paper's metric.
energy() {
  local hw="$1"
  shift
  "$dkm" estimate "$src" --hw "$hw" "$@" --json "energy.json" >/dev/null
  python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["totals"]; print("%.4g %s (paper %.4g)" % (t["hierarchy_energy"], t["hierarchy_energy_unit"], t["paper_metric_energy"]))' energy.json
}

models=("$src")
rows=()
# Settings: "k<K>-row" every conv cut into kernel rows (for 1x1 layers a row is one weight); "k<K>-scalar-dw"
# the same with depthwise layers clustered per weight; "k<K>-pw-only" only the 20 pointwise layers, the stem
# and depthwise layers kept in float (K = 128 and 256 added there to find where accuracy returns).
settings=()
for gran in row scalar-dw pw-only; do
  for k in "${ks[@]}"; do settings+=("$k:$gran"); done
done
settings+=("128:pw-only" "256:pw-only")
for setting in "${settings[@]}"; do
    k="${setting%%:*}"
    gran="${setting#*:}"
    name="k${k}-${gran}"
    rule=""
    [ "$gran" = scalar-dw ] && rule='{"match": "*depthwise*", "granularity": "scalar"}'
    [ "$gran" = pw-only ] && rule='{"match": "*depthwise*", "compress": false}, {"match": "conv2d/BiasAdd", "compress": false}'
    cat >"plan-$name.json" <<EOF
{"format": "dkm-plan/1", "model": "blazeface", "defaults": {"k": $k, "granularity": "row", "init": "k-means++"},
 "layers": [$rule]}
EOF
    "$dkm" compress "$src" --weights blazeface.safetensors --plan "plan-$name.json" -o "$name.dkm.safetensors" \
      --json "$name.compress.json" >/dev/null
    "$dkm" decompress "$name.dkm.safetensors" -o "$name.weights.safetensors" >/dev/null
    "$dkm" export "$src" --weights "$name.weights.safetensors" -o "$name.onnx" >/dev/null
    models+=("$out/$name.onnx")
    rows+=("$name")
done
"$root/tools/evaluate/run.sh" --json "${models[@]}" >accuracy.json

acc() { python3 -c 'import json,sys; r=[x for x in json.load(open("accuracy.json")) if x["model"]==sys.argv[1]][0]; print("%.1f (%d/%d, %d/%d)" % (r["accuracy_percent"], r["faces_correct"], r["faces"], r["non_faces_correct"], r["non_faces"]))' "$1"; }
ratios() { python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["total"]; print("%.2f | %.2f | %.2f" % (t["cr_fixed"], t["cr_entropy"], t["cr_huffman"]))' "$1"; }

echo "| setting | accuracy % (faces, non-faces) | CR fixed | CR entropy | CR Huffman | ${profiles[0]} energy | ${profiles[1]} energy |"
echo "|---|---|---|---|---|---|---|"
echo "| float32 | $(acc "$src") | 1 | 1 | 1 | $(energy "${profiles[0]}") | $(energy "${profiles[1]}") |"
for name in "${rows[@]}"; do
  echo "| $name | $(acc "$out/$name.onnx") | $(ratios "$name.compress.json") | $(energy "${profiles[0]}" --compressed "$name.dkm.safetensors") | $(energy "${profiles[1]}" --compressed "$name.dkm.safetensors") |"
done

#!/usr/bin/env bash
# BlazeFace with activation-weighted k-means (docs/validation.md "BlazeFace: activation weighting"): the 20
# pointwise layers at K = 64, plain and activation-weighted, over 10 seeds, measured with `dkm evaluate` on
# the 200-image LFW subset; the calibration images are crops of python3-skimage's sample photographs, not
# LFW (calibration-to-npy.py). Seed s gives conv layer i the k-means seed 1000 + 100 s + i (s = 0: the
# default 1000 + i). With INIT optimal-1d (the exact weighted 1-D optimum: no seed, no local optimum) one run
# stands for all seeds. Prints one Markdown row per weighting; files stay in tools/data/blazeface-weighted/.
# Usage: tools/evaluate/blazeface-weighted.sh [path/to/dkm] [K] [INIT]   (default build/tools/dkm, 64, k-means++)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dkm="$(realpath "${1:-$root/build/tools/dkm}")"
k="${2:-64}"
init="${3:-k-means++}"
seeds=(0 1 2 3 4 5 6 7 8 9)
[ "$init" = optimal-1d ] && seeds=(0)
src="$("$root/tools/fetch-blazeface.sh")"
out="$root/tools/data/blazeface-weighted"
mkdir -p "$out"
cd "$out"
[ -f lfw_x.npy ] || /usr/bin/python3 "$root/tools/evaluate/lfw-to-npy.py" lfw_x.npy lfw_y.npy
[ -f calib.npy ] || /usr/bin/python3 "$root/tools/evaluate/calibration-to-npy.py" calib.npy
"$dkm" import "$src" -o blazeface.json >/dev/null
[ -f stats.json ] || "$dkm" calibrate "$src" --data calib.npy -o stats.json >/dev/null
# The score outputs: the two classificator outputs (evaluate.mjs's rule: last dimension 1).
scores="$(/usr/bin/python3 - <<'PY'
import json
spec = json.load(open("blazeface.json"))
read = set()
for i, l in enumerate(spec["layers"]):
    ins = l.get("inputs", spec["layers"][i - 1]["name"] if i else "input")
    read.update([ins] if isinstance(ins, str) else ins)
sinks = [l for l in spec["layers"] if l["name"] not in read]
print(",".join(l["name"] for l in sinks if "classificators" in l["name"]))
PY
)"
for weighting in plain activation; do
  accs=()
  for s in "${seeds[@]}"; do
    /usr/bin/python3 - "$weighting" "$s" "$k" "$init" >plan.json <<'PY'
import json, sys
weighting, s, k, init = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
spec = json.load(open("blazeface.json"))
convs = [l for l in spec["layers"] if l["type"] == "conv2d"]
rules = []
for i, l in enumerate(convs):
    if l["kernel"] in (1, [1, 1]):
        rules.append({"match": l["name"], "seed": 1000 + 100 * s + i})
    else:
        rules.append({"match": l["name"], "compress": False})
print(json.dumps({"format": "dkm-plan/1", "model": spec["name"],
                  "defaults": {"k": k, "granularity": "row", "init": init, "weighting": weighting}, "layers": rules}))
PY
    "$dkm" compress "$src" --plan plan.json --stats stats.json -o "c-$weighting-$s.safetensors" --json c.json >/dev/null
    "$dkm" evaluate "$src" --compressed "c-$weighting-$s.safetensors" --data lfw_x.npy --labels lfw_y.npy \
      --score-outputs "$scores" --json e.json >/dev/null
    accs+=("$(/usr/bin/python3 -c 'import json; print(json.load(open("e.json"))["compressed_accuracy_percent"])')")
    echo "$weighting $init seed $s: ${accs[-1]} %" >&2
  done
  /usr/bin/python3 - "$weighting" "$k" "$init" "${accs[@]}" <<'PY'
import json, sys
w, k, init, accs = sys.argv[1], sys.argv[2], sys.argv[3], [float(a) for a in sys.argv[4:]]
print(f"| K = {k}, {init}, {w} | {sum(accs) / len(accs):.2f} | {min(accs):.1f} | {max(accs):.1f} | "
      f"{', '.join(f'{a:.1f}' for a in accs)} |")
PY
done

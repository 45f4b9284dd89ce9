#!/usr/bin/env bash
# Runs every built libFuzzer target at once for SECONDS of wall time each: tests/fuzz/run-all.sh SECONDS
# Prints one line per target (executions, executions per second, coverage, findings) and exits non-zero
# when any target found something. The targets share the machine's cores: exec/s are per target.
set -uo pipefail
if [[ $# -ne 1 ]]; then
  echo "usage: $0 SECONDS" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${DKM_FUZZ_BUILD:-$root/build-fuzz}
targets=()
for t in model profile plan npy npz safetensors container huffman onnx tfjs; do
  [[ -x $build/tests/fuzz/fuzz_$t ]] && targets+=("$t")
done
if [[ ${#targets[@]} -eq 0 ]]; then
  echo "$0: no fuzz targets in $build/tests/fuzz (see tests/fuzz/run.sh)" >&2
  exit 2
fi
declare -A pids
for t in "${targets[@]}"; do
  "$root/tests/fuzz/run.sh" "$t" "$1" &
  pids[$t]=$!
done
failed=0
printf '%-12s %12s %10s %8s %8s  %s\n' target executions exec/s cov ft result
for t in "${targets[@]}"; do
  if wait "${pids[$t]}"; then result=clean; else result="FAILED (see $build/fuzz/$t.log)"; failed=1; fi
  log=$build/fuzz/$t.log
  stat_of() { awk -v k="stat::$1:" '$1 == k { v = $2 } END { print v }' "$log"; }
  runs=$(stat_of number_of_executed_units)
  rate=$(stat_of average_exec_per_sec)
  # The last status line ("#N ... cov: C ft: F ...") has the final coverage.
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  printf '%-12s %12s %10s %8s %8s  %s\n' "$t" "${runs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$result"
done
exit $failed

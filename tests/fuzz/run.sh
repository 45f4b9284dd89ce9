#!/usr/bin/env bash
# Runs one libFuzzer target: tests/fuzz/run.sh TARGET SECONDS
# TARGET is the format (model profile plan npy npz safetensors container huffman onnx tfjs). The fuzz build is
# $DKM_FUZZ_BUILD (default build-fuzz in the repository root; see docs/reliability.md). The growing corpus
# goes to $DKM_FUZZ_BUILD/fuzz/corpus/TARGET (seeded from tests/fuzz/corpus/TARGET, never committed),
# crash reproducers to $DKM_FUZZ_BUILD/fuzz/artifacts/TARGET/, the log to $DKM_FUZZ_BUILD/fuzz/TARGET.log.
# Exit status: libFuzzer's (0 = clean run).
set -euo pipefail
if [[ $# -ne 2 ]]; then
  echo "usage: $0 TARGET SECONDS" >&2
  exit 2
fi
target=$1
seconds=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${DKM_FUZZ_BUILD:-$root/build-fuzz}
exe=$build/tests/fuzz/fuzz_$target
if [[ ! -x $exe ]]; then
  echo "$0: no $exe; build it first: CC=clang CXX=clang++ cmake -S $root -B $build -G Ninja -DDKM_CUDA=OFF -DDKM_FUZZ=ON && cmake --build $build --target fuzz_targets" >&2
  exit 2
fi
work=$build/fuzz
mkdir -p "$work/corpus/$target" "$work/artifacts/$target"
# Leaks are findings too; a report aborts the run.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
dict=()
case $target in model | profile | plan | tfjs) dict=(-dict="$root/tests/fuzz/json.dict") ;; esac
"$exe" "$work/corpus/$target" "$root/tests/fuzz/corpus/$target" "${dict[@]}" \
  -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/$target/" >"$work/$target.log" 2>&1

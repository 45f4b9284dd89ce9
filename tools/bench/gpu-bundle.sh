#!/usr/bin/env bash
# Prepares the GPU check that a lent device machine runs (docs/benchmarks.md, "Running it on a lent GPU").
# That machine has nvcc but none of our Debian -dev packages and no network, so the binaries are built
# here: dkm, test_kmeans, test_cli and dkm_bench_cuda, Release with CUDA, in build-gpu/. They are copied,
# stripped, with the shared libraries the device lacks (all that ldd lists but the C/C++ runtime), into
# .gpu-bundle/ (git-ignored), which the device run carries; tools/bench/gpu-check.sh runs it there.
#
# Paths: the test binaries have the source folder and the dkm binary's path compiled in. So build-gpu/ is
# configured through an alias, /tmp/dkm-gpu-<hash of this repo's path>/src -> this repo, that exists only
# while this script runs, and the alias is recorded in .gpu-bundle/paths.env. gpu-check.sh points the same
# alias at the repo copy it runs in, so the tests read that copy's tree and run the bundle's dkm wherever
# the copy lies. Hence build-gpu/ is only rebuilt through this script (its build.ninja names the alias).
#
# Usage: tools/bench/gpu-bundle.sh      (first build about 8 minutes on 2 cores, then incremental)
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
nvcc=${CUDACXX:-/usr/local/cuda/bin/nvcc}
[[ -x $nvcc ]] || { echo "gpu-bundle: no nvcc at $nvcc (set CUDACXX)" >&2; exit 2; }

alias_dir=/tmp/dkm-gpu-$(printf %s "$repo" | md5sum | cut -c1-8)
src=$alias_dir/src
build=$src/build-gpu
if [[ -e $src && ! -L $src ]]; then echo "gpu-bundle: $src exists and is no link" >&2; exit 2; fi
mkdir -p "$alias_dir"
ln -sfn "$repo" "$src"
trap 'rm -f "$src"; rmdir "$alias_dir" 2>/dev/null || true' EXIT

launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR=$src
fi
echo "gpu-bundle: configuring $repo/build-gpu (as $build)"
config=$(cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDKM_CUDA=ON -DDKM_TESTS=ON \
  -DDKM_PYTHON=OFF -DCMAKE_CUDA_COMPILER="$nvcc" "${launcher[@]}")
grep -q 'dkm: CUDA backend ON' <<<"$config" || { echo "gpu-bundle: CMake did not enable CUDA" >&2; exit 1; }

targets=(tools/dkm tests/test_kmeans tests/test_cli kmeans/cuda/dkm_bench_cuda)
echo "gpu-bundle: building ${targets[*]##*/}"
cmake --build "$build" -j"$(nproc)" --target "${targets[@]##*/}"

# The compiled-in paths must name the alias, or the device could not resolve them.
grep -aq "$build/tools/dkm" "$build/tests/test_cli" || { echo "gpu-bundle: test_cli lacks $build/tools/dkm" >&2; exit 1; }

bundle=$repo/.gpu-bundle
rm -rf "$bundle"
mkdir -p "$bundle/lib"
for t in "${targets[@]}"; do
  mkdir -p "$bundle/build-gpu/${t%/*}"
  strip -o "$bundle/build-gpu/$t" "$build/$t"
done

# Shared libraries: everything the loader finds for the four binaries, except the system's runtime.
system='^(linux-vdso|libc\.so|libm\.so|libgcc_s\.so|libstdc\+\+\.so|ld-linux|libpthread\.so|libdl\.so|librt\.so)'
if ldd "${targets[@]/#/$build/}" | grep -q 'not found'; then echo "gpu-bundle: a library is not found" >&2; exit 1; fi
ldd "${targets[@]/#/$build/}" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | sort -u |
  while read -r name path; do
    [[ $name =~ $system ]] && continue
    cp -L "$path" "$bundle/lib/$name"
    echo "gpu-bundle: bundled $name ($path)"
  done

dirty=$(git status --porcelain --untracked-files=no | wc -l)
{
  echo "# Written by tools/bench/gpu-bundle.sh; read by tools/bench/gpu-check.sh."
  printf 'DKM_GPU_ALIAS=%q\n' "$src"
  printf 'DKM_GPU_BUILT_FROM=%q\n' "$repo"
  printf 'DKM_GPU_COMMIT=%q\n' "$(git rev-parse --short HEAD) ($dirty tracked files changed)"
  printf 'DKM_GPU_BUILT_AT=%q\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  printf 'DKM_GPU_NVCC=%q\n' "$("$nvcc" --version | tail -1)"
} >"$bundle/paths.env"

size_kib=$(du -sk "$bundle" | cut -f1)
echo "gpu-bundle: $bundle holds $(find "$bundle" -type f | wc -l) files, $((size_kib / 1024)) MiB ($size_kib KiB)"
if ((size_kib > 50 * 1024)); then echo "gpu-bundle: over 50 MiB, too big to carry" >&2; exit 1; fi
cat <<'EOF'
gpu-bundle: ready. On a session lent a GPU, make this one device call (about 2 to 4 minutes of work):
  run(command="bash tools/bench/gpu-check.sh", carry=[".gpu-bundle"], timeout_s=480)
Its files (gpu-check.log, summary.tsv, bench_cuda.jsonl, bench_cuda.md) come back under files_at.
EOF

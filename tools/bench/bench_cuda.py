#!/usr/bin/env python3
"""Throughput of the CUDA k-means assignment against the card's limits and a plain PyTorch k-means.

For each case (N points, dimension d, K centres) the same points (standard normal, float32, seed 0)
and the same initial centres (the first K points) go to
  * dkm_bench_cuda (built with -DDKM_CUDA=ON): measures the card's copy bandwidth and FP32 rate, then
    times `iters` Lloyd iterations of dkm's fused assignment (see docs/benchmarks.md, "CUDA");
  * PyTorch: `iters` iterations of torch.cdist + argmin + index_add_ centre update, in chunks of points
    small enough for the N x K distance block to fit in memory.
Throughput is point-centre pairs per second: N * K per iteration. Prints one JSON object per case and
a Markdown table for docs/benchmarks.md.

Usage: tools/bench/bench_cuda.py [--build build] [--iters 10] [--case N,d,K ...] [--no-torch] [--check]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

DEFAULT_CASES = [(10**7, 3, 256), (10**8, 1, 256)]


def parse_case(text):
    n, d, k = (int(float(v)) for v in text.split(","))
    return n, d, k


def torch_baseline(torch, x, k, iters):
    """Plain k-means in PyTorch: cdist + argmin, sums by index_add_, float32 throughout."""
    dev = x.device
    n, d = x.shape
    centers = x[:k].clone()
    # Chunk so the distance block stays near 2 GiB.
    chunk = max(1, (2 << 30) // (4 * k))
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(iters):
        sums = torch.zeros((k, d), dtype=torch.float32, device=dev)
        counts = torch.zeros(k, dtype=torch.float32, device=dev)
        for b in range(0, n, chunk):
            xb = x[b:b + chunk]
            labels = torch.cdist(xb, centers).argmin(dim=1)
            sums.index_add_(0, labels, xb)
            counts.index_add_(0, labels, torch.ones_like(labels, dtype=torch.float32))
        nonempty = counts > 0
        centers[nonempty] = sums[nonempty] / counts[nonempty].unsqueeze(1)
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / iters


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build", help="CMake build directory holding kmeans/cuda/dkm_bench_cuda")
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--case", action="append", type=parse_case, help="N,d,K (repeatable)")
    ap.add_argument("--no-torch", action="store_true", help="skip the PyTorch baseline")
    ap.add_argument("--check", action="store_true", help="also compare the first labels with the CPU backend")
    args = ap.parse_args()
    cases = args.case or DEFAULT_CASES
    driver = os.path.join(args.build, "kmeans", "cuda", "dkm_bench_cuda")
    if not os.path.exists(driver):
        sys.exit(f"bench_cuda: {driver} not found (configure with a CUDA compiler and build dkm_bench_cuda)")

    torch = None
    if not args.no_torch:
        try:
            import torch as torch_module
            if torch_module.cuda.is_available():
                torch = torch_module
            else:
                print("bench_cuda: PyTorch has no CUDA device; baseline skipped", file=sys.stderr)
        except ImportError:
            print("bench_cuda: PyTorch not installed; baseline skipped", file=sys.stderr)

    rows = []
    for n, d, k in cases:
        cmd = [driver, "--n", str(n), "--dim", str(d), "--k", str(k), "--iters", str(args.iters)]
        if args.check:
            cmd.append("--check")
        x = None
        with tempfile.TemporaryDirectory() as tmp:
            if torch is not None:
                gen = torch.Generator().manual_seed(0)
                x = torch.randn((n, d), generator=gen, dtype=torch.float32)
                path = os.path.join(tmp, "points.f32")
                x.numpy().tofile(path)
                cmd += ["--points", path]
            proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"bench_cuda: case N={n} d={d} K={k}: dkm_bench_cuda failed (exit {proc.returncode}): "
                     f"{proc.stderr.strip()}")
        out = proc.stdout
        result = json.loads(out)
        if torch is not None:
            xg = x.to("cuda")
            del x
            t = torch_baseline(torch, xg, k, args.iters)
            del xg
            torch.cuda.empty_cache()
            result["torch_seconds_per_iter"] = t
            result["torch_pairs_per_s"] = n * k / t
            result["speedup_vs_torch"] = result["pairs_per_s"] / result["torch_pairs_per_s"]
            result["torch_version"] = torch.__version__
        print(json.dumps(result))
        rows.append(result)

    print()
    print("| card | N | d | K | iterations | dkm pairs/s | compute limit pairs/s | memory limit pairs/s "
          "| fraction of limit | PyTorch pairs/s | dkm / PyTorch |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        torch_rate = f"{r['torch_pairs_per_s']:.3e}" if "torch_pairs_per_s" in r else "not run"
        ratio = f"{r['speedup_vs_torch']:.1f}" if "speedup_vs_torch" in r else "not run"
        print(f"| {r['device']} | {r['n']:.0e} | {r['dim']} | {r['k']} | {r['iters']} | {r['pairs_per_s']:.3e} "
              f"| {r['limit_compute_pairs_per_s']:.3e} | {r['limit_memory_pairs_per_s']:.3e} "
              f"| {r['fraction_of_limit']:.2f} | {torch_rate} | {ratio} |")
    scalar_rows = [r for r in rows if r.get("sorted_1d_sort_gpu_s", -1) >= 0]
    if scalar_rows:
        print()
        print("| card | N | sort + prefix sums on the GPU [s] | on the CPU, 1 thread [s] | CPU / GPU | identical |")
        print("|---|---|---|---|---|---|")
        for r in scalar_rows:
            gpu_s, cpu_s = r["sorted_1d_sort_gpu_s"], r["sorted_1d_sort_cpu_s"]
            print(f"| {r['device']} | {r['n']:.0e} | {gpu_s:.3f} | {cpu_s:.3f} | {cpu_s / gpu_s:.1f} "
                  f"| {'yes' if r['sorted_1d_identical'] == 1 else 'NO'} |")


if __name__ == "__main__":
    main()

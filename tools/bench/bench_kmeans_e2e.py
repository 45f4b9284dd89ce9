#!/usr/bin/env python3
"""k-means as a user runs it: each program seeds itself with k-means++, then Lloyd to tol 1e-4.

dkm: `dkm kmeans X.npy --k K --max-iter 100 --tol 1e-4 --threads T`, and the same with --max-iter 0 for
the seeding alone. scikit-learn 1.2: KMeans(init="k-means++", n_init=1, max_iter=100, tol=1e-4).fit on
the same float32 data, and its kmeans_plusplus alone for the seeding. Data: Student-t (4 degrees of
freedom) x 0.05, seeded. The programs alternate within each repetition (the machine may be shared), and
every ratio is taken within one repetition; the table gives the median over repetitions.

  tools/bench/bench_kmeans_e2e.py [--dkm build/tools/dkm] [--threads 2] [--repeat 3] [--cases all] [--init k-means++]

--init afk-mc2 seeds dkm with AFK-MC2 instead (scikit-learn keeps k-means++): its time and its inertia after
Lloyd against scikit-learn's greedy k-means++ (docs/kmeans.md). --seedings runs dkm alone, both seedings
alternating on the same data and seeds: wall time, of it seeding, and the inertia after Lloyd.

--lloyd OTHER_DKM isolates Lloyd: dkm alone against another dkm build (e.g. main's), alternating on the
same data and seed, each run with --tol 0 (exactly 100 iterations) and with --max-iter 0; the Lloyd time
is the difference, and the two builds' outputs must be byte-identical (the script stops otherwise).

Needs Debian's python3-numpy and python3-sklearn (tools/deps.sh test).
"""
import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

np = None  # imported in main() after the thread count is set in the environment

CASES = [(196608, 3, 100), (1000000, 3, 256), (4000000, 1, 256)]


def student_t(n, d, seed):
    rng = np.random.default_rng(seed)
    return (rng.standard_t(4, size=(n, d)) * 0.05).astype(np.float32)


def inertia_of(x, centers, labels):
    """float64 sum of squared distances (scikit-learn's inertia_ for float32 input is a float32 sum)."""
    total = 0.0
    for s in range(0, len(x), 1 << 20):
        diff = x[s:s + (1 << 20)].astype(np.float64) - centers.astype(np.float64)[labels[s:s + (1 << 20)]]
        total += float((diff * diff).sum())
    return total


def run_dkm(dkm, x_path, k, iters, threads, seed, out, init, tol="1e-4"):
    cmd = [dkm, "kmeans", x_path, "--k", str(k), "--init", init, "--max-iter", str(iters), "--tol", tol,
           "--threads", str(threads), "--seed", str(seed), "-o", out]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    z = np.load(out)
    return dict(wall=wall, ms=float(re.search(r"([0-9.]+) ms", res.stdout).group(1)),
                inertia=float(z["inertia"]), iterations=int(z["iterations"]))


def run_sklearn(x, k, seed):
    from sklearn.cluster import KMeans, kmeans_plusplus
    t0 = time.perf_counter()
    kmeans_plusplus(x, k, random_state=seed)
    seeding = time.perf_counter() - t0
    km = KMeans(n_clusters=k, init="k-means++", n_init=1, max_iter=100, tol=1e-4, random_state=seed)
    t0 = time.perf_counter()
    km.fit(x)
    wall = time.perf_counter() - t0
    return dict(wall=wall, seeding=seeding, inertia=inertia_of(x, km.cluster_centers_, km.labels_),
                iterations=int(km.n_iter_))


def case_files(cases):
    """Each case's data, saved as the .npy dkm reads, and the path of dkm's output."""
    with tempfile.TemporaryDirectory() as tmp:
        for n, d, k in cases:
            x = student_t(n, d, 1)
            xp = os.path.join(tmp, "x.npy")
            np.save(xp, x if d > 1 else x.ravel())
            yield n, d, k, x, xp, os.path.join(tmp, "o.npz")


def compare_seedings(args, cases):
    """dkm's greedy k-means++ against AFK-MC2, seeds 0..repeat-1, alternating; medians of the times, the
    inertia summed over the seeds."""
    print("| N | d | K | k-means++ [s] | of it seeding [s] | afk-mc2 [s] | of it seeding [s] | iterations "
          "k-means++ / afk-mc2 (seed 0) | inertia after Lloyd afk-mc2 / k-means++ |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n, d, k, x, xp, out in case_files(cases):
        runs = {"k-means++": [], "afk-mc2": []}
        for seed in range(args.repeat):
            for init, rows in runs.items():
                full = run_dkm(args.dkm, xp, k, 100, args.threads, seed, out, init)
                full["seeding"] = run_dkm(args.dkm, xp, k, 0, args.threads, seed, out, init)["wall"]
                rows.append(full)
                print(f"  seed {seed} {init}: {full}", file=sys.stderr)
        pp, afk = runs["k-means++"], runs["afk-mc2"]
        med = lambda rows, key: statistics.median(r[key] for r in rows)
        ratio = sum(r["inertia"] for r in afk) / sum(r["inertia"] for r in pp)
        print(f"| {n:,} | {d} | {k} | {med(pp, 'wall'):.3f} | {med(pp, 'seeding'):.3f} | {med(afk, 'wall'):.3f} | "
              f"{med(afk, 'seeding'):.3f} | {pp[0]['iterations']} / {afk[0]['iterations']} | {ratio:.4f} |",
              flush=True)


def compare_lloyd(args, cases):
    """Lloyd alone, this dkm against another build: 100 iterations (--tol 0) minus the seeding (--max-iter
    0), medians over the repetitions; the outputs of the two builds must be byte-identical."""
    print(f"other build: {args.lloyd}")
    print()
    print("| N | d | K | Lloyd, other build [s] | Lloyd, this build [s] | other / this | outputs |")
    print("|---|---|---|---|---|---|---|")
    for n, d, k, x, xp, out in case_files(cases):
        lloyd = {"other": [], "this": []}
        outputs = {}
        for rep in range(args.repeat):
            for name, binary in (("other", args.lloyd), ("this", args.dkm)):
                full = run_dkm(binary, xp, k, 100, args.threads, 0, out, args.init, tol="0")
                with open(out, "rb") as f:
                    outputs[name] = f.read()
                seeding = run_dkm(binary, xp, k, 0, args.threads, 0, out, args.init, tol="0")
                lloyd[name].append(full["wall"] - seeding["wall"])
                print(f"  run {rep} {name}: {full['wall']:.3f} s, seeding {seeding['wall']:.3f} s", file=sys.stderr)
            if outputs["other"] != outputs["this"]:
                sys.exit(f"{n} x {d}, K = {k}: the two builds' outputs differ")
        other, this = statistics.median(lloyd["other"]), statistics.median(lloyd["this"])
        print(f"| {n:,} | {d} | {k} | {other:.3f} | {this:.3f} | {other / this:.2f} | identical |", flush=True)


def main():
    global np
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dkm", default="build/tools/dkm")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cases", default="all", help="all, or indices into the case list, e.g. 0,2")
    ap.add_argument("--init", default="k-means++", help="dkm's seeding: k-means++ or afk-mc2")
    ap.add_argument("--seedings", action="store_true", help="dkm alone: k-means++ against afk-mc2")
    ap.add_argument("--lloyd", metavar="OTHER_DKM", help="dkm alone: Lloyd's time against another dkm build")
    args = ap.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import numpy
    np = numpy
    import sklearn
    cases = CASES if args.cases == "all" else [CASES[int(i)] for i in args.cases.split(",")]
    print(f"machine: {platform.node()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
          f"scikit-learn {sklearn.__version__}; {args.threads} threads; median of {args.repeat} alternating runs; "
          f"dkm --init {args.init}")
    print()
    if args.seedings:
        compare_seedings(args, cases)
        return
    if args.lloyd:
        compare_lloyd(args, cases)
        return
    print("| N | d | K | scikit-learn [s] | of it seeding [s] | dkm [s] | of it seeding [s] | scikit-learn / dkm "
          "| iterations sklearn / dkm | inertia dkm / sklearn |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n, d, k, x, xp, out in case_files(cases):
        rows = []
        for rep in range(args.repeat):
            seed = rep
            sk = run_sklearn(x, k, seed)
            dk = run_dkm(args.dkm, xp, k, 100, args.threads, seed, out, args.init)
            dk0 = run_dkm(args.dkm, xp, k, 0, args.threads, seed, out, args.init)
            rows.append(dict(sk=sk["wall"], sk_seed=sk["seeding"], dk=dk["wall"], dk_seed=dk0["wall"],
                             ratio=sk["wall"] / dk["wall"], it=f'{sk["iterations"]} / {dk["iterations"]}',
                             inertia=dk["inertia"] / sk["inertia"]))
            print(f"  run {rep}: {rows[-1]}", file=sys.stderr)
        med = {key: statistics.median(r[key] for r in rows) for key in ("sk", "sk_seed", "dk", "dk_seed",
                                                                      "ratio", "inertia")}
        print(f"| {n:,} | {d} | {k} | {med['sk']:.2f} | {med['sk_seed']:.2f} | {med['dk']:.3f} | "
              f"{med['dk_seed']:.3f} | {med['ratio']:.1f} | {rows[0]['it']} | {med['inertia']:.4f} |", flush=True)


if __name__ == "__main__":
    main()

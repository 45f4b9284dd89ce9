"""Weight sharing of one conv weight with dkm's k-means (numpy only). The compression ratio and every other
number come from the C++ code (dkm.compression_ratio, dkm.estimate), so Python and the CLI cannot disagree."""
import numpy as np

from dkm import _dkm

GRANULARITIES = ("row", "kernel", "filter", "scalar")


def vectors_of(weight, granularity="row"):
    """The (N, d) view of an OIHW conv weight cut into vectors (no copy for a C-contiguous float32 array).

    row: d = kernel width (the paper's default, ``weight.reshape(-1, s)``); kernel: d = kh*kw;
    filter: d = I*kh*kw; scalar: d = 1.
    """
    w = np.ascontiguousarray(weight, dtype=np.float32)
    if w.ndim != 4:
        raise ValueError(f"expected an OIHW conv weight (4-D), got shape {w.shape}")
    o, i, kh, kw = w.shape
    dim = {"row": kw, "kernel": kh * kw, "filter": i * kh * kw, "scalar": 1}.get(granularity)
    if dim is None:
        raise ValueError(f"granularity: expected one of {GRANULARITIES}, got {granularity!r}")
    return w.reshape(-1, dim)


def share_weight(name, weight, k, *, granularity="row", seed=0, bias=None, max_iter=300, tol=1e-4,
                 init="kmeans++"):
    """k-means of the weight's vectors; returns (shared OIHW weight, container layer dict).

    K is clamped to the number of distinct vectors (K == N leaves the layer unchanged in value).
    """
    vectors = vectors_of(weight, granularity)
    n, dim = vectors.shape
    k_used = int(min(k, _dkm.count_distinct(vectors, k)))
    r = _dkm.kmeans(vectors, k_used, seed=seed, max_iter=max_iter, tol=tol, init=init)
    shared = r["centers"][r["labels"]].reshape(np.shape(weight))
    mse = float(np.mean((shared - np.asarray(weight, dtype=np.float32)) ** 2))
    layer = {
        "name": name,
        "granularity": granularity,
        "weight_shape": [int(s) for s in np.shape(weight)],
        "k": k_used,
        "dim": int(dim),
        "seed": int(seed),
        "codebook": r["centers"],
        "labels": r["labels"],
        "bias": np.zeros(0, np.float32) if bias is None else np.ascontiguousarray(bias, dtype=np.float32),
        "mse": mse,
        "iterations": int(r["iterations"]),
    }
    return shared.astype(np.float32), layer

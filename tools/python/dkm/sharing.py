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
                 init="kmeans++", input_second_moment=None):
    """k-means of the weight's vectors; returns (shared OIHW weight, container layer dict).

    K is clamped to the number of distinct vectors (of non-zero weight, when weighted; K == N leaves the
    layer unchanged in value). input_second_moment: E[x^2] per input channel of the layer (dkm calibrate,
    dkm.torch.calibrate): activation-weighted k-means, each vector's squared error times the second moment
    of the channel it multiplies (docs/plan.md "Activation weighting").
    """
    vectors = vectors_of(weight, granularity)
    n, dim = vectors.shape
    weights = None
    counted = vectors
    if input_second_moment is not None:
        m2 = np.asarray(input_second_moment, dtype=np.float64).ravel()
        weights = _dkm.activation_weights(list(np.shape(weight)), granularity, m2.tolist())
        per_vector = weights.reshape(n, -1)
        counted = np.ascontiguousarray(vectors[(per_vector > 0).any(axis=1)])
    k_used = int(min(k, _dkm.count_distinct(counted, k)))
    r = _dkm.kmeans(vectors, k_used, seed=seed, max_iter=max_iter, tol=tol, init=init, weights=weights)
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
        "weighting": "plain" if weights is None else "activation",
    }
    return shared.astype(np.float32), layer

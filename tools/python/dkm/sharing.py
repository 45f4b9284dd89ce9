"""Weight sharing of one conv weight with dkm's k-means, and the paper's compression ratio (numpy only)."""
import math

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


def label_entropy_bits(labels, k):
    """H = -sum p log2 p of the label histogram: the reference code's index bits per vector."""
    counts = np.bincount(np.asarray(labels), minlength=k).astype(np.float64)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum())


def compression_ratio(original_params, layers, index="entropy"):
    """The paper's CR (reference/paper.md section 2): original bits (all conv and linear weights and biases
    at 32 bits) over compressed bits, where each shared layer costs its codebook K*d*32 bits plus N index
    bits of H (index="entropy", the reference code) or ceil(log2 K) (index="fixed") each, plus its biases
    at 32 bits; everything not shared stays at 32 bits.

    original_params: total weights + biases of the model; layers: container layer dicts.
    """
    original_bits = 32.0 * original_params
    compressed_bits = original_bits
    for layer in layers:
        n = len(layer["labels"])
        weights = n * layer["dim"]
        if index == "entropy":
            per_vector = label_entropy_bits(layer["labels"], layer["k"])
        elif index == "fixed":
            per_vector = math.ceil(math.log2(layer["k"])) if layer["k"] > 1 else 0
        else:
            raise ValueError(f"index: expected 'entropy' or 'fixed', got {index!r}")
        compressed_bits -= 32.0 * weights
        compressed_bits += 32.0 * layer["k"] * layer["dim"] + n * per_vector
    return original_bits / compressed_bits

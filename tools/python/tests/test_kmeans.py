import numpy as np
import pytest

import dkm

PAIRS = np.array([[0, 0], [2, 0], [10, 10], [10, 12], [20, 0], [22, 0]], dtype=np.float32)


def test_kmeans_hand_case():
    r = dkm.kmeans(PAIRS, 3, seed=7)
    assert r["centers"].shape == (3, 2) and r["centers"].dtype == np.float32
    assert r["labels"].dtype == np.int32 and r["labels"].shape == (6,)
    labels = r["labels"]
    assert labels[0] == labels[1] and labels[2] == labels[3] and labels[4] == labels[5]
    assert len(set(labels.tolist())) == 3
    got = sorted(map(tuple, r["centers"][labels[[0, 2, 4]]].tolist()))
    assert got == [(1.0, 0.0), (10.0, 11.0), (21.0, 0.0)]
    assert r["inertia"] == pytest.approx(6.0)
    assert r["converged"]
    assert dkm.inertia(PAIRS, r["centers"], labels) == pytest.approx(6.0)


def test_kmeans_is_deterministic_and_threads_do_not_matter():
    x = np.random.default_rng(0).normal(size=(500, 5)).astype(np.float32)
    a = dkm.kmeans(x, 8, seed=3, threads=1)
    b = dkm.kmeans(x, 8, seed=3, threads=2)
    assert np.array_equal(a["labels"], b["labels"]) and np.array_equal(a["centers"], b["centers"])


def test_outputs_own_their_buffers():
    r = dkm.kmeans(PAIRS, 2)
    centers = r["centers"]
    del r
    centers += 1.0  # writable and alive after the dict is gone
    assert centers.base is not None  # the capsule holding the C++ buffer


def test_non_float32_input_is_converted_and_1d_with_dim():
    r64 = dkm.kmeans(PAIRS.astype(np.float64), 3, seed=7)
    r1d = dkm.kmeans(PAIRS.reshape(-1), 3, seed=7, dim=2)
    assert r64["inertia"] == pytest.approx(6.0) and r1d["inertia"] == pytest.approx(6.0)


def test_count_distinct():
    x = np.array([[1, 1], [1, 1], [2, 2]], dtype=np.float32)
    assert dkm.count_distinct(x, 10) == 2


def test_bad_input_raises_value_error():
    with pytest.raises(ValueError):
        dkm.kmeans(PAIRS, 0)
    with pytest.raises(ValueError):
        dkm.kmeans(PAIRS, 7)  # more clusters than distinct points: refused, not clamped
    with pytest.raises(ValueError):
        dkm.kmeans(np.array([[0, np.nan]], dtype=np.float32), 1)
    with pytest.raises(ValueError):
        dkm.kmeans(PAIRS, 2, init="nonsense")
    with pytest.raises(ValueError):
        dkm.kmeans(np.zeros((2, 2, 2), np.float32), 1)

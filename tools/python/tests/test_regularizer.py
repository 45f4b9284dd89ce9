import numpy as np
import pytest

import dkm

PAIRS = np.array([[0, 0], [2, 0], [10, 10], [10, 12], [20, 0], [22, 0]], dtype=np.float32)


def test_hard_value_is_the_inertia_and_gradient_pulls_to_centres():
    b = dkm.hard_basis(PAIRS, 3, seed=7)
    assert b["variant"] == "hard" and b["k"] == 3 and b["warning"] == ""
    value, grad = dkm.regularizer(PAIRS, b, 2.0)  # lam = 2 cancels the 1/2: the inertia itself
    assert value == pytest.approx(dkm.kmeans(PAIRS, 3, seed=7)["inertia"])
    assert value == pytest.approx(6.0)
    means = np.array([[1, 0], [1, 0], [10, 11], [10, 11], [21, 0], [21, 0]], np.float32)
    np.testing.assert_allclose(grad, 2.0 * (PAIRS - means), atol=1e-6)


def test_gradient_written_in_place():
    b = dkm.hard_basis_from_labels(np.array([0, 0, 1, 1, 2, 2], np.int32), 2)
    out = np.full_like(PAIRS, 99.0)
    value, same = dkm.regularizer(PAIRS, b, 0.5, out)
    assert same is out
    assert value == pytest.approx(0.25 * 6.0)
    assert out[0, 0] == pytest.approx(-0.5)
    with pytest.raises(ValueError):  # a float64 buffer would only receive a converted copy: refused
        dkm.regularizer(PAIRS, b, 0.5, np.zeros((6, 2)))


def test_spectral_vacuous_for_k_at_least_s():
    w = np.random.default_rng(1).normal(size=(200, 5)).astype(np.float32)
    for k in (5, 8, 16):
        b = dkm.spectral_basis(w, k)
        assert b["vacuous"] and "vacuous" in b["warning"] and b["rank"] == 5
        value, grad = dkm.regularizer(w, b, 1.0)
        assert value <= 1e-10 * float((w.astype(np.float64) ** 2).sum())
        assert np.abs(grad).max() < 1e-5
    b = dkm.spectral_basis(w, 2)
    assert not b["vacuous"] and b["basis"].shape == (200, 2)
    s = b["singular_values"]
    value, _ = dkm.regularizer(w, b, 1.0)
    assert value == pytest.approx(0.5 * float((s[2:] ** 2).sum()), rel=1e-9)


def test_spectral_gradient_matches_finite_differences():
    w = np.random.default_rng(2).normal(size=(30, 4)).astype(np.float32)
    b = dkm.spectral_basis(w, 2)
    _, grad = dkm.regularizer(w, b, 0.1)
    h = np.float32(0.0625)
    for i, j in [(0, 0), (3, 2), (29, 3)]:
        up, down = w.copy(), w.copy()
        up[i, j] += h
        down[i, j] -= h
        numeric = (dkm.regularizer(up, b, 0.1)[0] - dkm.regularizer(down, b, 0.1)[0]) / (2 * h)
        assert grad[i, j] == pytest.approx(numeric, rel=1e-5, abs=1e-7)


def test_mismatched_sizes_raise():
    b = dkm.hard_basis_from_labels(np.array([0, 1], np.int32), 2)
    with pytest.raises(ValueError):
        dkm.regularizer(PAIRS, b, 1.0)
    with pytest.raises(ValueError):
        dkm.spectral_basis(PAIRS, 0)

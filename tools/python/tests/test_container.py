import numpy as np
import pytest

import dkm
from conftest import run_dkm


def lenet_conv2(seed=0):
    return np.random.default_rng(seed).normal(scale=0.05, size=(50, 20, 5, 5)).astype(np.float32)


def test_vectors_of_is_a_view():
    w = lenet_conv2()
    v = dkm.vectors_of(w, "row")
    assert v.shape == (5000, 5) and np.shares_memory(v, w)
    assert dkm.vectors_of(w, "kernel").shape == (1000, 25)
    assert dkm.vectors_of(w, "filter").shape == (50, 500)
    with pytest.raises(ValueError):
        dkm.vectors_of(w, "diagonal")


def test_share_write_read_decompress_round_trip(tmp_path):
    w = lenet_conv2()
    bias = np.arange(50, dtype=np.float32)
    shared, layer = dkm.share_weight("conv2", w, 4, seed=1000, bias=bias)
    assert layer["k"] == 4 and layer["dim"] == 5 and layer["labels"].shape == (5000,)
    assert len(np.unique(shared.reshape(-1, 5), axis=0)) == 4
    assert layer["mse"] == pytest.approx(float(np.mean((shared - w) ** 2)))
    path = tmp_path / "m.dkmc"
    dkm.write_compressed(str(path), {"model": "lenet5", "layers": [layer]})
    back = dkm.read_compressed(str(path))
    assert back["model"] == "lenet5" and len(back["layers"]) == 1
    got = back["layers"][0]
    np.testing.assert_array_equal(got["codebook"], layer["codebook"])
    np.testing.assert_array_equal(got["labels"], layer["labels"])
    np.testing.assert_array_equal(got["bias"], bias)
    weights = dkm.decompress(back)
    np.testing.assert_array_equal(weights["conv2.weight"], shared)
    np.testing.assert_array_equal(weights["conv2.bias"], bias)


def test_bad_container_names_the_file(tmp_path):
    path = tmp_path / "broken.dkmc"
    path.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    with pytest.raises(ValueError, match="broken.dkmc"):
        dkm.read_compressed(str(path))
    with pytest.raises(ValueError):
        dkm.read_compressed(str(tmp_path / "missing.dkmc"))


def test_compression_ratio_by_hand(tmp_path):
    # One conv layer of 10 row vectors of 2 weights (no bias): 20 weights, 640 bits before.
    spec = tmp_path / "tiny.json"
    spec.write_text('{"format": "dkm-model/1", "name": "tiny", "input": [1, 1, 4], "layers": ['
                    '{"name": "c", "type": "conv2d", "out_channels": 10, "kernel": [1, 2], "bias": false}]}')
    model = dkm.load_model(str(spec))
    layer = {"name": "c", "weight_shape": [10, 1, 1, 2], "k": 2, "dim": 2,
             "codebook": np.array([[0.5, 1.0], [2.0, 3.0]], np.float32), "labels": np.array([0, 1] * 5, np.int32)}
    # K = 2, labels half and half: entropy 1 bit per vector; 2*2*32 + 10*1 = 138 bits after.
    r = dkm.compression_ratio(model, {"model": "tiny", "layers": [layer]})
    assert r["original_bits"] == 640
    assert r["ratio"]["entropy"] == pytest.approx(640 / 138)
    assert r["ratio"]["fixed"] == pytest.approx(640 / 138)
    layer["labels"] = np.zeros(10, np.int32)  # entropy 0, fixed-length still 1 bit
    r = dkm.compression_ratio(model, {"model": "tiny", "layers": [layer]})
    assert r["ratio"]["entropy"] == pytest.approx(640 / 128)
    assert r["ratio"]["fixed"] == pytest.approx(640 / 138)
    # K == N keeps the layer as it was, for the ratio and the energy alike (the CLI's one rule).
    keep = dict(layer, k=10, codebook=np.arange(20, dtype=np.float32).reshape(10, 2) + 1,
                labels=np.arange(10, dtype=np.int32))
    r = dkm.compression_ratio(model, {"model": "tiny", "layers": [keep]})
    assert r["ratio"]["entropy"] == pytest.approx(1.0) and r["layers"] == []
    e = dkm.estimate(model, "eyeriss-65nm", compressed={"model": "tiny", "layers": [keep]})
    assert e["layers"][0]["k"] == 0 and "uncompressed" not in e
    # A container written for another model is refused, as by `dkm estimate --compressed`.
    with pytest.raises(ValueError, match="__metadata__.model: expected a container written for model"):
        dkm.estimate(model, "eyeriss-65nm", compressed={"model": "lenet5", "layers": [keep]})


def test_models_and_estimate_of_a_compressed_lenet(tmp_path):
    assert "lenet5" in dkm.zoo_names()
    model = dkm.load_model("lenet5")
    assert model.name == "lenet5"
    assert [l["name"] for l in model.layers if l["kind"] == "conv2d"] == ["conv1", "conv2"]
    dense = dkm.estimate(model, "eyeriss-65nm")
    assert dense["totals"]["macs"] == model.total_macs()
    assert "uncompressed" not in dense
    _, layer = dkm.share_weight("conv2", lenet_conv2(), 4)
    shared = dkm.estimate(model, "eyeriss-65nm", compressed={"model": "lenet5", "layers": [layer]})
    assert shared["uncompressed"]["paper_energy"] == pytest.approx(dense["totals"]["paper_energy"])
    assert shared["totals"]["paper_energy"] < dense["totals"]["paper_energy"]
    conv2 = next(l for l in shared["layers"] if l["name"] == "conv2")
    assert conv2["k"] == 4 and conv2["index_bits"] == 2
    with pytest.raises(ValueError):
        dkm.load_model("no-such-model")
    with pytest.raises(ValueError):
        dkm.estimate(model, "no-such-profile")


def test_plans():
    plan = dkm.parse_plan('{"format": "dkm-plan/1", "defaults": {"k": 4}}')
    settings = dkm.resolve_plan(plan, dkm.load_model("lenet5"))
    assert [s["layer"] for s in settings] == ["conv1", "conv2"]
    assert all(s["k"] == 4 and s["granularity"] == "row" and s["dim"] == 5 for s in settings)
    assert [s["vectors"] for s in settings] == [100, 5000]
    with pytest.raises(ValueError):
        dkm.parse_plan('{"format": "dkm-plan/1", "bogus": 1}')


def test_cli_reads_a_container_written_from_python(tmp_path, dkm_binary):
    _, layer = dkm.share_weight("conv2", lenet_conv2(), 4)
    path = str(tmp_path / "lenet5.dkmc")
    dkm.write_compressed(path, {"model": "lenet5", "layers": [layer]})
    r = run_dkm(dkm_binary, "estimate", "lenet5", "--compressed", path, "--json", str(tmp_path / "e.json"))
    assert r.returncode == 0, r.stderr
    assert "conv2" in r.stdout
    out = tmp_path / "report.html"
    r = run_dkm(dkm_binary, "report", "lenet5", "--compressed", path, "-o", str(out), "--no-sweep")
    assert r.returncode == 0, r.stderr
    assert "compressed model" in out.read_text()

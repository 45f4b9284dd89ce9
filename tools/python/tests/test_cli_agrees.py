"""Python and the CLI run the same C++ code for every number (issue: one set of rules): on the shipped
WRN-16-4 plans the energies and compression ratios they report are the same doubles."""
import json

import numpy as np
import pytest

import dkm
from conftest import run_dkm

WRN_PLANS = ["wrn-16-4-cr45", "wrn-16-4-cr47", "wrn-16-4-cr50"]


@pytest.mark.parametrize("plan", WRN_PLANS)
def test_estimate_of_a_plan_agrees(tmp_path, dkm_binary, plan):
    out = tmp_path / "e.json"
    r = run_dkm(dkm_binary, "estimate", "wrn-16-4", "--plan", plan, "--json", str(out))
    assert r.returncode == 0, r.stderr
    cli = json.loads(out.read_text())
    py = dkm.estimate(dkm.load_model("wrn-16-4"), "eyeriss-65nm", plan=plan)
    assert py["totals"]["paper_energy"] == cli["totals"]["paper_metric_energy"]
    assert py["totals"]["hierarchy_energy"] == cli["totals"]["hierarchy_energy"]
    assert py["uncompressed"]["paper_energy"] == cli["uncompressed_totals"]["paper_metric_energy"]
    by_name = {l["layer"]: l for l in cli["layers"]}
    for layer in py["layers"]:
        assert layer["paper_energy"] == by_name[layer["name"]]["paper_energy_mac_normalised"]
        assert layer["hierarchy_energy"] == by_name[layer["name"]]["hierarchy_energy_mac_normalised"]


def test_compression_ratio_of_a_container_agrees(tmp_path, dkm_binary):
    container, summary = tmp_path / "c.safetensors", tmp_path / "c.json"
    r = run_dkm(dkm_binary, "compress", "wrn-16-4", "--plan", "wrn-16-4-cr47", "--random-weights", "7",
                "-o", str(container), "--json", str(summary))
    assert r.returncode == 0, r.stderr
    cli = json.loads(summary.read_text())
    model = dkm.load_model("wrn-16-4")
    py = dkm.compression_ratio(model, str(container))
    assert py["original_bits"] == cli["original_bits"]
    for way in ("fixed", "entropy", "huffman"):
        assert py["total_bits"][way] == cli["compressed_bits"][way]
    # The estimate of the same container: the CLI and Python price every layer alike.
    out = tmp_path / "e.json"
    r = run_dkm(dkm_binary, "estimate", "wrn-16-4", "--compressed", str(container), "--json", str(out))
    assert r.returncode == 0, r.stderr
    est = json.loads(out.read_text())
    py_est = dkm.estimate(model, "eyeriss-65nm", compressed=str(container))
    assert py_est["totals"]["paper_energy"] == est["totals"]["paper_metric_energy"]
    assert py_est["totals"]["hierarchy_energy"] == est["totals"]["hierarchy_energy"]
    assert py_est["compression_ratio"]["ratio"]["entropy"] == py["ratio"]["entropy"]
    assert np.isfinite(py["ratio"]["huffman"])

#!/usr/bin/python3
"""ConvTranspose against PyTorch (docs/onnx.md): torch.nn.ConvTranspose2d layers with stride 2, padding,
output_padding, groups and dilation, exported to ONNX, then
  - `dkm info --json`: parameters equal to PyTorch's, MACs equal to a forward-hook count of the scatter form
    (input elements x weights per input channel, docs/model-spec.md), every layer's shape equal to PyTorch's;
  - `dkm run`: outputs within 1e-5 x RMS of PyTorch's;
  - `dkm compress --onnx-out` at K = 4 (scalar): the written ConvTranspose weights hold at most 4 values.

Usage: conv_transpose_torch.py --dkm BIN
Exit codes: 0 equal, 1 a difference, 77 skipped (python3-torch, python3-numpy or python3-onnx missing).
"""
import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

SKIP = 77
TOLERANCE = 1e-5  # of the reference output's RMS

try:
    import numpy as np
    import onnx
    import onnx.numpy_helper
    import torch
except ImportError as e:
    print(f"skipped: {e.name} is missing (apt-get install python3-torch python3-numpy python3-onnx)")
    sys.exit(SKIP)


def variants():
    """name -> (module, input shape): each ConvTranspose2d setting the issue names, and all of them at once."""
    nn = torch.nn
    return {
        "stride2_pad_outpad": (nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1), (1, 4, 7, 9)),
        "groups_no_bias": (nn.ConvTranspose2d(6, 4, 4, stride=2, padding=1, groups=2, bias=False), (1, 6, 5, 5)),
        "dilation": (nn.ConvTranspose2d(4, 3, 3, stride=1, padding=2, dilation=2), (1, 4, 6, 5)),
        "depthwise": (nn.ConvTranspose2d(4, 4, 2, stride=2, groups=4), (1, 4, 5, 6)),
        "mixed": (nn.Sequential(
            nn.ConvTranspose2d(3, 6, (3, 2), stride=(2, 3), padding=(1, 0), output_padding=(1, 2), dilation=(1, 2)),
            nn.ReLU(),
            nn.ConvTranspose2d(6, 4, 3, stride=2, padding=1, output_padding=1, groups=2, dilation=2),
        ), (2, 3, 4, 5)),
    }


def torch_facts(model, shape):
    """Parameters, scatter-form MACs per image and every ConvTranspose2d output shape, from PyTorch."""
    macs, shapes = [0], []

    def hook(module, inputs, output):
        x, w = inputs[0], module.weight
        macs[0] += x[0].numel() * (w.numel() // w.shape[0])
        shapes.append(list(output.shape[1:]))

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    x = torch.randn(*shape)
    with torch.no_grad():
        y = model(x)
    for h in handles:
        h.remove()
    return {"params": sum(p.numel() for p in model.parameters()), "macs": macs[0], "shapes": shapes}, x, y


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dkm", required=True)
    args = parser.parse_args()
    failures = []
    with tempfile.TemporaryDirectory(prefix="dkm-convt-") as tmp:
        tmp = Path(tmp)
        for name, (model, shape) in variants().items():
            torch.manual_seed(0)
            for p in model.parameters():
                torch.nn.init.uniform_(p, -0.5, 0.5)
            model.eval()
            facts, x, y = torch_facts(model, shape)
            path = tmp / f"{name}.onnx"
            torch.onnx.export(model, x, str(path), opset_version=13, input_names=["x"], output_names=["y"])

            info = subprocess.run([args.dkm, "info", str(path), "--json"], capture_output=True, text=True)
            if info.returncode != 0:
                failures.append(f"{name}: dkm info failed: {info.stderr.strip()}")
                continue
            doc = json.loads(info.stdout)
            if doc["totals"]["params"] != facts["params"]:
                failures.append(f"{name}: params {doc['totals']['params']} != PyTorch {facts['params']}")
            if doc["totals"]["macs"] != facts["macs"]:
                failures.append(f"{name}: MACs {doc['totals']['macs']} != PyTorch hooks {facts['macs']}")
            dkm_shapes = [l["output_shape"] for l in doc["layers"] if l["type"] == "conv_transpose2d"]
            if dkm_shapes != facts["shapes"]:
                failures.append(f"{name}: shapes {dkm_shapes} != PyTorch {facts['shapes']}")

            np.save(tmp / f"{name}.x.npy", x.numpy())
            run = subprocess.run([args.dkm, "run", str(path), "--input", str(tmp / f"{name}.x.npy"), "-o",
                                  str(tmp / f"{name}.out.npz")], capture_output=True, text=True)
            if run.returncode != 0:
                failures.append(f"{name}: dkm run failed: {run.stderr.strip()}")
            else:
                outs = np.load(tmp / f"{name}.out.npz")
                got = outs[outs.files[0]]
                want = y.numpy()
                rms = float(np.sqrt(np.mean(want.astype(np.float64) ** 2)))
                err = float(np.max(np.abs(got.astype(np.float64) - want))) if got.shape == want.shape else None
                if err is None or err > TOLERANCE * rms:
                    failures.append(f"{name}: dkm run output {got.shape} differs from PyTorch's {want.shape} "
                                    f"(max |diff| {err}, RMS {rms})")

            plan = tmp / "k4.plan.json"
            plan.write_text(json.dumps({"format": "dkm-plan/1", "defaults": {"k": 4, "granularity": "scalar"}}))
            out = tmp / f"{name}.k4.onnx"
            comp = subprocess.run([args.dkm, "compress", str(path), "--plan", str(plan), "-o", str(tmp / f"{name}.dkmc"),
                                   "--onnx-out", str(out)], capture_output=True, text=True)
            if comp.returncode != 0:
                failures.append(f"{name}: dkm compress failed: {comp.stderr.strip()}")
                continue
            exported = onnx.load(str(out))
            inits = {t.name: onnx.numpy_helper.to_array(t) for t in exported.graph.initializer}
            for node in exported.graph.node:
                if node.op_type == "ConvTranspose":
                    w = inits[node.input[1]]
                    if len(np.unique(w)) > 4:
                        failures.append(f"{name}: exported weight {node.input[1]} holds {len(np.unique(w))} values, "
                                        "expected at most K = 4")
            print(f"{name}: params {facts['params']}, MACs {facts['macs']}, shapes {facts['shapes']}", flush=True)
    for f in failures:
        print("FAIL " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

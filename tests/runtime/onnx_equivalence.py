#!/usr/bin/python3
"""`dkm run` against onnxruntime-node (docs/inference.md): ONNX exports of torchvision CNNs with random
weights (fixed seed) and, when fetched, the real BlazeFace. Every layer whose ONNX tensor has the layout dkm
gives is compared; the check is max |dkm - onnxruntime| <= 1e-5 x RMS(onnxruntime) per tensor.

Usage: onnx_equivalence.py --dkm BIN [--models resnet18,mobilenet_v2,squeezenet1_1] [--size 128]
       [--blazeface PATH] [--json OUT]
Exit codes: 0 equal, 1 a tensor differs, 77 skipped (torch, torchvision, onnx, node or onnxruntime-node
missing).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
TOLERANCE = 1e-5  # of the reference tensor's RMS


def skip(why):
    print(f"skipped: {why}")
    sys.exit(SKIP)


try:
    import numpy as np
    import onnx
    import torch
    import torchvision
except ImportError as e:
    skip(f"{e.name} is missing (apt-get install python3-torchvision python3-onnx)")


def export_torchvision(name, size, path):
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)()
    # Random running statistics too, so the batch norms folded into the convs do something.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
    model.eval()
    x = torch.zeros(2, 3, size, size)
    torch.onnx.export(model, x, path, opset_version=13, input_names=["x"], output_names=["y"],
                      do_constant_folding=True)


def with_all_outputs(src, dst, wanted):
    """Copies the model with the named tensors added as graph outputs."""
    m = onnx.load(src)
    have = {o.name for o in m.graph.output}
    for name in wanted:
        if name not in have:
            m.graph.output.append(onnx.helper.make_empty_tensor_value_info(name))
            have.add(name)
    onnx.save(m, dst)


def suffixes(node_name):
    """The names the import may give a node: itself, or without a leading path it shares with all nodes."""
    parts = node_name.split("/")
    return [node_name] + ["/".join(parts[i:]) for i in range(1, len(parts)) if parts[i:] != [""]]


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        print(f"failed: {' '.join(cmd)}\n{r.stdout}{r.stderr}")
        sys.exit(1)
    return r.stdout


def compare(label, onnx_path, dkm, modules, work, nhwc, size):
    spec_path = os.path.join(work, "spec.json")
    run([dkm, "import", onnx_path, "-o", spec_path])
    spec = json.load(open(spec_path))
    c, h, w = spec["input"]
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(spec.get("batch", 1), c, h, w)).astype(np.float32)
    x_path = os.path.join(work, "x.npy")
    np.save(x_path, x)
    ours = os.path.join(work, "dkm.npz")
    run([dkm, "run", onnx_path, "--input", x_path, "-o", ours, "--all-layers", "--threads", "2"])
    got = np.load(ours)
    # dkm's layers are named after ONNX nodes; their first output is the tensor to compare.
    graph = onnx.load(onnx_path).graph
    node_output = {}
    for n in graph.node:
        for key in suffixes(n.name):
            node_output.setdefault(key, n.output[0])
    names = [l["name"] for l in spec["layers"] if l["name"] in node_output]
    extended = os.path.join(work, "all-outputs.onnx")
    with_all_outputs(onnx_path, extended, [node_output[n] for n in names])
    ref_dir = os.path.join(work, "ort")
    cmd = ["node", os.path.join(SOURCE, "tools/evaluate/ort-outputs.mjs"), "--modules", modules]
    run(cmd + (["--nhwc"] if nhwc else []) + [extended, x_path, ref_dir])
    ort_names = json.load(open(os.path.join(ref_dir, "names.json")))
    ref = {n: np.load(os.path.join(ref_dir, f"{i}.npy")) for i, n in enumerate(ort_names)}
    rows, worst, skipped = [], (0.0, None), []
    kinds = {l["name"]: l["type"] for l in spec["layers"]}
    producer = {}
    for i, l in enumerate(spec["layers"]):
        ins = l.get("inputs", spec["layers"][i - 1]["name"] if i else "input")
        producer[l["name"]] = ins if isinstance(ins, str) else ins[0]
    for name in names:
        r, d = ref[node_output[name]], got[name]
        src = got.get(producer[name])
        if nhwc and kinds[name] == "flatten" and src is not None and src.ndim == 4 and r.size == d.size:
            # An NHWC graph flattens (H, W, C); dkm's flatten keeps its NCHW order (C, H, W).
            d = src.transpose(0, 2, 3, 1).reshape(r.shape)
        if r.shape != d.shape:
            skipped.append(name)  # another layout (a tracked transpose, or flattened heads): not comparable
            continue
        rms = float(np.sqrt(np.mean(r.astype(np.float64) ** 2)))
        err = float(np.max(np.abs(r.astype(np.float64) - d))) / rms if rms > 0 else float(np.max(np.abs(d)))
        rows.append({"layer": name, "type": kinds[name], "max_abs_error_over_rms": err})
        if err >= worst[0]:
            worst = (err, name)
    read = set()
    for i, l in enumerate(spec["layers"]):
        ins = l.get("inputs", spec["layers"][i - 1]["name"] if i else "input")
        read.update([ins] if isinstance(ins, str) else ins)
    sinks = set(kinds) - read
    outputs = [r for r in rows if r["layer"] in sinks]
    result = {"model": label, "layers": len(spec["layers"]), "compared": len(rows),
              "not_comparable": skipped, "worst_max_abs_error_over_rms": worst[0], "worst_layer": worst[1],
              "outputs": outputs, "convs_compared": sum(1 for r in rows if r["type"] == "conv2d"),
              "convs": sum(1 for t in kinds.values() if t == "conv2d")}
    # Every conv and every model output must be compared.
    ok = worst[0] <= TOLERANCE and len(rows) > 0 and result["convs_compared"] == result["convs"] and \
        {r["layer"] for r in outputs} == sinks
    print(f"{label}: {len(rows)} of {len(spec['layers'])} layers compared "
          f"({result['convs_compared']}/{result['convs']} convs), worst max|err|/RMS {worst[0]:.2e} "
          f"at {worst[1]}; {'ok' if ok else 'DIFFERS'}")
    missing = sinks - {r["layer"] for r in outputs}
    if missing:
        print(f"  model outputs not compared: {', '.join(sorted(missing))}")
    if not ok:
        for r in rows:
            if r["max_abs_error_over_rms"] > TOLERANCE:
                print(f"  {r['layer']} ({r['type']}): {r['max_abs_error_over_rms']:.3e}")
    return ok, result


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dkm", required=True)
    p.add_argument("--models", default="resnet18,mobilenet_v2,squeezenet1_1")
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--blazeface", default=os.path.join(SOURCE, "tools/data/face_detection_front_128x128_barracuda.onnx"))
    p.add_argument("--json")
    a = p.parse_args()
    inst = subprocess.run([os.path.join(SOURCE, "tools/evaluate/install.sh")], capture_output=True, text=True)
    if inst.returncode != 0:
        skip(inst.stderr.strip() or "onnxruntime-node could not be installed")
    modules = inst.stdout.strip()
    torch.set_num_threads(2)
    all_ok, results = True, []
    with tempfile.TemporaryDirectory(prefix="dkm-equivalence-") as tmp:
        for name in [m for m in a.models.split(",") if m]:
            work = os.path.join(tmp, name)
            os.makedirs(work)
            path = os.path.join(work, f"{name}.onnx")
            export_torchvision(name, a.size, path)
            ok, r = compare(f"torchvision {name} (random weights, seed 0)", path, a.dkm, modules, work, False, a.size)
            all_ok, results = all_ok and ok, results + [r]
        if os.path.exists(a.blazeface):
            work = os.path.join(tmp, "blazeface")
            os.makedirs(work)
            ok, r = compare("BlazeFace front", a.blazeface, a.dkm, modules, work, True, 128)
            all_ok, results = all_ok and ok, results + [r]
        else:
            print(f"BlazeFace not compared: {a.blazeface} is absent (tools/fetch-blazeface.sh)")
    if a.json:
        json.dump(results, open(a.json, "w"), indent=1)
    sys.exit(0 if all_ok else 1)


if __name__ == "__main__":
    main()

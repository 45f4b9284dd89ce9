#!/usr/bin/env python3
"""Checks dkm's ONNX import against PyTorch on torchvision's classification zoo (docs/onnx.md).

    tools/zoo/onnx_zoo_check.py export --out DIR [MODEL ...]   # ONNX files and PyTorch's own counts
    tools/zoo/onnx_zoo_check.py check --out DIR --dkm build/tools/dkm [--table FILE.md] [MODEL ...]
    tools/zoo/onnx_zoo_check.py ci --dkm build/tools/dkm        # the representative subset, both steps
    tools/zoo/onnx_zoo_check.py run --out DIR --dkm build/tools/dkm --table FILE.md [MODEL ...]
                                                                # one model at a time: export, check, delete
    tools/zoo/onnx_zoo_check.py ort --out DIR --dkm build/tools/dkm --modules NODE_MODULES [MODEL ...]
                                                                # compressed exports in onnxruntime-node

Without MODEL names every classifier torchvision lists is used (80 in torchvision 0.14). Each model is built
with random weights (torch.manual_seed(0)), exported at opset 17 for one 3x224x224 image (3x299x299 for
inception_v3) with batch-norm kept as nodes (training=PRESERVE on a model in eval mode, so the export does
not fold it into the convolutions) and without constant folding (so parameters such as swin's relative
position table stay initializers instead of being replaced by what they compute), and beside it
NAME.torch.json records:
  params  sum of p.numel() over model.parameters()
  macs    multiply-accumulates of conv, linear and matmul for one image, counted by a function-level hook
          (torch.overrides.TorchFunctionMode): module forward hooks alone miss the F.linear and torch.matmul
          calls inside attention blocks (torchvision's swin and MultiheadAttention).
`check` runs `dkm info --json` on each file and requires: params equal and MACs equal; then `dkm estimate`
(default profile, mapper on) must price every layer with a finite, positive energy. The shapes need no
second check here: the importer itself compares every activation it computes with ONNX's own shape
inference and refuses the file on any difference (docs/onnx.md), so a model that imports has them equal.
Each checked model's row is kept as NAME.dkm.json, so `--table` lists every model checked into DIR so far.
`run` exports and checks one model at a time and deletes each ONNX file once checked (a few GB of disk at
most instead of the whole zoo's ~20 GB). Exit status 1
when any model fails; models PyTorch cannot export, or whose file would pass 2 GB (protobuf's limit), are
listed with the reason and are not failures. Needs python3-torch, python3-torchvision and python3-onnx.
"""
import argparse
import contextlib
import json
import math
import os
import pathlib
import subprocess
import sys
import time

SKIP = 77  # ctest SKIP_RETURN_CODE: torch or torchvision missing
CI_SUBSET = ["mobilenet_v3_small", "efficientnet_b0", "regnet_x_400mf", "shufflenet_v2_x0_5", "squeezenet1_1",
             "googlenet", "densenet121", "convnext_tiny", "swin_t", "vit_tiny"]
LIMIT_BYTES = 2 * 1024**3


def import_torch():
    try:
        import torch  # noqa: F401
        import torchvision  # noqa: F401
        import onnx  # noqa: F401
    except ImportError as e:
        print(f"onnx_zoo_check: skipped: {e} (install python3-torch python3-torchvision python3-onnx)")
        sys.exit(SKIP)


def build(name):
    import torch
    import torchvision
    torch.manual_seed(0)
    if name == "vit_tiny":  # a small ViT from torchvision's own class: every operator of vit_b_16, 1/20 the size
        from torchvision.models.vision_transformer import VisionTransformer
        model = VisionTransformer(image_size=224, patch_size=16, num_layers=2, num_heads=3, hidden_dim=192,
                                  mlp_dim=768)
        # torchvision initialises the head to zeros (logits 0 whatever comes before): drawn like the other
        # linear layers instead, so that the logits depend on every weight.
        torch.nn.init.normal_(model.heads.head.weight, std=0.02)
        torch.nn.init.normal_(model.heads.head.bias, std=0.02)
    else:
        kwargs = {"aux_logits": False, "init_weights": True} if name in ("googlenet", "inception_v3") else {}
        model = torchvision.models.get_model(name, weights=None, **kwargs)
    return model.eval()


class MacCounter:
    """Counts conv, linear and matmul multiply-accumulates of every call inside a forward pass."""

    def __init__(self):
        import torch
        self.macs = 0
        F = torch.nn.functional
        self.table = {F.conv2d: self.conv, F.linear: self.linear, torch.matmul: self.matmul,
                      torch.Tensor.matmul: self.matmul, torch.Tensor.__matmul__: self.matmul, torch.bmm: self.matmul,
                      torch.Tensor.bmm: self.matmul, torch.baddbmm: self.baddbmm, torch.addmm: self.baddbmm,
                      torch.einsum: self.einsum, F.multi_head_attention_forward: self.attention}

    def conv(self, out, x, w, *rest):
        self.macs += out.numel() * (w.numel() // w.shape[0])

    def linear(self, out, x, w, *rest):
        self.macs += out.numel() * w.shape[-1]

    def matmul(self, out, a, b, *rest):
        self.macs += out.numel() * a.shape[-1]

    def baddbmm(self, out, c, a, b, *rest):
        self.macs += out.numel() * a.shape[-1]

    def attention(self, out, query, key, value, embed_dim, num_heads, *rest):
        # A function mode does not see the calls inside a function it intercepts: MultiheadAttention's
        # projections and products are counted here (query [T, N, E], key and value [S, N, E]).
        t, n, e = query.shape
        s = key.shape[0]
        self.macs += t * n * e * e + 2 * s * n * e * e + 2 * n * t * s * e + t * n * e * e

    def einsum(self, out, equation, *ops):
        import math
        ops = ops[0] if len(ops) == 1 and isinstance(ops[0], (list, tuple)) else ops
        sizes = {}
        # Letters only: maxvit writes "B G H I D, B G H J D -> B G H I J", spaces between the letters.
        for term, t in zip(equation.replace(" ", "").split("->")[0].split(","), ops):
            sizes.update(zip(term, t.shape))
        self.macs += math.prod(sizes.values())

    def count(self, model, x):
        import torch
        counter = self

        class Mode(torch.overrides.TorchFunctionMode):
            def __torch_function__(self, func, types, args=(), kwargs=None):
                out = func(*args, **(kwargs or {}))
                if func in counter.table:
                    counter.table[func](out, *args)
                return out

        # Gradients on: MultiheadAttention's fused inference path (one aten call) is then not taken.
        # A function mode sees the outermost call of a composite function only; the table lists each
        # function whose MACs are counted from its arguments, composite ones (attention) included.
        with Mode():
            model(x)
        return self.macs // x.shape[0]


def export(names, out):
    import torch
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        if (out / f"{name}.torch.json").exists():  # exported before into this folder: kept (delete it to redo)
            continue
        facts = {"model": name}
        start = time.time()
        try:
            model = build(name)
            size = 299 if name == "inception_v3" else 224
            x = torch.randn(1, 3, size, size)
            facts["params"] = sum(p.numel() for p in model.parameters())
            facts["input"] = [1, 3, size, size]
            if facts["params"] * 4 > LIMIT_BYTES:
                facts["status"] = f"not exported: {facts['params'] * 4 / 1024**3:.2f} GiB of float32 weights, over " \
                                  "the 2 GB protobuf limit of one ONNX file"
            else:
                facts["macs"] = MacCounter().count(model, x)
                # MultiheadAttention takes its fused inference path (aten::_native_multi_head_attention, which
                # PyTorch 1.13 cannot export) when gradients are off and the head count is even (vit_b_16):
                # such models are traced with gradients on, which keeps the exportable composite path.
                attention = any(isinstance(m, torch.nn.MultiheadAttention) for m in model.modules())
                with contextlib.nullcontext() if attention else torch.no_grad():
                    torch.onnx.export(model, x, str(out / f"{name}.onnx"), opset_version=17,
                                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False,
                                      input_names=["input"], output_names=["logits"])
                facts["status"] = "exported"
        except Exception as e:  # noqa: BLE001 - the reason is the result
            facts["status"] = "not exported: " + " ".join(str(e).split())[:300]
        facts["export_s"] = round(time.time() - start, 1)
        (out / f"{name}.torch.json").write_text(json.dumps(facts, indent=1) + "\n")
        print(f"{name}: {facts['status']} ({facts['export_s']} s)", flush=True)


def estimate_problems(dkm, path):
    """`dkm estimate` on the imported model (default profile, the mapper on): exit 0, and every layer and
    elementwise layer priced with a finite, positive energy."""
    run = subprocess.run([dkm, "estimate", str(path), "--json", "-"], capture_output=True, text=True)
    if run.returncode != 0:
        return ["estimate: " + (run.stderr.strip().splitlines() or ["exit %d" % run.returncode])[-1][:200]]
    report = json.loads(run.stdout)
    problems = []
    unit = report["energy_unit"]
    for layer in report["layers"] + report["elementwise_layers"]:
        keys = [f"hierarchy_energy_{unit}"] if "macs" in layer else [f"ops_energy_{unit}", f"traffic_energy_{unit}"]
        energy = sum(layer[k] for k in keys) if all(isinstance(layer.get(k), (int, float)) for k in keys) else None
        if energy is None or not math.isfinite(energy) or energy <= 0:
            problems.append(f"estimate: layer {layer.get('layer')} priced at {energy}")
    return problems[:3]


def check(names, out, dkm):
    failures = 0
    for name in names:
        facts = json.loads((out / f"{name}.torch.json").read_text())
        row = {"model": name, "params": facts.get("params"), "macs": facts.get("macs"), "import_s": None,
               "elementwise": None, "status": facts["status"]}
        if facts["status"] == "exported":
            path = out / f"{name}.onnx"
            start = time.time()
            run = subprocess.run([dkm, "info", str(path), "--json"], capture_output=True, text=True)
            row["import_s"] = round(time.time() - start, 2)
            if run.returncode != 0:
                row["status"] = "FAIL: " + run.stderr.strip().splitlines()[-1][:200]
            else:
                info = json.loads(run.stdout)
                problems = []
                t = info["totals"]
                row["elementwise"] = t["element_ops"]
                if t["params"] != facts["params"]:
                    problems.append(f"params {t['params']} != PyTorch {facts['params']}")
                if t["macs"] != facts["macs"]:
                    problems.append(f"MACs {t['macs']} != PyTorch {facts['macs']}")
                problems += estimate_problems(dkm, path)
                row["status"] = "ok" if not problems else "FAIL: " + "; ".join(problems)
            failures += row["status"] != "ok"
        (out / f"{name}.dkm.json").write_text(json.dumps(row, indent=1) + "\n")
        print(f"{name}: {row['status']}", flush=True)
    return failures


# Plans of the onnxruntime check: every conv and linear layer kept (K = N) or shared at K = 256.
ORT_PLANS = {
    "lossless": {"cluster_rate": 1.0},
    "k256": {"k": 256, "granularity": "scalar", "init": "optimal-1d"},
}
ORT_SUBSET = ["mobilenet_v3_small", "efficientnet_b0", "vit_tiny"]


def ort(names, out, dkm, modules, table):
    """dkm compress --onnx-out at lossless K and at K = 256 (conv and linear layers), then both files in
    onnxruntime-node on one fixed input (tools/zoo/ort_compare.mjs): the largest output difference."""
    lines = ["| model | lossless: max abs difference | K = 256: max abs difference | largest abs logit |",
             "|---|---|---|---|"]
    failures = 0
    here = pathlib.Path(__file__).resolve().parent
    for name in names:
        export([name], out)
        facts = json.loads((out / f"{name}.torch.json").read_text())
        src = out / f"{name}.onnx"
        diffs, scale = {}, None
        for label, settings in ORT_PLANS.items():
            plan = out / f"{name}.{label}.plan.json"
            plan.write_text(json.dumps({"format": "dkm-plan/1", "layer_types": ["conv2d", "linear"],
                                        "defaults": settings}) + "\n")
            exported = out / f"{name}.{label}.onnx"
            subprocess.run([dkm, "compress", str(src), "--plan", str(plan), "-o", str(out / f"{name}.{label}.dkmc"),
                            "--onnx-out", str(exported)], check=True, capture_output=True)
            run = subprocess.run(["node", str(here / "ort_compare.mjs"), "--modules", modules, str(src), str(exported),
                                  str(facts["input"][-1])], check=True, capture_output=True, text=True)
            result = json.loads(run.stdout)
            diffs[label], scale = result["max_abs_diff"], result["max_abs_output"]
            exported.unlink()
        # Lossless means equal; K = 256 is reported as measured.
        status = "ok" if diffs["lossless"] == 0 else "FAIL: lossless export differs"
        failures += status != "ok"
        lines.append(f"| {name} | {diffs['lossless']:.3g} | {diffs['k256']:.3g} | {scale:.3g} |")
        print(f"{name}: lossless {diffs['lossless']:.3g}, K=256 {diffs['k256']:.3g}, largest logit {scale:.3g}: {status}",
              flush=True)
    if table:
        pathlib.Path(table).write_text("\n".join(lines) + "\n")
    return failures


def pipeline(name, out, dkm):
    """compress, estimate, report and export on an imported transformer with its linear layers shared
    (K = 16 per layer, scalar): each command succeeds, every linear layer is priced compressed, and the
    exported file imports back with the decompressed weights. Returns the problems found."""
    src, stem = out / f"{name}.onnx", out / f"{name}.pipeline"
    plan = pathlib.Path(f"{stem}.plan.json")
    plan.write_text(json.dumps({"format": "dkm-plan/1", "layer_types": ["conv2d", "linear"],
                                "defaults": {"k": 16, "granularity": "scalar", "init": "optimal-1d"}}) + "\n")
    steps = [
        ["compress", str(src), "--plan", str(plan), "-o", f"{stem}.dkmc", "--onnx-out", f"{stem}.onnx"],
        ["estimate", str(src), "--compressed", f"{stem}.dkmc", "--json", f"{stem}.estimate.json"],
        ["report", str(src), "--compressed", f"{stem}.dkmc", "--no-sweep", "-o", f"{stem}.html"],
        ["decompress", f"{stem}.dkmc", "-o", f"{stem}.safetensors"],
        ["export", str(src), "--weights", f"{stem}.safetensors", "-o", f"{stem}.export.onnx"],
        ["info", f"{stem}.export.onnx", "--json"],
    ]
    for step in steps:
        run = subprocess.run([dkm] + step, capture_output=True, text=True)
        if run.returncode != 0:
            return [f"dkm {step[0]}: " + (run.stderr.strip().splitlines() or ["exit " + str(run.returncode)])[-1][:200]]
    problems = []
    info = json.loads(subprocess.run([dkm, "info", str(src), "--json"], capture_output=True, text=True).stdout)
    linear = {l["name"] for l in info["layers"] if l["type"] == "linear"}
    estimate = json.loads(pathlib.Path(f"{stem}.estimate.json").read_text())
    priced = {l["layer"] for l in estimate["layers"] if l.get("k") == 16}
    if not linear or not linear <= priced:
        problems.append(f"linear layers not priced as shared: {sorted(linear - priced)[:5]}")
    for f in (f"{stem}.onnx", f"{stem}.export.onnx"):
        pathlib.Path(f).unlink()
    return problems


def write_table(out, table):
    """The markdown table of every model checked into OUT so far, sorted by name."""
    lines = ["| model | import (s) | params | MACs | element ops | status |", "|---|---|---|---|---|---|"]
    for path in sorted(out.glob("*.dkm.json")):
        r = json.loads(path.read_text())
        cell = lambda v: "" if v is None else f"{v:,}" if isinstance(v, int) else str(v)  # noqa: E731
        lines.append(f"| {r['model']} | {cell(r['import_s'])} | {cell(r['params'])} | {cell(r['macs'])} | "
                     f"{cell(r['elementwise'])} | {r['status']} |")
    pathlib.Path(table).write_text("\n".join(lines) + "\n")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("step", choices=["export", "check", "ci", "run", "ort"])
    p.add_argument("models", nargs="*")
    p.add_argument("--out", type=pathlib.Path, default=pathlib.Path("out/onnx-zoo"))
    p.add_argument("--dkm", default="build/tools/dkm")
    p.add_argument("--table", help="write the result table (markdown) here")
    p.add_argument("--modules", help="ort: the node_modules folder holding onnxruntime-node "
                                     "(tools/evaluate/install.sh prints it)")
    a = p.parse_intermixed_args()
    import_torch()
    import torchvision
    names = a.models or {"ci": CI_SUBSET, "ort": ORT_SUBSET}.get(a.step) or \
        torchvision.models.list_models(module=torchvision.models)
    torch_threads = os.environ.get("DKM_TORCH_THREADS")
    if torch_threads:
        import torch
        torch.set_num_threads(int(torch_threads))
    failures = 0
    if a.step == "run":
        for name in names:
            if (a.out / f"{name}.dkm.json").exists():  # checked before into this folder: kept
                continue
            if not (a.out / f"{name}.onnx").exists():  # an interrupted run's facts without their file: redone
                (a.out / f"{name}.torch.json").unlink(missing_ok=True)
            export([name], a.out)
            failures += check([name], a.out, a.dkm)
            (a.out / f"{name}.onnx").unlink(missing_ok=True)
    if a.step in ("export", "ci"):
        export(names, a.out)
    if a.step in ("check", "ci"):
        failures += check(names, a.out, a.dkm)
    if a.step == "ci" and "vit_tiny" in names:  # linear layers shared end to end on a transformer
        problems = pipeline("vit_tiny", a.out, a.dkm)
        print("vit_tiny pipeline (compress, estimate, report, decompress, export): " + ("; ".join(problems) or "ok"))
        failures += bool(problems)
    if a.step == "ort":
        if not a.modules:
            p.error("ort needs --modules (tools/evaluate/install.sh prints the folder)")
        failures += ort(names, a.out, a.dkm, a.modules, a.table)
    elif a.table:
        write_table(a.out, a.table)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

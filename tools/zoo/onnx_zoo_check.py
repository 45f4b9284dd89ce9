#!/usr/bin/env python3
"""Checks dkm's ONNX import against PyTorch on torchvision's classification zoo (docs/onnx.md).

    tools/zoo/onnx_zoo_check.py export --out DIR [MODEL ...]   # ONNX files and PyTorch's own counts
    tools/zoo/onnx_zoo_check.py check --out DIR --dkm build/tools/dkm [--table FILE.md] [MODEL ...]
    tools/zoo/onnx_zoo_check.py ci --dkm build/tools/dkm        # the representative subset, both steps

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
`check` runs `dkm info --json` on each file and requires: params equal and MACs equal. The shapes need no
second check here: the importer itself compares every activation it computes with ONNX's own shape
inference and refuses the file on any difference (docs/onnx.md), so a model that imports has them equal.
Exit status 1
when any model fails; models PyTorch cannot export, or whose file would pass 2 GB (protobuf's limit), are
listed with the reason and are not failures. Needs python3-torch, python3-torchvision and python3-onnx.
"""
import argparse
import json
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
        for term, t in zip(equation.split("->")[0].split(","), ops):
            sizes.update(zip(term.strip(), t.shape))
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
                with torch.no_grad():
                    torch.onnx.export(model, x, str(out / f"{name}.onnx"), opset_version=17,
                                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False,
                                      input_names=["input"], output_names=["logits"])
                facts["status"] = "exported"
        except Exception as e:  # noqa: BLE001 - the reason is the result
            facts["status"] = "not exported: " + " ".join(str(e).split())[:300]
        facts["export_s"] = round(time.time() - start, 1)
        (out / f"{name}.torch.json").write_text(json.dumps(facts, indent=1) + "\n")
        print(f"{name}: {facts['status']} ({facts['export_s']} s)", flush=True)


def check(names, out, dkm, table):
    rows, failures = [], 0
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
                row["status"] = "ok" if not problems else "FAIL: " + "; ".join(problems)
            failures += row["status"] != "ok"
        rows.append(row)
        print(f"{name}: {row['status']}", flush=True)
    if table:
        lines = ["| model | import (s) | params | MACs | element ops | status |", "|---|---|---|---|---|---|"]
        for r in rows:
            cell = lambda v: "" if v is None else f"{v:,}" if isinstance(v, int) else str(v)  # noqa: E731
            lines.append(f"| {r['model']} | {cell(r['import_s'])} | {cell(r['params'])} | {cell(r['macs'])} | "
                         f"{cell(r['elementwise'])} | {r['status']} |")
        pathlib.Path(table).write_text("\n".join(lines) + "\n")
    return failures


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("step", choices=["export", "check", "ci"])
    p.add_argument("models", nargs="*")
    p.add_argument("--out", type=pathlib.Path, default=pathlib.Path("out/onnx-zoo"))
    p.add_argument("--dkm", default="build/tools/dkm")
    p.add_argument("--table", help="write the result table (markdown) here")
    a = p.parse_intermixed_args()
    import_torch()
    import torchvision
    names = a.models or (CI_SUBSET if a.step == "ci" else torchvision.models.list_models(module=torchvision.models))
    torch_threads = os.environ.get("DKM_TORCH_THREADS")
    if torch_threads:
        import torch
        torch.set_num_threads(int(torch_threads))
    if a.step in ("export", "ci"):
        export(names, a.out)
    if a.step in ("check", "ci"):
        sys.exit(1 if check(names, a.out, a.dkm, a.table) else 0)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""A synthetic model of about 1e9 weights in safetensors shards, for `dkm compress` on a model larger than
memory (docs/benchmarks.md, "A model larger than memory").

Writes into OUT_DIR:
  big.json                          the model spec: LAYERS conv layers of C x C 1x1 kernels (input [C, 1, 1])
  big.scalar16.json                 the plan: every layer scalar, K = 16, k-means++, max_iter 100, tol 1e-4
  model.safetensors.index.json      Hugging Face's index: tensor name -> shard
  model-0000i-of-0000n.safetensors  the shards, SHARD_LAYERS layers each, float32
Weights are Student-t (4 degrees of freedom) x 0.05 as --random-weights draws them (not the same values),
one layer at a time, so this script itself holds one layer.

  /usr/bin/python3 tools/bench/gen_big_model.py OUT_DIR [--channels 4096] [--layers 60] [--shard-layers 10]

4096 x 4096 x 60 = 1,006,632,960 weights, 4.03 GB on disk. Needs python3-numpy.
"""
import argparse
import json
import os
import struct

import numpy as np


def student_t4(rng, count):
    """Student-t (4 degrees of freedom) x 0.05 in float32: Z / sqrt(chi2_4 / 4), chi2_4 / 4 = Gamma(2, 1) / 2
    (numpy's standard_t is several times slower, and this script writes 1e9 of them)."""
    z = rng.standard_normal(count, dtype=np.float32)
    g = rng.standard_gamma(np.float32(2), count, dtype=np.float32)
    g *= np.float32(0.5)
    np.sqrt(g, out=g)
    z /= g
    z *= np.float32(0.05)
    return z


def write_shard(path, names, shape, rng):
    count = int(np.prod(shape))
    size = count * 4
    header = {name: {"dtype": "F32", "shape": list(shape), "data_offsets": [i * size, (i + 1) * size]}
              for i, name in enumerate(names)}
    text = json.dumps(header, separators=(",", ":"))
    text += " " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text.encode())
        for _ in names:
            student_t4(rng, count).tofile(f)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--channels", type=int, default=4096)
    ap.add_argument("--layers", type=int, default=60)
    ap.add_argument("--shard-layers", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    os.makedirs(a.out_dir, exist_ok=True)
    c = a.channels
    names = [f"conv{i}" for i in range(a.layers)]
    spec = {"format": "dkm-model/1", "name": "big",
            "description": f"synthetic: {a.layers} conv layers of {c} x {c} 1x1 kernels "
                           f"({a.layers * c * c} weights), tools/bench/gen_big_model.py",
            "input": [c, 1, 1], "batch": 1, "weight_bits": 32, "act_bits": 32,
            "layers": [{"name": n, "type": "conv2d", "out_channels": c, "kernel": 1, "bias": False} for n in names]}
    plan = {"format": "dkm-plan/1", "model": "big",
            "description": "per-layer scalar k-means, K = 16 (Deep Compression style), k-means++ to tol 1e-4",
            "defaults": {"granularity": "scalar", "k": 16, "init": "k-means++", "max_iter": 100, "tol": 0.0001},
            "layers": []}
    with open(os.path.join(a.out_dir, "big.json"), "w") as f:
        json.dump(spec, f, indent=1)
    with open(os.path.join(a.out_dir, "big.scalar16.json"), "w") as f:
        json.dump(plan, f, indent=1)
    rng = np.random.default_rng(a.seed)
    shards = [names[i:i + a.shard_layers] for i in range(0, len(names), a.shard_layers)]
    weight_map = {}
    for i, layers in enumerate(shards):
        shard = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        write_shard(os.path.join(a.out_dir, shard), [n + ".weight" for n in layers], (c, c, 1, 1), rng)
        weight_map.update({n + ".weight": shard for n in layers})
    total = a.layers * c * c
    with open(os.path.join(a.out_dir, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total * 4}, "weight_map": weight_map}, f, indent=1)
    print(f"{total} weights in {len(shards)} shards under {a.out_dir}")


if __name__ == "__main__":
    main()

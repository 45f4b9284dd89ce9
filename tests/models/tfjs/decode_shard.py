#!/usr/bin/env python3
"""An independent decoder of TF.js weight shards (numpy only, not dkm): what the TF.js loader gives.

usage: decode_shard.py MANIFEST.json SHARD_DIR [NAME ...]
Prints JSON: {"params": total elements of every weight, "weights": {NAME: {"shape": [...], "values": [...]}}}
with each named weight's values in its stored (Keras) order, dequantised as tfjs-core's io/io_utils.ts does:
uint8/uint16 value * scale + min computed in double and stored as float32; float16 widened.
"""
import json
import sys

import numpy as np


def main():
    manifest_path, shard_dir, names = sys.argv[1], sys.argv[2], set(sys.argv[3:])
    with open(manifest_path) as f:
        manifest = json.load(f)
    if isinstance(manifest, dict):  # a model.json
        manifest = manifest["weightsManifest"]
    params, out = 0, {}
    for group in manifest:
        data = b"".join(open(f"{shard_dir}/{p}", "rb").read() for p in group["paths"])
        offset = 0
        for w in group["weights"]:
            n = int(np.prod(w["shape"], dtype=np.int64))
            params += n
            q = w.get("quantization")
            stored = np.dtype({"uint8": "<u1", "uint16": "<u2", "float16": "<f2"}[q["dtype"]] if q else "<f4")
            raw = np.frombuffer(data, dtype=stored, count=n, offset=offset)
            offset += n * stored.itemsize
            if w["name"] not in names:
                continue
            if q and q["dtype"] != "float16":
                values = (raw.astype(np.float64) * q["scale"] + q["min"]).astype(np.float32)
            else:
                values = raw.astype(np.float32)
            out[w["name"]] = {"shape": w["shape"], "values": [float(v) for v in values]}
    print(json.dumps({"params": params, "weights": out}))


if __name__ == "__main__":
    main()

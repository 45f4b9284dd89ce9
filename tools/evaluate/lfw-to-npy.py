#!/usr/bin/python3
"""The LFW check set of evaluate.mjs as arrays for `dkm evaluate` / `dkm calibrate` (docs/inference.md).

Usage: lfw-to-npy.py OUT_X.npy OUT_Y.npy [--size 128] [--data lfw_subset.npy]
Writes X (200, 3, size, size) float32 NCHW and y (200,) int64 (1 = face: the first 100 images, 0 after).
The preprocessing is evaluate.mjs's: bilinear resize with half-pixel centres and clamped edges, grey
replicated to RGB, scaled from [0, 1] to [-1, 1].
"""
import argparse

import numpy as np

DEFAULT_DATA = "/usr/lib/python3/dist-packages/skimage/data/lfw_subset.npy"


def resize_bilinear(img, out_h, out_w):
    h, w = img.shape
    sy = np.clip((np.arange(out_h) + 0.5) * (h / out_h) - 0.5, 0, h - 1)
    sx = np.clip((np.arange(out_w) + 0.5) * (w / out_w) - 0.5, 0, w - 1)
    y0, x0 = np.floor(sy).astype(int), np.floor(sx).astype(int)
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    fy, fx = (sy - y0)[:, None], (sx - x0)[None, :]
    top = img[y0][:, x0] * (1 - fx) + img[y0][:, x1] * fx
    bottom = img[y1][:, x0] * (1 - fx) + img[y1][:, x1] * fx
    return top * (1 - fy) + bottom * fy


def main():
    p = argparse.ArgumentParser()
    p.add_argument("x")
    p.add_argument("y")
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--data", default=DEFAULT_DATA)
    a = p.parse_args()
    images = np.load(a.data)
    x = np.empty((len(images), 3, a.size, a.size), dtype=np.float32)
    for i, img in enumerate(images):
        x[i] = (resize_bilinear(img, a.size, a.size) * 2 - 1).astype(np.float32)[None]
    y = (np.arange(len(images)) < len(images) // 2).astype(np.int64)
    np.save(a.x, x)
    np.save(a.y, y)


if __name__ == "__main__":
    main()

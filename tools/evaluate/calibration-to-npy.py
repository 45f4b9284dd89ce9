#!/usr/bin/python3
"""Calibration images for BlazeFace that are not from LFW (docs/validation.md "BlazeFace, activation-weighted"):
square crops of python3-skimage's sample photographs, preprocessed as lfw-to-npy.py does, for `dkm calibrate`.

Usage: calibration-to-npy.py OUT_X.npy [--count 96] [--size 128] [--seed 0]
Writes X (count, 3, size, size) float32 NCHW: crop i is taken from photograph i mod 12 (astronaut, camera,
coffee, chelsea, coins, rocket, horse, moon, page, brick, grass, motorcycle_left), a square of side uniform
in [1/4, 1] of the photograph's shorter side at a uniform position (numpy default_rng(seed)), converted to
grey (ITU-R 601 luma), bilinear-resized to size x size, replicated to RGB and scaled from [0, 1] to [-1, 1].
"""
import argparse
import importlib.util
import os

import numpy as np
from skimage import io

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = "/usr/lib/python3/dist-packages/skimage/data"
PHOTOS = ["astronaut.png", "camera.png", "coffee.png", "chelsea.png", "coins.png", "rocket.jpg", "horse.png",
          "moon.png", "page.png", "brick.png", "grass.png", "motorcycle_left.png"]


def lfw_module():
    spec = importlib.util.spec_from_file_location("lfw_to_npy", os.path.join(HERE, "lfw-to-npy.py"))
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


def grey(path):
    img = io.imread(path).astype(np.float64)
    if img.max() > 1:
        img = img / 255.0
    if img.ndim == 3:
        img = img[..., :3] @ np.array([0.299, 0.587, 0.114])
    return img


def main():
    p = argparse.ArgumentParser()
    p.add_argument("x")
    p.add_argument("--count", type=int, default=96)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    resize = lfw_module().resize_bilinear
    photos = [grey(os.path.join(DATA, name)) for name in PHOTOS]
    rng = np.random.default_rng(a.seed)
    x = np.empty((a.count, 3, a.size, a.size), dtype=np.float32)
    for i in range(a.count):
        img = photos[i % len(photos)]
        h, w = img.shape
        side = int(rng.uniform(0.25, 1.0) * min(h, w))
        top, left = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        crop = img[top:top + side, left:left + side]
        x[i] = (resize(crop, a.size, a.size) * 2 - 1).astype(np.float32)[None]
    np.save(a.x, x)


if __name__ == "__main__":
    main()

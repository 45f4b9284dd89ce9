#!/usr/bin/python3
"""A torchvision CNN whose outputs mean something, built here without downloads (docs/validation.md
"A trained torchvision CNN"): torchvision's resnet18 (random init, 10 classes) trained briefly on
scikit-learn's 8x8 digits upscaled to 32x32 grey replicated to RGB, exported to ONNX, with calibration and
test arrays for `dkm calibrate` / `dkm evaluate`.

Usage: digits-resnet.py OUT_DIR [--epochs 4] [--seed 0]
Writes OUT_DIR/resnet18-digits.onnx, calib_x.npy (the first 300 training images), test_x.npy / test_y.npy
(the 597 images of the held-out third, split by sklearn's train_test_split with random_state 0, stratified).
Training: Adam lr 1e-3, batch 64, torch.manual_seed(seed), one torch thread; eval mode for the export
(batch norms folded by the exporter), opset 13. Prints the float test accuracy.
"""
import argparse
import os

import numpy as np
import torch
import torchvision
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


def images(x):
    t = torch.from_numpy(x.reshape(-1, 1, 8, 8).astype(np.float32) / 16.0)
    t = torch.nn.functional.interpolate(t, size=(32, 32), mode="bilinear", align_corners=False)
    return (t * 2 - 1).repeat(1, 3, 1, 1).contiguous()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    d = load_digits()
    xtr, xte, ytr, yte = train_test_split(d.data, d.target, test_size=1 / 3, random_state=0, stratify=d.target)
    xtr, xte = images(xtr), images(xte)
    ytr_t = torch.from_numpy(ytr.astype(np.int64))
    model = torchvision.models.resnet18(num_classes=10)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(a.epochs):
        model.train()
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), 64):
            b = perm[i:i + 64]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(xtr[b]), ytr_t[b])
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        acc = (model(xte).argmax(1).numpy() == yte).mean() * 100
    os.makedirs(a.out, exist_ok=True)
    torch.onnx.export(model, xte[:1], os.path.join(a.out, "resnet18-digits.onnx"), opset_version=13,
                      input_names=["x"], output_names=["logits"], do_constant_folding=True)
    np.save(os.path.join(a.out, "calib_x.npy"), xtr[:300].numpy())
    np.save(os.path.join(a.out, "test_x.npy"), xte.numpy())
    np.save(os.path.join(a.out, "test_y.npy"), yte.astype(np.int64))
    print(f"float test accuracy {acc:.2f} % on {len(yte)} images")


if __name__ == "__main__":
    main()

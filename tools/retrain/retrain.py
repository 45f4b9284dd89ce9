"""Deep k-Means re-training of LeNet-5 (Caffe variant) on Fashion-MNIST: does the k-means regulariser make
row-wise weight sharing of conv1 and conv2 cheap in accuracy? (docs/retraining.md, docs/validation.md)

Run through tools/retrain/run.sh (it builds the dkm Python module first). Steps:
 1. train LeNet-5 briefly on 55,000 training images (5,000 held out for validation);
 2. fine-tune the trained model three ways, the same schedule each: no regulariser (the control), with the
    `hard` regulariser, with the `spectral` one; lambda per variant is chosen on the validation split at
    K = --select-k;
 3. share conv1 and conv2 row-wise at every K (dkm's k-means, 3 seeds) and report the test accuracy of the
    trained model shared as is (no re-training), of the control and of each variant, with the compression
    ratio and dkm's energy estimate.
Writes results.json and results.md into --out.
"""
import argparse
import copy
import gzip
import json
import os
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import dkm
from dkm.torch import DeepKMeans

DATA_DIR = "/usr/share/datasets/fashion-mnist"  # Debian's dataset-fashion-mnist
SHARED_LAYERS = ["conv1", "conv2"]


class LeNet5(nn.Module):
    """Caffe's examples/mnist/lenet.prototxt (the zoo's "lenet5"): conv 20@5x5, maxpool 2, conv 50@5x5,
    maxpool 2, ip1 800->500, ReLU, ip2 500->10. The fully connected layers run as convolutions (a 4x4 and a
    1x1 kernel over the same values in the same order) because Debian's torch is slow at nn.Linear."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, 5)
        self.conv2 = nn.Conv2d(20, 50, 5)
        self.ip1 = nn.Conv2d(50, 500, 4)
        self.ip2 = nn.Conv2d(500, 10, 1)

    def forward(self, x):
        x = F.max_pool2d(self.conv1(x), 2)
        x = F.max_pool2d(self.conv2(x), 2)
        x = F.relu(self.ip1(x))
        return self.ip2(x).flatten(1)


def read_idx(name):
    with gzip.open(os.path.join(DATA_DIR, name), "rb") as f:
        data = f.read()
    ndim = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_data(val_size, seed):
    def images(name):  # Caffe's LeNet scales pixels by 1/256
        return torch.from_numpy(read_idx(name).astype(np.float32) / 256.0).unsqueeze(1)

    x_train, y_train = images("train-images-idx3-ubyte.gz"), torch.from_numpy(read_idx("train-labels-idx1-ubyte.gz").astype(np.int64))
    x_test, y_test = images("t10k-images-idx3-ubyte.gz"), torch.from_numpy(read_idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))
    perm = torch.randperm(len(x_train), generator=torch.Generator().manual_seed(seed))
    val, train = perm[:val_size], perm[val_size:]
    return (x_train[train], y_train[train]), (x_train[val], y_train[val]), (x_test, y_test)


def train(model, data, epochs, lr, seed, batch, reg=None):
    """SGD with Caffe LeNet's momentum and weight decay; `reg` adds its penalty to the loss every step."""
    x, y = data
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), batch):
            idx = perm[i:i + batch]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            if reg is not None:
                loss = loss + reg.penalty()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model


@torch.no_grad()
def accuracy(model, data, batch=200):  # small batches run faster on CPU here
    x, y = data
    model.eval()
    correct = sum(int((model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum()) for i in range(0, len(x), batch))
    return 100.0 * correct / len(x)


def shared_copy(model, k, seed):
    """A copy of the model with conv1 and conv2 shared row-wise at K (dkm's k-means), and its container."""
    m = copy.deepcopy(model)
    compressed = DeepKMeans(m, k=k, layers=SHARED_LAYERS, seed=seed).share()
    return m, compressed


START = time.time()


def log(msg):
    print(f"[{time.time() - START:6.0f} s] {msg}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output folder (results.json, results.md, a container)")
    ap.add_argument("--ks", default="2,4,8,16")
    ap.add_argument("--seeds", default="0,1,2", help="k-means seeds of the final sharing")
    ap.add_argument("--train-epochs", type=int, default=3)
    ap.add_argument("--finetune-epochs", type=int, default=1)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--finetune-lr", type=float, default=0.01)
    ap.add_argument("--lambdas-hard", default="0.1,1,10")
    ap.add_argument("--lambdas-spectral", default="0.1,1,10")
    ap.add_argument("--select-k", type=int, default=4, help="K at which lambda is chosen on validation")
    ap.add_argument("--refresh-every", type=int, default=100, help="steps between k-means / SVD refreshes")
    ap.add_argument("--val-size", type=int, default=5000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--profile", default="eyeriss-65nm")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=64, help="SGD batch (Caffe LeNet's 64)")
    ap.add_argument("--train-subset", type=int, default=0, help="use only this many training images (smoke tests)")
    ap.add_argument("--finetune-subset", type=int, default=0,
                    help="fine-tune on the first N training images only (0 = all of the training split)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    ks = [int(k) for k in args.ks.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    lambdas = {"hard": [float(v) for v in args.lambdas_hard.split(",")],
               "spectral": [float(v) for v in args.lambdas_spectral.split(",")]}

    train_set, val_set, test_set = load_data(args.val_size, args.seed)
    if args.train_subset:
        train_set = (train_set[0][:args.train_subset], train_set[1][:args.train_subset])
    tune_set = train_set
    if args.finetune_subset:
        tune_set = (train_set[0][:args.finetune_subset], train_set[1][:args.finetune_subset])
    log(f"data: {len(train_set[0])} train, {len(val_set[0])} validation, {len(test_set[0])} test")

    base = train(LeNet5(), train_set, args.train_epochs, args.lr, args.seed, args.batch)
    base_test, base_val = accuracy(base, test_set), accuracy(base, val_set)
    log(f"trained {args.train_epochs} epochs: test {base_test:.2f} %, validation {base_val:.2f} %")

    def finetune(variant=None, k=None, lam=None):
        """The same schedule from the trained model; returns (model, layers the regulariser found vacuous)."""
        m = copy.deepcopy(base)
        if variant is None:
            return train(m, tune_set, args.finetune_epochs, args.finetune_lr, args.seed + 1, args.batch), []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            reg = DeepKMeans(m, k=k, lam=lam, variant=variant, layers=SHARED_LAYERS, refresh_every=args.refresh_every)
            train(m, tune_set, args.finetune_epochs, args.finetune_lr, args.seed + 1, args.batch, reg)
        vacuous = sorted({str(c.message).split(":")[0] for c in caught if "vacuous" in str(c.message)})
        return m, vacuous

    control, _ = finetune()
    log(f"control fine-tune: test {accuracy(control, test_set):.2f} %")

    # lambda per variant on the validation split at select_k (k-means seed 0 for the selection).
    chosen, selection, runs = {}, {}, {}
    for variant in ("hard", "spectral"):
        best = None
        for lam in lambdas[variant]:
            m, warned = finetune(variant, args.select_k, lam)
            val = accuracy(shared_copy(m, args.select_k, seeds[0])[0], val_set)
            selection[f"{variant} lambda={lam:g}"] = {"val_shared_accuracy": val, "vacuous_layers": warned}
            log(f"select {variant} lambda={lam:g} K={args.select_k}: validation after sharing {val:.2f} %")
            if best is None or val > best[0]:
                best = (val, lam, (m, warned))
        chosen[variant] = best[1]
        runs[(variant, args.select_k)] = best[2]

    model_spec = dkm.load_model("lenet5")
    rows = []

    def evaluate(method, k, model, lam=None, vacuous=None):
        accs, crs_entropy, crs_fixed, crs_conv, energy, energy_ratio = [], [], [], [], [], []
        for s in seeds:
            shared, compressed = shared_copy(model, k, s)
            accs.append(accuracy(shared, test_set))
            est = dkm.estimate(model_spec, args.profile, compressed=dict(compressed, model="lenet5"))
            cr = est["compression_ratio"]  # the C++ count, as `dkm compress` prints it
            crs_entropy.append(cr["ratio"]["entropy"])
            crs_fixed.append(cr["ratio"]["fixed"])
            crs_conv.append(sum(l["original_bits"] for l in cr["layers"]) /
                            sum(l["total_bits"]["entropy"] for l in cr["layers"]))
            energy.append(est["totals"]["paper_energy_per_mac"])
            energy_ratio.append(est["totals"]["paper_energy"] / est["uncompressed"]["paper_energy"])
        row = {"method": method, "k": k, "lambda": lam, "accuracy_mean": float(np.mean(accs)),
               "accuracy_std": float(np.std(accs)), "accuracies": accs, "cr_entropy": float(np.mean(crs_entropy)),
               "cr_fixed": float(np.mean(crs_fixed)), "cr_conv_entropy": float(np.mean(crs_conv)),
               "paper_energy_per_mac": float(np.mean(energy)),
               "paper_energy_vs_unshared": float(np.mean(energy_ratio)), "vacuous": vacuous}
        rows.append(row)
        log(f"K={k:2d} {method:>14}: test {row['accuracy_mean']:.2f} % (+- {row['accuracy_std']:.2f}), "
            f"CR {row['cr_entropy']:.1f}")
        return row

    unshared = accuracy(base, test_set)
    unshared_est = dkm.estimate(model_spec, args.profile)
    for k in ks:
        evaluate("no re-training", k, base)
        evaluate("control", k, control)
        for variant in ("hard", "spectral"):
            if (variant, k) not in runs:
                runs[(variant, k)] = finetune(variant, k, chosen[variant])
            model, vacuous = runs[(variant, k)]
            evaluate(variant, k, model, chosen[variant], vacuous if variant == "spectral" else None)

    # One container written by the PyTorch hook, for `dkm estimate --compressed` and `dkm report`.
    hook_model = copy.deepcopy(runs[("hard", args.select_k)][0])
    hook = DeepKMeans(hook_model, k=args.select_k, layers=SHARED_LAYERS, seed=seeds[0])
    container = os.path.join(args.out, f"lenet5-hard-k{args.select_k}.dkmc")
    hook.write_container(container, hook.share(), "lenet5")

    result = {
        "settings": vars(args), "torch": torch.__version__, "threads": torch.get_num_threads(),
        "unshared_test_accuracy": unshared, "unshared_validation_accuracy": base_val,
        "control_unshared_test_accuracy": accuracy(control, test_set),
        "unshared_paper_energy_per_mac": unshared_est["totals"]["paper_energy_per_mac"],
        "lambda_selection": selection, "chosen_lambda": chosen, "rows": rows, "container": container,
        "wall_seconds": time.time() - START,
    }
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(result, f, indent=1)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(markdown(result))
    log(f"wrote {args.out}/results.md, results.json and {container}")
    return 0


def markdown(r):
    lines = [
        f"Unshared LeNet-5: test accuracy {r['unshared_test_accuracy']:.2f} % "
        f"(after the control fine-tune {r['control_unshared_test_accuracy']:.2f} %); paper energy "
        f"{r['unshared_paper_energy_per_mac']:.3f} per MAC. Chosen lambda: hard {r['chosen_lambda']['hard']:g}, "
        f"spectral {r['chosen_lambda']['spectral']:g}.",
        "",
        "| K | method | lambda | test accuracy [%] (mean of 3 seeds) | change vs unshared [points] | CR, model "
        "(entropy index) | CR, model (fixed-length index) | CR, conv1+conv2 (entropy index) | "
        "paper energy per MAC [profile unit] | energy vs unshared |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in r["rows"]:
        lam = "" if row["lambda"] is None else f"{row['lambda']:g}"
        method = row["method"] + (" (vacuous: " + ", ".join(row["vacuous"]) + ")" if row["vacuous"] else "")
        lines.append(
            f"| {row['k']} | {method} | {lam} | {row['accuracy_mean']:.2f} +- {row['accuracy_std']:.2f} | "
            f"{row['accuracy_mean'] - r['unshared_test_accuracy']:+.2f} | {row['cr_entropy']:.2f} | "
            f"{row['cr_fixed']:.2f} | {row['cr_conv_entropy']:.1f} | {row['paper_energy_per_mac']:.3f} | {row['paper_energy_vs_unshared']:.3f} |")
    lines.append("")
    lines.append("Lambda selection (validation accuracy after sharing, k-means seed 0):")
    lines.append("")
    for name, v in r["lambda_selection"].items():
        extra = f" (vacuous: {', '.join(v['vacuous_layers'])})" if v["vacuous_layers"] else ""
        lines.append(f"- {name}: {v['val_shared_accuracy']:.2f} %{extra}")
    lines.append("")
    lines.append(f"Wall time {r['wall_seconds']:.0f} s on {r['threads']} threads (torch {r['torch']}).")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())

"""PyTorch integration: Deep k-Means re-training for any nn.Module (docs/python.md, docs/retraining.md).

    reg = DeepKMeans(model, k=4, lam=1.0, variant="hard", refresh_every=100)
    for x, y in data:
        loss = criterion(model(x), y) + reg.penalty()   # refreshes F every `refresh_every` calls
        ...
    compressed = reg.share()                             # weights := centres, returns the container dict
    stats = calibrate(model, batches)                    # per conv: input mean and E[x^2] per channel
    compressed = reg.share(stats=stats)                  # activation-weighted k-means instead
    reg.write_container("lenet5.dkmc", compressed, "lenet5")  # read by `dkm estimate --compressed`

The value and gradient of the regulariser come from dkm's C++ code (dkm.regularizer) on a zero-copy numpy
view of each weight; F is refreshed with dkm's k-means (hard) or a truncated SVD (spectral).
"""
import warnings

import numpy as np
import torch
from torch import nn

from dkm import _dkm
from dkm.sharing import share_weight, vectors_of


class _Regularizer(torch.autograd.Function):
    """(lam/2)[Tr(W^T W) - Tr(F^T W^T W F)] with F fixed; backward hands back lam * W (I - F F^T)."""

    @staticmethod
    def forward(ctx, weight, basis, lam, granularity):
        w = weight.detach()
        if w.dtype != torch.float32 or not w.is_contiguous() or w.device.type != "cpu":
            w = w.to(device="cpu", dtype=torch.float32).contiguous()
        vectors = vectors_of(w.numpy(), granularity)  # shares w's memory
        grad = np.empty_like(vectors)
        value, _ = _dkm.regularizer(vectors, basis, lam, grad)
        ctx.save_for_backward(torch.from_numpy(grad).view(weight.shape).to(weight.device, weight.dtype))
        return weight.new_tensor(value)

    @staticmethod
    def backward(ctx, grad_output):
        (grad,) = ctx.saved_tensors
        return grad_output * grad, None, None, None


def conv_layers(model):
    """Names of the model's nn.Conv2d modules, in registration order."""
    return [name for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]


def calibrate(model, batches, layers=None):
    """Per input channel of each chosen nn.Conv2d (default: all), the mean and the second moment E[x^2] of
    what the layer reads, over every image and position of `batches` (an iterable of input tensors), summed
    in float64: the statistics `dkm calibrate` writes (docs/inference.md), for DeepKMeans.share(stats=...).
    Returns {layer: {"mean": array, "second_moment": array, "values_per_channel": int}}."""
    modules = dict(model.named_modules())
    names = list(layers) if layers is not None else conv_layers(model)
    sums = {}

    def hook(name):
        def record(_module, inputs):
            x = inputs[0].detach().to("cpu", torch.float64)
            flat = x.transpose(0, 1).reshape(x.shape[1], -1)
            s1, s2, count = sums.get(name, (0.0, 0.0, 0))
            sums[name] = (s1 + flat.sum(dim=1), s2 + (flat * flat).sum(dim=1), count + flat.shape[1])
        return record

    handles = [modules[name].register_forward_pre_hook(hook(name)) for name in names]
    try:
        with torch.no_grad():
            for x in batches:
                model(x)
    finally:
        for h in handles:
            h.remove()
    return {name: {"mean": (s1 / count).numpy(), "second_moment": (s2 / count).numpy(), "values_per_channel": count}
            for name, (s1, s2, count) in sums.items()}


class DeepKMeans:
    """The k-means regulariser on chosen conv layers of a module, and the final weight sharing.

    model: any nn.Module. layers: names of its Conv2d modules (default: all of them). k: clusters, one int
    or {layer: int}. lam: lambda. variant: "hard" (F = normalised indicator of dkm's k-means assignment;
    the value is (lam/2) * inertia and the gradient pulls rows toward their centres) or "spectral" (the
    paper's relaxation; vacuous, with a warning, when K >= rank(W) <= vector length). refresh_every: calls
    of penalty() between recomputations of F. granularity: "row" (the paper's), "kernel", "filter",
    "scalar". seed: k-means seed (per layer: seed + conv index, as the reference code's 1000 + index).
    names: {module name: layer name in the dkm model spec} for the container (default: identity).
    """

    def __init__(self, model, k, lam=1e-4, variant="hard", layers=None, refresh_every=100, granularity="row",
                 seed=1000, names=None, threads=1):
        if variant not in ("hard", "spectral"):
            raise ValueError(f"variant: expected 'hard' or 'spectral', got {variant!r}")
        if refresh_every < 1:
            raise ValueError(f"refresh_every: expected >= 1, got {refresh_every}")
        modules = dict(model.named_modules())
        self.layers = list(layers) if layers is not None else conv_layers(model)
        for name in self.layers:
            if not isinstance(modules.get(name), nn.Conv2d):
                raise ValueError(f"layer {name!r}: not an nn.Conv2d of the model (have {conv_layers(model)})")
        self.model = model
        self.modules = {name: modules[name] for name in self.layers}
        self.k = {name: int(k[name] if isinstance(k, dict) else k) for name in self.layers}
        self.lam = float(lam)
        self.variant = variant
        self.refresh_every = int(refresh_every)
        self.granularity = granularity
        self.seed = int(seed)
        self.names = dict(names or {})
        self.threads = threads
        self.calls = 0
        self.refreshes = 0
        self.bases = {}
        self.warnings = {}

    def _weight_vectors(self, name):
        w = self.modules[name].weight.detach().to("cpu", torch.float32).contiguous()
        return vectors_of(w.numpy(), self.granularity)

    def refresh(self):
        """Recompute F for every layer from the current weights."""
        for index, name in enumerate(self.layers):
            vectors = self._weight_vectors(name)
            if self.variant == "hard":
                basis = _dkm.hard_basis(vectors, self.k[name], seed=self.seed + index, threads=self.threads)
            else:
                basis = _dkm.spectral_basis(vectors, self.k[name])
            if basis["warning"] and self.warnings.get(name) != basis["warning"]:
                warnings.warn(f"{name}: {basis['warning']}", stacklevel=2)
            self.warnings[name] = basis["warning"]
            self.bases[name] = basis
        self.refreshes += 1

    def vacuous(self):
        """Layers whose current F makes the term identically zero (spectral with K >= rank W)."""
        return [name for name, b in self.bases.items() if b["vacuous"]]

    def penalty(self):
        """The summed regulariser as a differentiable scalar; add it to the loss once per step."""
        if self.calls % self.refresh_every == 0:
            self.refresh()
        self.calls += 1
        total = None
        for name in self.layers:
            weight = self.modules[name].weight
            term = _Regularizer.apply(weight, self.bases[name], self.lam, self.granularity)
            total = term if total is None else total + term
        return total

    def share(self, seed=None, stats=None):
        """Replace each chosen layer's weight by its centres (dkm's k-means, K per layer) and return the
        compressed-container dict. seed: k-means seed base (default: the regulariser's). stats: calibrate()'s
        result: activation-weighted k-means (each weight's error times its input channel's E[x^2])."""
        base = self.seed if seed is None else int(seed)
        out = []
        with torch.no_grad():
            for index, name in enumerate(self.layers):
                module = self.modules[name]
                bias = None if module.bias is None else module.bias.detach().cpu().numpy()
                shared, layer = share_weight(self.names.get(name, name), module.weight.detach().cpu().numpy(),
                                             self.k[name], granularity=self.granularity, seed=base + index,
                                             bias=bias,
                                             input_second_moment=None if stats is None else stats[name]["second_moment"])
                module.weight.copy_(torch.from_numpy(shared))
                out.append(layer)
        return {"model": "", "random_weights": False, "weights_seed": 0, "layers": out}

    @staticmethod
    def write_container(path, compressed, model_name):
        """Write the dict from share() as dkm's compressed container for the dkm model `model_name` (a zoo
        name such as "lenet5" or a spec path, as `dkm estimate` takes it)."""
        compressed = dict(compressed, model=model_name)
        _dkm.write_compressed(str(path), compressed)
        return compressed

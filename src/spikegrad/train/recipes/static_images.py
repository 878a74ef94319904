"""Surrogate-gradient BPTT on rate-coded static images: ``digits`` (the default) and ``mnist-mlp``.

Images are scaled to [0, 1] and rate-coded: pixel intensity is the spike probability per step. The
network is a multilayer perceptron of LIF neurons; the loss is the cross-entropy of the output firing
rates and the prediction is the output neuron that spikes most.
"""

from __future__ import annotations

import numpy as np
import torch

from spikegrad.data.augment import random_shift
from spikegrad.data.registry import load_split
from spikegrad.encoding import poisson_encode
from spikegrad.grad import make_estimator
from spikegrad.losses import rate_cross_entropy
from spikegrad.nn import LIF, Dense, SNNSequential, TimeFixedDropout
from spikegrad.train.classification import ClassificationExperiment, ClassificationParts
from spikegrad.train.config import RunConfig
from spikegrad.train.recipe import Recipe, register


def lif_mlp(sizes: list[int], tau_mem: float, surrogate: str, dropout: float) -> SNNSequential:
    """Dense -> LIF layers of the given sizes (``[in, hidden..., out]``), dropout after hidden layers."""
    layers: list[torch.nn.Module] = []
    for index, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        if index > 0 and dropout > 0:
            layers.append(TimeFixedDropout(dropout))
        layers += [Dense(n_in, n_out), LIF(tau_mem=tau_mem, estimator=make_estimator(surrogate))]
    return SNNSequential(*layers)


def build_rate_mlp(config: RunConfig, dataset: str) -> ClassificationExperiment:
    steps, shift = config.param("steps"), config.param("max_shift")
    first = load_split(dataset, "test", config.data_dir)
    side = first.images.shape[1]

    def to_tensor(images: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(images).float().div_(255.0).unsqueeze(1)  # [N, 1, H, W]

    def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return random_shift(x, shift, generator)

    sizes = [side * side, *config.param("hidden"), first.num_classes]
    parts = ClassificationParts(
        load_split=lambda split: first if split == "test" else load_split(dataset, split, config.data_dir),
        to_tensor=to_tensor,
        encode=lambda x, g: poisson_encode(x.flatten(1), steps, g),
        model=lif_mlp(sizes, config.param("tau_mem"), config.param("surrogate"), config.param("dropout")),
        loss=lambda out, labels: rate_cross_entropy(out, labels, scale=config.param("rate_scale")),
        augment=augment if shift > 0 else None,
    )
    return ClassificationExperiment(config, parts)


register(Recipe(
    name="digits",
    summary="default: LIF MLP 64-128-10, surrogate BPTT, rate-coded scikit-learn 8x8 digits (no download)",
    defaults=RunConfig(
        recipe="digits", method="bptt", epochs=20, batch_size=32, lr=2e-3, schedule="cosine",
        params={"steps": 25, "hidden": (128,), "tau_mem": 10.0, "surrogate": "atan", "dropout": 0.0,
                "rate_scale": 10.0, "max_shift": 0},
    ),
    methods=("bptt",),
    build=lambda config: build_rate_mlp(config, "digits"),
    needs_data=False,
))

register(Recipe(
    name="mnist-mlp",
    summary="LIF MLP 784-512-10, surrogate BPTT, rate-coded MNIST (IDX or the 5k CSV subset) from --data-dir",
    defaults=RunConfig(
        recipe="mnist-mlp", method="bptt", epochs=20, batch_size=64, lr=1e-3, schedule="cosine",
        params={"steps": 20, "hidden": (512,), "tau_mem": 10.0, "surrogate": "atan", "dropout": 0.2,
                "rate_scale": 10.0, "max_shift": 2},
    ),
    methods=("bptt",),
    build=lambda config: build_rate_mlp(config, "mnist"),
))

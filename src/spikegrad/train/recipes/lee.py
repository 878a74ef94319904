"""Lee et al. (2020) spike-based backpropagation: ``lee-mnist``, ``lee-cifar10-vgg9``, ``lee-cifar10-resnet11``,
``lee-svhn``.

Settings come from the reference code ``chan8972/Enabling_Spikebased_Backpropagation`` (see
``docs/methods-lee-na.md`` §A6-A7, read from the scripts):

| | lee-mnist (LeNet) | lee-cifar10-vgg9 | lee-cifar10-resnet11 | lee-svhn (VGG7) |
|---|---|---|---|---|
| optimizer | SGD, **no momentum**, weight decay 5e-4 | same | same | same (UNVERIFIED) |
| initial lr | 0.0085 | 0.0033 | 0.0025 | 0.0033 (UNVERIFIED) |
| schedule | x0.2 at epoch 75 | x0.2 at 70, 100, 125 | x0.2 at 70, 100, 125 | as VGG9 (UNVERIFIED) |
| epochs, batch | 125, 64 | 150, 16 | 150, 16 | 150, 16 (UNVERIFIED) |
| T (train and test) | 100 | 100 | 100 | 100 (UNVERIFIED) |
| dropout | none | 0.2 | 0.25 | 0.2 (UNVERIFIED) |
| init std | sqrt(2/n) | sqrt(2/n) | sqrt(1/n) | sqrt(2/n) (UNVERIFIED) |
| input | p/2, no normalisation | signed, normalised | signed, normalised | as CIFAR (UNVERIFIED) |
| augmentation | none | crop (pad 4) + flip | crop (pad 4) + flip | none (UNVERIFIED) |

LIF leak 0.99, threshold 1, pooling threshold 0.75, output leak 0.99, loss ``sum (o - y)^2``, prediction
``argmax o``. The code reports the best test accuracy over epochs (``best_test_accuracy`` in
``summary.json``); its test batches (64 / 8) do not change the numbers. ``lee-svhn`` also builds the
(UNVERIFIED) ResNet7: ``--set network=resnet7 --set dropout=0.25 --set init_gain=1 --set lr=0.0025``
follows the ResNet11 code.

Lighter settings (not the paper's; say so when reporting): ``train_subset`` / ``test_subset`` (a fixed,
seeded random subset of that many images; 0 = all) and, with ``--set steps=...``, a shorter window.
``momentum`` sets SGD's momentum (the trainer's own SGD uses 0.9; the reference code never passes its
``--momentum`` argument, so it trains without momentum).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from spikegrad.data.augment import random_crop_flip, random_shift
from spikegrad.data.registry import load_split
from spikegrad.data.split import ImageSplit
from spikegrad.errors import ConfigError
from spikegrad.rules.lee.encoding import lee_cifar_encode, lee_mnist_encode
from spikegrad.rules.lee.layers import LeeLayerConfig
from spikegrad.rules.lee.loss import lee_mse_loss, lee_prediction
from spikegrad.rules.lee.nets import build_lee_network
from spikegrad.rules.lee.scan import LeeGradientPath
from spikegrad.train.classification import ClassificationExperiment, ClassificationParts
from spikegrad.train.config import RunConfig
from spikegrad.train.recipe import Recipe, register

METHOD = "lee"


class LeeExperiment(ClassificationExperiment):
    """:class:`ClassificationExperiment` whose SGD uses the recipe's ``momentum`` (0, as the reference code)."""

    def __init__(self, config: RunConfig, parts: ClassificationParts, momentum: float):
        super().__init__(config, parts)
        if not 0.0 <= momentum < 1.0:
            raise ConfigError("momentum", f"must lie in [0, 1), got {momentum!r}")
        self.momentum = momentum

    def make_optimizer(self) -> torch.optim.Optimizer | None:
        if self.config.optimizer != "sgd":
            return None  # the trainer builds adam / adamw from the config
        return torch.optim.SGD(self.model.parameters(), lr=self.config.lr, momentum=self.momentum,
                               weight_decay=self.config.weight_decay)

    def summary(self, history: list[dict[str, float]] | None = None) -> dict[str, float | int | str | bool | None]:
        return {"time_steps": int(self.config.param("steps")), "lee_gradient": str(self.config.param("gradient")),
                "network": str(self.config.param("network"))}


def _subset(split: ImageSplit, size: int, option: str) -> ImageSplit:
    """A fixed random subset of ``size`` images (seeded, independent of the run's seed); 0 = all."""
    if size < 0:
        raise ConfigError(option, f"must be >= 0 (0 = all images), got {size}")
    if size == 0 or size >= len(split):
        return split
    keep = np.sort(np.random.default_rng(0).permutation(len(split))[:size])
    return ImageSplit(split.images[keep], split.labels[keep], split.num_classes, f"{split.source} [subset of {size}]")


def _layer_config(config: RunConfig) -> LeeLayerConfig:
    return LeeLayerConfig(
        leak=config.param("leak"), threshold=config.param("threshold"),
        pool_threshold=config.param("pool_threshold"), output_leak=config.param("output_leak"),
        gradient=LeeGradientPath.parse(config.param("gradient")),
    )


def _grey(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).float().div_(255.0).unsqueeze(1)  # [N, 1, H, W] in [0, 1]


def _rgb(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).float().div_(255.0).permute(0, 3, 1, 2).contiguous()  # [N, 3, H, W]


def build_lee(config: RunConfig, dataset: str, colour: bool) -> LeeExperiment:
    steps = config.param("steps")
    if steps < 1:
        raise ConfigError("steps", f"the window must have >= 1 time step, got {steps}")
    subsets = {"train": config.param("train_subset"), "test": config.param("test_subset")}
    cache: dict[str, ImageSplit] = {}

    def split(name: str) -> ImageSplit:
        if name not in cache:
            data = load_split(dataset, name, config.data_dir)
            cache[name] = _subset(data, subsets[name], f"{name}_subset") if name in subsets else data
        return cache[name]

    first = split("test")
    channels = 3 if colour else 1
    if (first.images.ndim == 4) != colour:
        raise ConfigError("dataset", f"{dataset}: expected {'RGB' if colour else 'grey'} images, got {first.images.shape}")
    encode: Callable[[torch.Tensor, torch.Generator], torch.Tensor] = (
        (lambda x, g: lee_cifar_encode(x, steps, g)) if colour else (lambda x, g: lee_mnist_encode(x, steps, g)))
    padding, flip = config.param("crop_padding"), config.param("flip")

    def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return random_crop_flip(x, padding, generator) if flip else random_shift(x, padding, generator)

    model = build_lee_network(
        config.param("network"), config=_layer_config(config), in_channels=channels,
        image_size=first.images.shape[1], classes=first.num_classes, dropout=config.param("dropout"),
        init_gain=config.param("init_gain"),
    )
    model.inference_chunk = config.param("inference_chunk")
    parts = ClassificationParts(
        load_split=split, to_tensor=_rgb if colour else _grey, encode=encode, model=model, loss=lee_mse_loss,
        predict=lee_prediction, augment=augment if (padding > 0 or flip) else None,
    )
    return LeeExperiment(config, parts, config.param("momentum"))


def _params(network: str, dropout: float, init_gain: float, crop_padding: int, flip: bool) -> dict:
    return {
        "network": network, "steps": 100, "gradient": LeeGradientPath.CODE.value, "leak": 0.99, "threshold": 1.0,
        "pool_threshold": 0.75, "output_leak": 0.99, "dropout": dropout, "init_gain": init_gain, "momentum": 0.0,
        "crop_padding": crop_padding, "flip": flip, "train_subset": 0, "test_subset": 0, "inference_chunk": 10,
    }


def _cifar_defaults(name: str, network: str, lr: float, dropout: float, init_gain: float,
                    crop_padding: int = 4, flip: bool = True) -> RunConfig:
    return RunConfig(
        recipe=name, method=METHOD, epochs=150, batch_size=16, lr=lr, weight_decay=5e-4, optimizer="sgd",
        schedule="step", lr_gamma=0.2, lr_milestones=(70, 100, 125),
        params=_params(network, dropout, init_gain, crop_padding, flip),
    )


register(Recipe(
    name="lee-mnist",
    summary="Lee et al. 2020 spike-based BP: LeNet 20C5-AP2-50C5-AP2-200-10, T=100, Poisson MNIST (reference code settings)",
    defaults=RunConfig(
        recipe="lee-mnist", method=METHOD, epochs=125, batch_size=64, lr=0.0085, weight_decay=5e-4, optimizer="sgd",
        schedule="step", lr_gamma=0.2, lr_milestones=(75,), params=_params("lenet", 0.0, 2.0, 0, False),
    ),
    methods=(METHOD,),
    build=lambda config: build_lee(config, "mnist", colour=False),
))

register(Recipe(
    name="lee-cifar10-vgg9",
    summary="Lee et al. 2020 spike-based BP: VGG9, T=100, signed Poisson CIFAR-10, dropout 0.2 (reference code settings)",
    defaults=_cifar_defaults("lee-cifar10-vgg9", "vgg9", lr=0.0033, dropout=0.2, init_gain=2.0),
    methods=(METHOD,),
    build=lambda config: build_lee(config, "cifar10", colour=True),
))

register(Recipe(
    name="lee-cifar10-resnet11",
    summary="Lee et al. 2020 spike-based BP: ResNet11, T=100, signed Poisson CIFAR-10, dropout 0.25 (reference code settings)",
    defaults=_cifar_defaults("lee-cifar10-resnet11", "resnet11", lr=0.0025, dropout=0.25, init_gain=1.0),
    methods=(METHOD,),
    build=lambda config: build_lee(config, "cifar10", colour=True),
))

register(Recipe(
    name="lee-svhn",
    summary="Lee et al. 2020 spike-based BP on SVHN: VGG7 (or --set network=resnet7); layer lists and settings UNVERIFIED",
    defaults=_cifar_defaults("lee-svhn", "vgg7", lr=0.0033, dropout=0.2, init_gain=2.0, crop_padding=0, flip=False),
    methods=(METHOD,),
    build=lambda config: build_lee(config, "svhn", colour=True),
))

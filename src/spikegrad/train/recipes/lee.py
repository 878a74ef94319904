"""Lee et al. (2020) spike-based backpropagation: ``lee-mnist``, ``lee-cifar10-vgg9``, ``lee-cifar10-resnet11``,
``lee-svhn``.

Settings are the reference code's (``chan8972/Enabling_Spikebased_Backpropagation``; methods note A6-A7):
SGD **without momentum**, weight decay 5e-4; LeNet: lr 0.0085, x0.2 at epoch 75, 125 epochs, batch 64,
init std sqrt(2/n), input ``p/2`` Poisson; VGG9 / ResNet11: lr 0.0033 / 0.0025, x0.2 at 70, 100, 125, 150
epochs, batch 16, dropout 0.2 / 0.25, init gain 2 / 1, signed normalised Poisson input, crop (pad 4) +
flip. T = 100, LIF leak 0.99, threshold 1, pooling threshold 0.75, output leak 0.99, loss
``sum (o - y)^2``, prediction ``argmax o``. ``lee-svhn`` (VGG7, or ``--set network=resnet7``) takes the
CIFAR settings: UNVERIFIED. The code reports the best test accuracy over epochs (``best_test_accuracy``).
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from spikegrad.errors import ConfigError
from spikegrad.losses.reduction import BatchReduction
from spikegrad.nn.spec import OutputKind, ReadoutSpec
from spikegrad.rules.lee.encoding import lee_cifar_encode, lee_mnist_encode
from spikegrad.rules.lee.layers import LeeLayerConfig
from spikegrad.rules.lee.loss import lee_mse_loss, lee_prediction
from spikegrad.rules.lee.nets import build_lee_network
from spikegrad.rules.plugin import Head
from spikegrad.train.classification import ClassificationExperiment, ClassificationParts
from spikegrad.train.config import RunConfig
from spikegrad.train.recipe import Recipe, register
from spikegrad.train.recipe_parts import AugmentSettings, ImageData, LimitSettings, grey_images, rgb_images, run_rule
from spikegrad.train.rule_settings import RuleSettings
from spikegrad.train.settings import require, setting

METHOD = "lee"
METHODS = ("lee", "bptt", "slayer", "na")


@dataclasses.dataclass(frozen=True)
class LeeSettings(LimitSettings, AugmentSettings, RuleSettings):
    """A Lee et al. network on Poisson-coded images."""

    network: Literal["lenet", "vgg9", "resnet11", "vgg7", "resnet7"] = setting("lenet", "the paper's network")
    steps: int = setting(100, "time steps per image (train and test)")
    leak: float = setting(0.99, "LIF leak per step")
    threshold: float = setting(1.0, "LIF threshold")
    pool_threshold: float = setting(0.75, "threshold of the spiking average-pooling neurons")
    output_leak: float = setting(0.99, "leak of the non-spiking output integrator")
    dropout: float = setting(0.0, "dropout (one mask for all steps)")
    init_gain: float = setting(2.0, "initial weights N(0, init_gain / fan_in)")
    inference_chunk: int = setting(10, "steps per chunk at inference (bounds memory; 0 = whole window)")

    def check(self) -> None:
        LimitSettings.check(self)
        AugmentSettings.check(self)
        RuleSettings.check(self)
        require(self.steps >= 1, "steps", f"the window must have >= 1 time step, got {self.steps}")
        require(0 <= self.dropout < 1, "dropout", f"must lie in [0, 1), got {self.dropout}")
        require(self.init_gain > 0, "init_gain", f"must be > 0, got {self.init_gain}")
        self.layer_config()  # leaks and thresholds are checked there

    def layer_config(self) -> LeeLayerConfig:
        return LeeLayerConfig(leak=self.leak, threshold=self.threshold, pool_threshold=self.pool_threshold,
                              output_leak=self.output_leak, gradient=self.lee_gradient)


def build_lee(config: RunConfig, dataset: str, colour: bool) -> ClassificationExperiment:
    settings: LeeSettings = config.settings  # type: ignore[assignment]
    data = ImageData(dataset, config.data_dir, rgb_images if colour else grey_images, settings)
    shape = data.image_shape
    if (len(shape) == 3) != colour:
        kind = "RGB" if colour else "grey"
        raise ConfigError("dataset", f"{dataset}: expected {kind} images, got shape {shape}")
    steps, rule, layers = settings.steps, run_rule(config), settings.layer_config()
    encode = lee_cifar_encode if colour else lee_mnist_encode
    model = build_lee_network(
        settings.network, config=layers, in_channels=3 if colour else 1, image_size=shape[0],
        classes=data.num_classes, dropout=settings.dropout, init_gain=settings.init_gain, layer=rule.layer,
    )
    model.inference_chunk = settings.inference_chunk
    augmentation = settings.augmentation()
    head = rule.head(ReadoutSpec(layers.output_leak, layers.output_threshold),
                     Head(OutputKind.READOUT, lee_mse_loss, lee_prediction, BatchReduction.SUM))
    parts = ClassificationParts(
        load_split=data, encode=lambda x, g: encode(x, steps, g), model=model, loss=head.loss,
        predict=head.predict, reduction=head.reduction, augment=augmentation if augmentation.active else None,
    )
    return ClassificationExperiment(config, parts, {"time_steps": steps, "rule": repr(rule), "network": settings.network})


def _cifar_defaults(name: str, network: str, lr: float, dropout: float, init_gain: float, augment: bool = True) -> RunConfig:
    settings = LeeSettings(network=network, dropout=dropout, init_gain=init_gain, max_shift=4 if augment else 0,
                           hflip=augment)
    return RunConfig(recipe=name, settings=settings, method=METHOD, epochs=150, batch_size=16, lr=lr,
                     weight_decay=5e-4, optimizer="sgd", momentum=0.0, schedule="step", lr_gamma=0.2,
                     lr_milestones=(70, 100, 125))


register(Recipe(
    name="lee-mnist",
    summary="Lee et al. 2020 spike-based BP: LeNet 20C5-AP2-50C5-AP2-200-10, T=100, Poisson MNIST (reference code settings)",
    defaults=RunConfig(recipe="lee-mnist", settings=LeeSettings(), method=METHOD, epochs=125, batch_size=64,
                       lr=0.0085, weight_decay=5e-4, optimizer="sgd", momentum=0.0, schedule="step", lr_gamma=0.2,
                       lr_milestones=(75,)),
    methods=METHODS,
    build=lambda config: build_lee(config, "mnist", colour=False),
))

register(Recipe(
    name="lee-cifar10-vgg9",
    summary="Lee et al. 2020 spike-based BP: VGG9, T=100, signed Poisson CIFAR-10, dropout 0.2 (reference code settings)",
    defaults=_cifar_defaults("lee-cifar10-vgg9", "vgg9", lr=0.0033, dropout=0.2, init_gain=2.0),
    methods=METHODS,
    build=lambda config: build_lee(config, "cifar10", colour=True),
))

register(Recipe(
    name="lee-cifar10-resnet11",
    summary="Lee et al. 2020 spike-based BP: ResNet11, T=100, signed Poisson CIFAR-10, dropout 0.25 (reference code settings)",
    defaults=_cifar_defaults("lee-cifar10-resnet11", "resnet11", lr=0.0025, dropout=0.25, init_gain=1.0),
    methods=METHODS,
    build=lambda config: build_lee(config, "cifar10", colour=True),
))

register(Recipe(
    name="lee-svhn",
    summary="Lee et al. 2020 spike-based BP on SVHN: VGG7 (or --set network=resnet7); layer lists and settings UNVERIFIED",
    defaults=_cifar_defaults("lee-svhn", "vgg7", lr=0.0033, dropout=0.2, init_gain=2.0, augment=False),
    methods=METHODS,
    build=lambda config: build_lee(config, "svhn", colour=True),
))

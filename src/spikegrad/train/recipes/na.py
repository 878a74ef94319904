"""Neighborhood Aggregation recipes (Yang, Zhang & Li, ICML 2021): ``na-mnist``, ``na-fmnist``, ``na-cifar10``,
``na-nmnist`` and the single-neuron spike-train fitting ``na-fit``.

Every recipe trains a TSSL-BP/NA network (:mod:`spikegrad.rules.na.nets`) with method ``na`` (the NA
backward, ``na_mode`` faithful or paper), ``bptt`` (the shared BPTT scan with a sigmoid surrogate, alpha 5,
on the same network), ``slayer`` or ``lee`` (which brings its integrating readout and loss). Settings follow the NA code at its result commit (methods note B3, B5): T = 5, tau_m 5,
tau_s 2, threshold 1; analog input repeated over time through the synaptic filter (``encoding=rate``:
Bernoulli spikes instead); the trace loss against an all-ones desired train, summed over the batch;
AdamW lr 5e-4 (weight decay 0.01), ExponentialLR 0.985 per epoch, gradient-norm clip 1, weights clamped
to [-4, 4] after every step; the code's augmentations. ``na-fmnist`` uses TSSL-BP's Fashion-MNIST network
with NA's settings (UNVERIFIED). ``na-nmnist`` follows ``NMNIST_CNN.yaml`` (T = 30, tau_m 8, tau_s 4,
batch 50, count loss 15/3; the 300 ms / 30-bin binning is UNVERIFIED).
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import torch

from spikegrad.data.events import EventBinning, event_indices
from spikegrad.data.problems.spike_mapping import SpikeTrainProblem
from spikegrad.encoding import poisson_encode
from spikegrad.errors import ConfigError
from spikegrad.grad.surrogates import SurrogateName
from spikegrad.losses.reduction import BatchReduction
from spikegrad.nn import TimeFixedDropout
from spikegrad.nn.spec import NeuronSpec, OutputKind, Role
from spikegrad.rules.na import NAParameters, synaptic_trace
from spikegrad.rules.na import nets as na_nets
from spikegrad.rules.na.loss import count_loss, trace_loss
from spikegrad.rules.plugin import Head
from spikegrad.train.classification import (
    ClassificationExperiment,
    ClassificationParts,
    dense_spikes,
    spike_count_prediction,
)
from spikegrad.train.config import RunConfig
from spikegrad.train.recipe import Recipe, register
from spikegrad.train.recipe_parts import (
    AugmentSettings,
    ImageData,
    LimitSettings,
    event_jitter,
    file_split_loader,
    grey_images,
    rgb_images,
    run_rule,
)
from spikegrad.train.rule_settings import RuleSettings
from spikegrad.train.settings import require, setting
from spikegrad.train.spike_train import AutogradPresenter, SpikeTrainExperiment, SpikeTrainParts

METHODS = ("na", "bptt", "slayer", "lee")
MNIST_MEAN_STD = ((0.1307,), (0.3081,))  # the NA code normalises Fashion-MNIST with MNIST's statistics too
CIFAR_MEAN_STD = ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010))
TRAINING = dict(batch_size=64, lr=5e-4, optimizer="adamw", weight_decay=0.01, schedule="exponential",
                lr_gamma=0.985, grad_clip=1.0)


@dataclasses.dataclass(frozen=True)
class NANeuronSettings(RuleSettings):
    """The TSSL-BP / NA neuron; its layers trained by any rule (``bptt``: the NA code's sigmoid surrogate)."""

    surrogate: SurrogateName = setting("sigmoid", "bptt: the spike-derivative estimator")
    surrogate_alpha: float | None = setting(5.0, "bptt: the estimator's steepness (none: its default)")
    steps: int = setting(5, "time steps per sample")
    tau_m: float = setting(5.0, "membrane time constant (steps; leak 1 - 1/tau_m)")
    tau_s: float = setting(2.0, "synaptic time constant (steps; trace decay 1 - 1/tau_s)")
    threshold: float = setting(1.0, "firing threshold (strict: u > threshold)")
    weight_clamp: float = setting(4.0, "clamp synapse weights to [-w, w] after every step (0 = off)")

    def check(self) -> None:
        RuleSettings.check(self)
        require(self.steps >= 1, "steps", f"must be >= 1, got {self.steps}")
        require(self.weight_clamp >= 0, "weight_clamp", f"must be >= 0 (0 = off), got {self.weight_clamp}")
        self.neuron()  # time constants and threshold are checked there

    def neuron(self) -> NAParameters:
        return NAParameters(self.tau_m, self.tau_s, self.threshold)

    def clamp(self):
        """NA's weight clamp after every optimiser step (None when off)."""
        limit = self.weight_clamp
        return (lambda model: na_nets.clamp_weights_(model, limit)) if limit > 0 else None


@dataclasses.dataclass(frozen=True)
class NAImageSettings(NANeuronSettings, LimitSettings, AugmentSettings):
    """An NA CNN on static images."""

    encoding: Literal["direct", "rate"] = setting("direct", "direct: the analog image every step; rate: Bernoulli spikes")
    dropout: float = setting(0.0, "dropout of the network's D layers (CIFAR10 AlexNet)")

    def check(self) -> None:
        NANeuronSettings.check(self)
        LimitSettings.check(self)
        AugmentSettings.check(self)
        require(0 <= self.dropout < 1, "dropout", f"must lie in [0, 1), got {self.dropout}")


def _image_experiment(config: RunConfig, dataset: str, build_model, mean_std, colour: bool) -> ClassificationExperiment:
    settings: NAImageSettings = config.settings  # type: ignore[assignment]
    if not colour and settings.color_jitter:
        raise ConfigError("color_jitter", f"recipe {config.recipe!r} has grey images; colour jitter needs RGB")
    params, steps, rule = settings.neuron(), settings.steps, run_rule(config)
    model = build_model(rule.layer, params, dropout=settings.dropout)
    if settings.dropout and not any(isinstance(m, TimeFixedDropout) for m in model.modules()):
        raise ConfigError("dropout", f"recipe {config.recipe!r}'s network has no dropout layers")
    mean = torch.tensor(mean_std[0]).view(1, -1, 1, 1)
    std = torch.tensor(mean_std[1]).view(1, -1, 1, 1)

    def encode(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if settings.encoding == "rate":  # Bernoulli spikes with the pixel intensity as probability per step
            return poisson_encode(x, steps, generator)
        normalised = (x - mean.to(x.device)) / std.to(x.device)  # x on the run's device (ClassificationExperiment)
        return normalised.unsqueeze(0).expand(steps, *x.shape)  # direct: the same analog frame each step

    augmentation = settings.augmentation()
    head = rule.head(_output_spec(params), Head(OutputKind.TRACE, lambda out, y: trace_loss(out, y, params),
                                                spike_count_prediction, BatchReduction.SUM))
    parts = ClassificationParts(
        load_split=ImageData(dataset, config.data_dir, rgb_images if colour else grey_images, settings),
        encode=encode, model=model, loss=head.loss, predict=head.predict, reduction=head.reduction,
        augment=augmentation if augmentation.active else None, after_step=settings.clamp(),
    )
    return ClassificationExperiment(config, parts, {"rule": repr(rule)})


def _output_spec(params: NAParameters) -> NeuronSpec:
    """The output slot of the NA networks: the shared LIF with NA's options, handing on its trace."""
    return NeuronSpec(params.neuron, Role.OUTPUT, params.tau_s)


register(Recipe(
    name="na-mnist",
    summary="NA: MNIST CNN 15C5-P2-40C5-P2-300-10, T=5 (poster 99.69 %); method bptt = sigmoid-surrogate BPTT",
    defaults=RunConfig(recipe="na-mnist", settings=NAImageSettings(max_shift=4, rotation=15.0), method="na",
                       epochs=200, **TRAINING),
    methods=METHODS,
    build=lambda config: _image_experiment(config, "mnist", na_nets.mnist_cnn, MNIST_MEAN_STD, colour=False),
))

register(Recipe(
    name="na-fmnist",
    summary="NA: Fashion-MNIST CNN 32C5-P2-64C5-P2-1024-10 (padding 2), T=5; method bptt = surrogate BPTT",
    defaults=RunConfig(recipe="na-fmnist", settings=NAImageSettings(max_shift=4, hflip=True, rotation=5.0),
                       method="na", epochs=200, **TRAINING),
    methods=METHODS,
    build=lambda config: _image_experiment(config, "fashion-mnist", na_nets.fmnist_cnn, MNIST_MEAN_STD, colour=False),
))

register(Recipe(
    name="na-cifar10",
    summary="NA: CIFAR10 AlexNet 96C3-256C3-P2-384C3-P2-384C3-256C3-1024-1024-10, T=5 (poster 91.76 %)",
    defaults=RunConfig(recipe="na-cifar10", settings=NAImageSettings(max_shift=4, hflip=True, color_jitter=0.2,
                                                                     dropout=0.2),
                       method="na", epochs=300, **{**TRAINING, "batch_size": 50}),
    methods=METHODS,
    build=lambda config: _image_experiment(config, "cifar10", na_nets.cifar10_alexnet, CIFAR_MEAN_STD, colour=True),
))


# -- N-MNIST (event files; reader: spikegrad.data.nmnist) ---------------------------------------------

@dataclasses.dataclass(frozen=True)
class NAEventSettings(NANeuronSettings, LimitSettings):
    """NA's N-MNIST network on binned events."""

    sample_ms: float = setting(300.0, "length of a sample (ms), binned into `steps` bins")
    dropout: float = setting(0.2, "dropout of the D layer")
    loss: Literal["count", "trace"] = setting("count", "TSSL-BP's spike-count loss, or the trace loss")
    true_count: float = setting(15.0, "count loss: spikes wanted from the label's neuron")
    false_count: float = setting(3.0, "count loss: spikes allowed from the others")
    max_shift: int = setting(0, "random translation of the event frames (pixels)")

    def check(self) -> None:
        NANeuronSettings.check(self)
        LimitSettings.check(self)
        require(self.sample_ms > 0, "sample_ms", f"must be > 0 ms, got {self.sample_ms}")
        require(0 <= self.dropout < 1, "dropout", f"must lie in [0, 1), got {self.dropout}")
        require(self.max_shift >= 0, "max_shift", f"must be >= 0 pixels, got {self.max_shift}")


def _nmnist_experiment(config: RunConfig) -> ClassificationExperiment:
    settings: NAEventSettings = config.settings  # type: ignore[assignment]
    params = settings.neuron()
    binning = EventBinning(sensor_size=(34, 34), sample_ms=settings.sample_ms, ts=settings.sample_ms / settings.steps)

    def loss(out: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if settings.loss == "count":
            return count_loss(out, labels, settings.true_count, settings.false_count)
        return trace_loss(out, labels, params)

    rule = run_rule(config)
    model = na_nets.nmnist_cnn(rule.layer, params, dropout=settings.dropout)
    head = rule.head(_output_spec(params), Head(OutputKind.TRACE, loss, spike_count_prediction, BatchReduction.SUM))
    parts = ClassificationParts(
        load_split=file_split_loader("nmnist", config.data_dir, binning.shape, settings,
                                     flat_indices=lambda events: event_indices(events, binning)),
        encode=dense_spikes, model=model, loss=head.loss, predict=head.predict, reduction=head.reduction,
        augment=event_jitter(settings.max_shift), after_step=settings.clamp(),
    )
    return ClassificationExperiment(config, parts, {"rule": repr(rule)})


register(Recipe(
    name="na-nmnist",
    summary="NA: N-MNIST CNN 12C5-P2-64C5-P2-10, T=30, tau_m 8, tau_s 4, count loss 15/3 (NA NMNIST_CNN.yaml)",
    defaults=RunConfig(recipe="na-nmnist", settings=NAEventSettings(steps=30, tau_m=8.0, tau_s=4.0), method="na",
                       epochs=100, eval_batch_size=50, **{**TRAINING, "batch_size": 50}),
    methods=METHODS,
    build=_nmnist_experiment,
))


# -- single-neuron spike-train fitting ------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class NAFitSettings(NANeuronSettings):
    """One neuron per trial fits a desired spike train (the NA paper's toy experiment; its figure values UNVERIFIED)."""

    inputs: int = setting(200, "input trains per trial")
    trials: int = setting(500, "independent trials (one neuron each, trained as one batch)")
    iterations: int = setting(20, "optimiser steps per epoch")
    input_rate: float = setting(0.05, "input spike probability per step (the notebook's randint(0, 20) == 0)")
    target_rate: float = setting(0.1, "desired spike probability per step (at least one spike; UNVERIFIED)")
    weight_std: float = setting(0.1, "initial weights N(0, weight_std^2)")

    def check(self) -> None:
        NANeuronSettings.check(self)
        require(min(self.inputs, self.trials, self.iterations) >= 1, "trials", "inputs, trials and iterations must be >= 1")
        require(0 < self.input_rate <= 1 and 0 < self.target_rate <= 1, "target_rate", "rates must lie in (0, 1]")
        require(self.weight_std >= 0, "weight_std", f"must be >= 0, got {self.weight_std}")


class _TrialNeurons(torch.nn.Module):
    """One LIF + trace neuron per trial: ``weight[trials, inputs]``, currents ``[T, trials, 1]``."""

    def __init__(self, weights: torch.Tensor, layer: torch.nn.Module):
        super().__init__()
        self.weight = torch.nn.Parameter(weights)
        self.neuron = layer

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.neuron(torch.einsum("tbi,bi->tb", inputs, self.weight).unsqueeze(-1))[0]


def _fit_problem(settings: NAFitSettings, params: NAParameters, seed: int) -> tuple[SpikeTrainProblem, torch.Tensor]:
    """The notebook's inputs (z-scored input traces), desired trains with at least one spike, initial weights."""
    generator = torch.Generator().manual_seed(seed)
    shape = (settings.steps, settings.trials, settings.inputs)
    trace = synaptic_trace((torch.rand(shape, generator=generator) < settings.input_rate).float(), params)
    mean, std = trace.mean(-1, keepdim=True), trace.std(-1, unbiased=False, keepdim=True)
    inputs = (trace - mean) / std.clamp_min(1e-6)
    desired = (torch.rand(settings.steps, settings.trials, generator=generator) < settings.target_rate).float()
    empty = desired.sum(0) == 0
    desired[torch.randint(0, settings.steps, (settings.trials,), generator=generator)[empty], empty.nonzero().squeeze(1)] = 1.0
    weights = torch.randn(settings.trials, settings.inputs, generator=generator) * settings.weight_std
    return SpikeTrainProblem(inputs, desired.unsqueeze(-1)), weights


def _fit_experiment(config: RunConfig) -> SpikeTrainExperiment:
    settings: NAFitSettings = config.settings  # type: ignore[assignment]
    params = settings.neuron()
    problem, weights = _fit_problem(settings, params, config.seed)
    rule = run_rule(config)
    model = _TrialNeurons(weights, rule.layer(NeuronSpec(params.neuron, Role.OUTPUT, params.tau_s)))
    target = synaptic_trace(problem.desired, params)
    presenter = AutogradPresenter(model, lambda trace, desired: 0.5 * (trace - target).square().sum())
    parts = SpikeTrainParts(problem, 1.0, model, presenter, iterations=settings.iterations,
                            primary_metric="fit_fraction")
    return SpikeTrainExperiment(config, parts)


register(Recipe(
    name="na-fit",
    summary="one neuron per trial fits a desired spike train (200 inputs, T=30, 500 trials): NA, BPTT or SLAYER",
    defaults=RunConfig(recipe="na-fit", settings=NAFitSettings(steps=30), method="na", epochs=10, lr=0.01,
                       optimizer="adam"),
    methods=("na", "bptt", "slayer"), build=_fit_experiment, needs_data=False,
    unused={"batch_size": "every trial is presented at once", "eval_batch_size": "every trial is simulated at once",
            "amp": "spike-train problems are simulated in full precision (spike times are the result)"},
))

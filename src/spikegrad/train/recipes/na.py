"""Neighborhood Aggregation recipes (Yang, Zhang & Li, ICML 2021): ``na-mnist``, ``na-fmnist``, ``na-cifar10``,
``na-nmnist`` and the single-neuron spike-train fitting ``na-fit``.

Every recipe trains a TSSL-BP/NA network (:mod:`spikegrad.rules.na.nets`) with method ``na`` (the NA
backward, ``na_mode`` faithful or paper) or ``bptt`` (the shared BPTT scan with a sigmoid surrogate on the
same network). Settings follow the NA code at its result commit (methods note B3, B5): T = 5, tau_m 5,
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
from spikegrad.grad import make_estimator
from spikegrad.grad.surrogates import SurrogateName
from spikegrad.nn import TimeFixedDropout
from spikegrad.rules.na import Faithful, LossChange, NAParameters, Paper, na_forward, synaptic_trace
from spikegrad.rules.na import nets as na_nets
from spikegrad.rules.na.layers import NALIF, NAGradient
from spikegrad.rules.na.loss import count_loss, trace_loss
from spikegrad.train.classification import ClassificationExperiment, ClassificationParts, dense_spikes
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
)
from spikegrad.train.settings import Settings, require, setting
from spikegrad.train.spike_train import Presenter, SpikeTrainExperiment, SpikeTrainParts

METHODS = ("na", "bptt")
MNIST_MEAN_STD = ((0.1307,), (0.3081,))  # the NA code normalises Fashion-MNIST with MNIST's statistics too
CIFAR_MEAN_STD = ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010))
TRAINING = dict(batch_size=64, lr=5e-4, optimizer="adamw", weight_decay=0.01, schedule="exponential",
                lr_gamma=0.985, grad_clip=1.0)


@dataclasses.dataclass(frozen=True)
class NANeuronSettings(Settings):
    """The TSSL-BP / NA neuron and how its layers are trained (``na`` modes, or the ``bptt`` surrogate)."""

    steps: int = setting(5, "time steps per sample")
    tau_m: float = setting(5.0, "membrane time constant (steps; leak 1 - 1/tau_m)")
    tau_s: float = setting(2.0, "synaptic time constant (steps; trace decay 1 - 1/tau_s)")
    threshold: float = setting(1.0, "firing threshold (strict: u > threshold)")
    na_mode: Literal["faithful", "paper"] = setting("faithful", "NA backward: the original code's, or the poster's")
    rescale: bool = setting(False, "faithful mode: the code's layer-wise gradient rescaling")
    loss_change: LossChange = setting(LossChange.ACCUMULATED, "paper mode: estimate of a neighbour's loss change")
    exact_output: bool = setting(False, "paper mode: the exact loss difference at the output layer")
    surrogate: SurrogateName = setting("sigmoid", "method bptt: the spike-derivative estimator")
    surrogate_alpha: float = setting(5.0, "method bptt: the sigmoid surrogate's steepness")
    chunk_elements: int = setting(0, "memory budget of the neighbour re-simulation (0 = default 2**22)")
    weight_clamp: float = setting(4.0, "clamp synapse weights to [-w, w] after every step (0 = off)")

    def check(self) -> None:
        require(self.steps >= 1, "steps", f"must be >= 1, got {self.steps}")
        require(self.chunk_elements >= 0, "chunk_elements", f"must be >= 0 (0 = default), got {self.chunk_elements}")
        require(self.weight_clamp >= 0, "weight_clamp", f"must be >= 0 (0 = off), got {self.weight_clamp}")
        self.neuron()  # time constants and threshold are checked there

    def neuron(self) -> NAParameters:
        return NAParameters(self.tau_m, self.tau_s, self.threshold)

    def gradient(self, method: str) -> NAGradient:
        """The layers' backward pass: the surrogate for ``bptt``, else the NA mode."""
        if method == "bptt":
            return make_estimator(self.surrogate, alpha=self.surrogate_alpha)
        if self.na_mode == "faithful":
            return Faithful(rescale=self.rescale)
        return Paper(self.loss_change, exact_output=self.exact_output)

    def chunk(self) -> int | None:
        return self.chunk_elements or None

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
    params, steps = settings.neuron(), settings.steps
    model = build_model(settings.gradient(config.method), params, dropout=settings.dropout,
                        chunk_elements=settings.chunk())
    if settings.dropout and not any(isinstance(m, TimeFixedDropout) for m in model.modules()):
        raise ConfigError("dropout", f"recipe {config.recipe!r}'s network has no dropout layers")
    mean = torch.tensor(mean_std[0]).view(1, -1, 1, 1)
    std = torch.tensor(mean_std[1]).view(1, -1, 1, 1)

    def encode(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if settings.encoding == "rate":  # Bernoulli spikes with the pixel intensity as probability per step
            return poisson_encode(x, steps, generator)
        return ((x - mean) / std).unsqueeze(0).expand(steps, *x.shape)  # direct: the same analog frame each step

    augmentation = settings.augmentation()
    parts = ClassificationParts(
        load_split=ImageData(dataset, config.data_dir, rgb_images if colour else grey_images, settings),
        encode=encode,
        model=model,
        loss=lambda out, labels: trace_loss(out, labels, params),
        augment=augmentation if augmentation.active else None,
        after_step=settings.clamp(),
    )
    return ClassificationExperiment(config, parts, {"gradient": str(settings.gradient(config.method))})


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

    model = na_nets.nmnist_cnn(settings.gradient(config.method), params, dropout=settings.dropout,
                               chunk_elements=settings.chunk())
    parts = ClassificationParts(
        load_split=file_split_loader("nmnist", config.data_dir, binning.shape, settings,
                                     flat_indices=lambda events: event_indices(events, binning)),
        encode=dense_spikes, model=model, loss=loss, augment=event_jitter(settings.max_shift),
        after_step=settings.clamp(),
    )
    return ClassificationExperiment(config, parts, {"gradient": str(settings.gradient(config.method))})


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

    def __init__(self, weights: torch.Tensor, layer: NALIF):
        super().__init__()
        self.weight = torch.nn.Parameter(weights)
        self.neuron = layer

    def currents(self, inputs: torch.Tensor) -> torch.Tensor:
        return torch.einsum("tbi,bi->tb", inputs, self.weight).unsqueeze(-1)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.neuron(self.currents(inputs))[0]


class _TracePresenter(Presenter):
    """Autograd on the trace loss ``1/2 sum (a - sigma * d)^2``; output spikes from the same neurons' forward."""

    def __init__(self, model: _TrialNeurons, params: NAParameters, target: torch.Tensor):
        self.model, self.params, self.target = model, params, target

    def present(self, inputs: torch.Tensor, desired: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        currents = self.model.currents(inputs)
        trace = self.model.neuron(currents)[0]
        spikes = na_forward(currents.detach(), self.params).spikes
        return 0.5 * (trace - self.target).square().sum(), spikes


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
    model = _TrialNeurons(weights, NALIF(params, settings.gradient(config.method), is_output=True))
    presenter = _TracePresenter(model, params, synaptic_trace(problem.desired, params))
    parts = SpikeTrainParts(problem, 1.0, model, presenter, iterations=settings.iterations,
                            primary_metric="fit_fraction")
    return SpikeTrainExperiment(config, parts)


register(Recipe(
    name="na-fit",
    summary="one neuron per trial fits a desired spike train (200 inputs, T=30, 500 trials): NA or sigmoid-surrogate BPTT",
    defaults=RunConfig(recipe="na-fit", settings=NAFitSettings(steps=30), method="na", epochs=10, lr=0.01,
                       optimizer="adam"),
    methods=METHODS, build=_fit_experiment, needs_data=False,
    unused={"batch_size": "every trial is presented at once", "eval_batch_size": "every trial is simulated at once"},
))

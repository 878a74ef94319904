"""Neighborhood Aggregation recipes (Yang, Zhang & Li, ICML 2021): ``na-mnist``, ``na-fmnist``, ``na-cifar10``,
``na-nmnist`` and the single-neuron spike-train fitting comparison ``na-fit``.

Every classification recipe trains a TSSL-BP/NA network (:mod:`spikegrad.rules.na.nets`) with method
``na`` (the NA backward pass, ``na_mode`` faithful or paper) or ``bptt`` (plain BPTT with a sigmoid
surrogate on the same network). Settings follow the NA code at its result commit (methods note B3, B5):
T = 5, tau_m 5, tau_s 2, threshold 1; analog input repeated over time through the synaptic filter
(``encoding=rate`` for Bernoulli rate coding instead); the trace loss against an all-ones desired train,
summed over the batch; prediction by the largest summed output trace; AdamW lr 5e-4 (weight decay 0.01,
PyTorch's default), ExponentialLR 0.985 per epoch, global gradient-norm clip 1, weights clamped to [-4, 4]
after every step; the NA code's augmentations. Epochs: the configs' (MNIST 200, CIFAR10 300, N-MNIST 100;
Fashion-MNIST 200 from TSSL-BP's ``FashionMNIST_CNN.yaml``, whose network ``na-fmnist`` uses with NA's
neuron and training settings: UNVERIFIED, the NA paper's Fashion-MNIST setup is not known).
``na-nmnist`` follows NA's ``NMNIST_CNN.yaml`` (T = 30, tau_m 8, tau_s 4, batch 50, count loss 15/3); its
300 ms / 30-bin binning is UNVERIFIED (the original used a MATLAB-preprocessed copy).

``train_limit`` / ``test_limit`` (0 = all) train and test on evenly spaced subsets, for quick runs. On a
shared CPU, ``OMP_NUM_THREADS=1`` is much faster than two spinning threads.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from spikegrad.data.augment import (
    color_jitter,
    random_hflip,
    random_rotation,
    random_shift,
)
from spikegrad.data.registry import load_split
from spikegrad.data.split import ImageSplit
from spikegrad.encoding import poisson_encode
from spikegrad.errors import ConfigError, ShapeError
from spikegrad.grad import make_estimator
from spikegrad.rules.na import Faithful, LossChange, NAParameters, Paper
from spikegrad.rules.na import nets as na_nets
from spikegrad.rules.na.layers import NALIF, NAGradient
from spikegrad.rules.na.loss import count_loss, trace_loss
from spikegrad.train.classification import ClassificationExperiment, ClassificationParts
from spikegrad.train.config import RunConfig
from spikegrad.train.events_experiment import (
    EventClassificationExperiment,
    SparseSpikes,
    event_indices,
    jitter,
    spread_subset,
)
from spikegrad.train.experiment import Experiment, ProgressCallback
from spikegrad.train.recipe import Recipe, register

METHODS = ("na", "bptt")
MNIST_MEAN_STD = ((0.1307,), (0.3081,))  # the NA code normalises Fashion-MNIST with MNIST's statistics too
CIFAR_MEAN_STD = ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010))

NEURON = {"steps": 5, "tau_m": 5.0, "tau_s": 2.0, "threshold": 1.0}
GRADIENT = {"na_mode": "faithful", "rescale": False, "loss_change": "accumulated", "exact_output": False,
            "surrogate": "sigmoid", "surrogate_alpha": 5.0, "chunk_elements": 0}
TRAINING = dict(batch_size=64, lr=5e-4, optimizer="adamw", weight_decay=0.01, schedule="exponential",
                lr_gamma=0.985, grad_clip=1.0)


# -- options -> typed objects (the one place the recipe strings are read) ------------------------------

def neuron_params(config: RunConfig) -> NAParameters:
    return NAParameters(config.param("tau_m"), config.param("tau_s"), config.param("threshold"))


def gradient_of(config: RunConfig) -> NAGradient:
    """The layers' backward pass: a surrogate for ``bptt``, else the NA mode named by ``na_mode``."""
    if config.method == "bptt":
        return make_estimator(config.param("surrogate"), alpha=config.param("surrogate_alpha"))
    mode = config.param("na_mode")
    if mode == "faithful":
        return Faithful(rescale=config.param("rescale"))
    if mode == "paper":
        try:
            change = LossChange(config.param("loss_change"))
        except ValueError:
            raise ConfigError("loss_change", f"expected one of {[c.value for c in LossChange]}, "
                              f"got {config.param('loss_change')!r}") from None
        return Paper(change, exact_output=config.param("exact_output"))
    raise ConfigError("na_mode", f"expected 'faithful' or 'paper', got {mode!r}")


def _chunk(config: RunConfig) -> int | None:
    return config.param("chunk_elements") or None


# -- the classification experiment --------------------------------------------------------------------

class _ClampAfterStep:
    """Mixin for classification experiments: clamp the synapse weights after every optimiser step."""

    weight_clamp: float

    def train_epoch(self, optimizer, generator, on_batch, step) -> dict[str, float]:
        def step_and_clamp(loss: torch.Tensor) -> None:
            step(loss)
            if self.weight_clamp > 0:
                na_nets.clamp_weights_(self.model, self.weight_clamp)

        return super().train_epoch(optimizer, generator, on_batch, step_and_clamp)  # type: ignore[misc]

    def summary(self, history: list[dict[str, float]]) -> dict[str, float | int | str | bool | None]:
        layers = [m for m in self.model.modules() if isinstance(m, NALIF)]  # type: ignore[attr-defined]
        return {"gradient": str(layers[0].gradient) if layers else None}


class NAClassificationExperiment(_ClampAfterStep, ClassificationExperiment):
    """:class:`ClassificationExperiment` that clamps the synapse weights after every optimiser step."""

    def __init__(self, config: RunConfig, parts: ClassificationParts, weight_clamp: float):
        super().__init__(config, parts)
        self.weight_clamp = weight_clamp


def evenly_spaced(data: ImageSplit, limit: int) -> ImageSplit:
    """The split itself, or ``limit`` evenly spaced samples of it (``limit = 0``: all; files sorted by label
    stay balanced)."""
    if limit <= 0 or limit >= len(data):
        return data
    index = np.asarray(spread_subset(len(data), limit))
    return ImageSplit(data.images[index], data.labels[index], data.num_classes, f"{data.source} ({limit} evenly spaced)")


def _image_experiment(config: RunConfig, dataset: str, build_model, mean_std, in_channels: int,
                      color: bool = False) -> NAClassificationExperiment:
    steps, params = config.param("steps"), neuron_params(config)
    encoding = config.param("encoding")
    if encoding not in ("direct", "rate"):
        raise ConfigError("encoding", f"expected 'direct' or 'rate', got {encoding!r}")
    mean = torch.tensor(mean_std[0]).view(1, -1, 1, 1)
    std = torch.tensor(mean_std[1]).view(1, -1, 1, 1)
    first = evenly_spaced(load_split(dataset, "test", config.data_dir), config.param("test_limit"))

    def to_tensor(images: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(images).float().div_(255.0)
        x = x.permute(0, 3, 1, 2) if x.dim() == 4 else x.unsqueeze(1)  # [N, C, H, W]
        if x.shape[1] != in_channels:
            raise ShapeError(f"{dataset} images", f"{in_channels} channel(s)", tuple(x.shape))
        return x

    def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        x = random_shift(x, config.param("max_shift"), generator)
        if config.param("hflip"):
            x = random_hflip(x, generator)
        if color:
            x = color_jitter(x, config.param("color_jitter"), generator)
        return random_rotation(x, config.param("rotation"), generator)

    def encode(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if encoding == "rate":  # Bernoulli spikes with the pixel intensity as probability per step
            return poisson_encode(x, steps, generator)
        return ((x - mean) / std).unsqueeze(0).expand(steps, *x.shape)  # direct: the same analog frame each step

    parts = ClassificationParts(
        load_split=lambda split: first if split == "test" else evenly_spaced(
            load_split(dataset, split, config.data_dir), config.param("train_limit")),
        to_tensor=to_tensor,
        encode=encode,
        model=build_model(gradient_of(config), params, chunk_elements=_chunk(config)),
        loss=lambda out, labels: trace_loss(out, labels, params),
        augment=augment,
    )
    return NAClassificationExperiment(config, parts, config.param("weight_clamp"))


IMAGE_PARAMS = {**NEURON, "encoding": "direct", **GRADIENT, "weight_clamp": 4.0, "train_limit": 0, "test_limit": 0}

register(Recipe(
    name="na-mnist",
    summary="NA: MNIST CNN 15C5-P2-40C5-P2-300-10, T=5 (poster 99.69 %); method bptt = sigmoid-surrogate BPTT",
    defaults=RunConfig(recipe="na-mnist", method="na", epochs=200, **TRAINING,
                       params={**IMAGE_PARAMS, "max_shift": 4, "hflip": False, "rotation": 15.0}),
    methods=METHODS,
    build=lambda config: _image_experiment(config, "mnist", na_nets.mnist_cnn, MNIST_MEAN_STD, 1),
))

register(Recipe(
    name="na-fmnist",
    summary="NA: Fashion-MNIST CNN 32C5-P2-64C5-P2-1024-10 (padding 2), T=5; method bptt = surrogate BPTT",
    defaults=RunConfig(recipe="na-fmnist", method="na", epochs=200, **TRAINING,
                       params={**IMAGE_PARAMS, "max_shift": 4, "hflip": True, "rotation": 5.0}),
    methods=METHODS,
    build=lambda config: _image_experiment(config, "fashion-mnist", na_nets.fmnist_cnn, MNIST_MEAN_STD, 1),
))

register(Recipe(
    name="na-cifar10",
    summary="NA: CIFAR10 AlexNet 96C3-256C3-P2-384C3-P2-384C3-256C3-1024-1024-10, T=5 (poster 91.76 %)",
    defaults=RunConfig(recipe="na-cifar10", method="na", epochs=300, **{**TRAINING, "batch_size": 50},
                       params={**IMAGE_PARAMS, "max_shift": 4, "hflip": True, "rotation": 0.0,
                               "color_jitter": 0.2, "dropout": 0.2}),
    methods=METHODS,
    build=lambda config: _image_experiment(
        config, "cifar10",
        lambda gradient, params, **kw: na_nets.cifar10_alexnet(gradient, params, dropout=config.param("dropout"), **kw),
        CIFAR_MEAN_STD, 3, color=True),
))


# -- N-MNIST (event files; reader: spikegrad.data.nmnist) ---------------------------------------------

class NAEventExperiment(_ClampAfterStep, EventClassificationExperiment):
    """:class:`~spikegrad.train.events_experiment.EventClassificationExperiment` with the weight clamp."""

    def __init__(self, config: RunConfig, weight_clamp: float, **kwargs):
        super().__init__(config, **kwargs)
        self.weight_clamp = weight_clamp


def _nmnist_experiment(config: RunConfig) -> NAEventExperiment:
    from pathlib import Path

    from spikegrad.data.events import EventBinning
    from spikegrad.data.nmnist import nmnist, nmnist_small

    if config.data_dir is None:
        raise ConfigError("data_dir", "na-nmnist reads N-MNIST event files: pass --data-dir (NMNISTsmall or the release)")
    steps, params = config.param("steps"), neuron_params(config)
    sample_ms = config.param("sample_ms")
    binning = EventBinning(sensor_size=(34, 34), sample_ms=sample_ms, ts=sample_ms / steps)

    def load_events(split: str) -> tuple[SparseSpikes, torch.Tensor]:
        root = Path(config.data_dir)
        small = root / "NMNISTsmall" if (root / "NMNISTsmall").is_dir() else root
        dataset = nmnist_small(small, split) if (small / "train1K.txt").is_file() else nmnist(root, split)
        chosen = spread_subset(len(dataset), config.param("train_limit" if split == "train" else "test_limit"))
        samples = [event_indices(dataset.reader(dataset.files[i]), binning) for i in chosen]
        labels = torch.tensor([dataset.labels[i] for i in chosen], dtype=torch.int64)
        return SparseSpikes.from_indices(binning.shape, samples), labels

    loss_name, desired, undesired = config.param("loss"), config.param("desired_count"), config.param("undesired_count")
    if loss_name not in ("count", "trace"):
        raise ConfigError("loss", f"expected 'count' or 'trace', got {loss_name!r}")

    def loss(out: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if loss_name == "count":
            return count_loss(out, labels, desired, undesired)
        return trace_loss(out, labels, params)

    model = na_nets.nmnist_cnn(gradient_of(config), params, dropout=config.param("dropout"), chunk_elements=_chunk(config))
    return NAEventExperiment(config, config.param("weight_clamp"), load_events=load_events, model=model, loss=loss,
                             augment=lambda spikes, generator: jitter(spikes, config.param("max_jitter"), generator))


register(Recipe(
    name="na-nmnist",
    summary="NA: N-MNIST CNN 12C5-P2-64C5-P2-10, T=30, tau_m 8, tau_s 4, count loss 15/3 (NA NMNIST_CNN.yaml)",
    defaults=RunConfig(recipe="na-nmnist", method="na", epochs=100, **{**TRAINING, "batch_size": 50},
                       params={**NEURON, "steps": 30, "tau_m": 8.0, "tau_s": 4.0, **GRADIENT, "weight_clamp": 4.0,
                               "sample_ms": 300.0, "dropout": 0.2, "loss": "count", "desired_count": 15.0,
                               "undesired_count": 3.0, "max_jitter": 0, "train_limit": 0, "test_limit": 0}),
    methods=METHODS,
    build=_nmnist_experiment,
))


# -- single-neuron spike-train fitting: NA against a sigmoid surrogate on the same trials -------------

class _TwinNeurons(torch.nn.Module):
    """One LIF + trace neuron per trial, twice: weights ``w[0]`` trained by NA, ``w[1]`` by the surrogate."""

    def __init__(self, weights: torch.Tensor, params: NAParameters, na: NAGradient, surrogate: NAGradient):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.stack([weights, weights.clone()]))  # [2, trials, inputs]
        self.neurons = torch.nn.ModuleList([NALIF(params, na, is_output=True), NALIF(params, surrogate, is_output=True)])

    def currents(self, inputs: torch.Tensor) -> torch.Tensor:
        """``[2, T, trials]`` input currents of both copies for inputs ``[T, trials, inputs]``."""
        return torch.einsum("tbi,mbi->mtb", inputs, self.weight)

    def forward(self, inputs: torch.Tensor) -> list[torch.Tensor]:
        return [neuron(current)[0] for neuron, current in zip(self.neurons, self.currents(inputs))]


class SpikeFitExperiment(Experiment):
    """Single-neuron spike-train fitting (the NA paper's toy experiment; its figure values are UNVERIFIED).

    Each trial draws ``inputs`` Poisson input trains (probability ``input_rate`` per step, as the authors'
    notebook: ``randint(0, 20) == 0``), filters them with the synaptic trace and z-scores them across inputs
    at every step (the notebook's ``stats.zscore``), draws a desired output train (``target_rate`` per step,
    at least one spike; UNVERIFIED) and initial weights ``N(0, weight_std^2)``. Two copies of the neuron
    start from the same weights: one trained by NA, one by BPTT with a sigmoid surrogate, with the same
    optimiser, on the trace loss. An "epoch" is ``iterations`` optimiser steps; ``accuracy`` is the fraction
    of trials whose output train equals the desired one.
    """

    def __init__(self, config: RunConfig):
        self.config = config
        self.params = neuron_params(config)
        steps, trials, inputs = config.param("steps"), config.param("trials"), config.param("inputs")
        generator = torch.Generator().manual_seed(config.seed)
        spikes = (torch.rand(steps, trials, inputs, generator=generator) < config.param("input_rate")).float()
        from spikegrad.rules.na import synaptic_trace

        trace = synaptic_trace(spikes, self.params)
        mean, std = trace.mean(-1, keepdim=True), trace.std(-1, unbiased=False, keepdim=True)
        self.inputs = ((trace - mean) / std.clamp_min(1e-6)).to(self.device)
        desired = (torch.rand(steps, trials, generator=generator) < config.param("target_rate")).float()
        empty = desired.sum(0) == 0
        desired[torch.randint(0, steps, (trials,), generator=generator)[empty], empty.nonzero().squeeze(1)] = 1.0
        self.desired = desired.to(self.device)
        self.target = synaptic_trace(self.desired, self.params)
        weights = torch.randn(trials, inputs, generator=generator) * config.param("weight_std")
        surrogate = make_estimator(config.param("surrogate"), alpha=config.param("surrogate_alpha"))
        self.names = ("na", config.param("surrogate"))
        self.model = _TwinNeurons(weights, self.params, gradient_of(config), surrogate).to(self.device)
        self._last: dict[str, float] = {}

    def num_batches(self) -> int:
        return self.config.param("iterations")

    def _losses(self) -> list[torch.Tensor]:
        return [0.5 * (trace - self.target).square().sum() for trace in self.model(self.inputs)]

    def train_epoch(self, optimizer, generator, on_batch: ProgressCallback, step) -> dict[str, float]:
        self.model.train()
        iterations, trials = self.num_batches(), self.config.param("trials")
        for index in range(iterations):
            losses = self._losses()
            step(losses[0] + losses[1])  # disjoint weights: each copy gets its own rule's gradient
            on_batch(index, iterations, losses[0].item() / trials)
        return {"loss": losses[0].item() / trials, f"{self.names[1]}_loss": losses[1].item() / trials}

    @torch.no_grad()
    def evaluate(self, split: str, generator: torch.Generator) -> dict[str, float]:
        from spikegrad.rules.na import na_forward

        trials = self.config.param("trials")
        metrics: dict[str, float] = {}
        for name, currents, loss in zip(self.names, self.model.currents(self.inputs), self._losses()):
            spikes = na_forward(currents, self.params).spikes
            exact = (spikes == self.desired).all(0).float().mean().item()
            count_error = (spikes.sum(0) - self.desired.sum(0)).abs().mean().item()
            prefix = "" if name == "na" else f"{name}_"
            metrics.update({f"{prefix}loss": loss.item() / trials, f"{prefix}accuracy": exact,
                            f"{prefix}count_error": count_error})
        self._last = metrics
        return metrics

    def summary(self, history: list[dict[str, float]]) -> dict[str, float | int | str | bool | None]:
        surrogate = self.names[1]
        out: dict[str, float | int | str | bool] = {
            "na_fit_fraction": self._last.get("accuracy", math.nan),
            f"{surrogate}_fit_fraction": self._last.get(f"{surrogate}_accuracy", math.nan),
            "na_final_loss_per_trial": self._last.get("loss", math.nan),
            f"{surrogate}_final_loss_per_trial": self._last.get(f"{surrogate}_loss", math.nan),
            "trials": self.config.param("trials"),
        }
        better = "na" if out["na_final_loss_per_trial"] < out[f"{surrogate}_final_loss_per_trial"] else surrogate
        out["lower_final_loss"] = better
        return out


register(Recipe(
    name="na-fit",
    summary="NA vs sigmoid-surrogate BPTT fitting a desired spike train with one neuron (200 inputs, T=30, 500 trials)",
    defaults=RunConfig(recipe="na-fit", method="na", epochs=10, batch_size=1, lr=0.01, optimizer="adam",
                       params={**NEURON, "steps": 30, **GRADIENT, "inputs": 200, "trials": 500, "iterations": 20,
                               "input_rate": 0.05, "target_rate": 0.1, "weight_std": 0.1}),
    methods=("na",),
    build=SpikeFitExperiment,
    needs_data=False,
))

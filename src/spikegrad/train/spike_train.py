"""Spike-train problems: fixed input patterns must produce desired output spike trains.

NormAD's problems (one neuron, the temporal XOR, the 3-layer mapping) and NA's single-neuron fitting are
this experiment. Every epoch presents the whole problem ``iterations`` times, one optimiser step each;
evaluation simulates it once more. The problem has one set of patterns, so the only split is ``train``
and the metrics are named for it (``train_correlation``, ``train_fit_fraction``, ...). How a rule turns
a presentation into gradients is a :class:`Presenter`: autograd on a loss, or a rule writing
``param.grad`` itself (:class:`~spikegrad.rules.normad.NormAD`) through :meth:`Presenter.backward`.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from spikegrad.analysis.spike_metrics import ExponentialKernel, FilterKernel, spike_correlation, van_rossum_distance
from spikegrad.data.problems.spike_mapping import SpikeTrainProblem
from spikegrad.errors import ConfigError
from spikegrad.nn import recording
from spikegrad.train.config import RunConfig
from spikegrad.train.experiment import Experiment, ProgressCallback, StepFunction


class Presenter(ABC):
    """How one rule presents the problem to its network and makes gradients."""

    @abstractmethod
    def present(self, inputs: torch.Tensor, desired: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Simulate the inputs ``[T, B, n_in]``: ``(loss, output spikes [T, B, n_out])``."""

    def backward(self, loss: torch.Tensor) -> None:
        """Gradients of the last presentation (default: autograd of its loss)."""
        loss.backward()


class AutogradPresenter(Presenter):
    """A rule trained by autograd: ``loss(output, desired)`` on the network's output; the output spikes are
    recorded from the last spiking layer (the output may be a trace)."""

    def __init__(self, model: nn.Module, loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]):
        self.model, self.loss = model, loss

    def present(self, inputs: torch.Tensor, desired: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with recording(self.model) as layers:
            output = self.model(inputs)
            spikes = layers[-1][1].recorded_spikes
        return self.loss(output, desired), spikes


Criterion = Callable[[torch.Tensor, torch.Tensor, float], bool]
"""``solved(desired, output, correlation)``: whether the problem counts as solved."""


def correlation_reaches(target: float) -> Criterion:
    """Solved once the mean output correlation reaches ``target``."""
    return lambda desired, output, correlation: correlation >= target


def never(desired: torch.Tensor, output: torch.Tensor, correlation: float) -> bool:
    """No stopping criterion: train for every epoch."""
    return False


@dataclasses.dataclass
class SpikeTrainParts:
    """What a recipe provides to :class:`SpikeTrainExperiment`.

    Attributes:
        problem: inputs and desired output trains (a batch of patterns).
        dt_ms: the grid step of the trains (ms).
        model: the network (its parameters are what the optimiser trains).
        presenter: the rule's presentation and gradients.
        groups: the optimiser's parameter groups (default: every trainable parameter, ``lr_scale`` 1).
        solved: stopping criterion (default: never).
        iterations: optimiser steps per epoch.
        kernel: the filter of the spike-train correlation (NormAD's code: exponential, 5 ms).
        plot: optional ``plot(path, initial_output, output)`` raster of the result.
        primary_metric: what ``summary.json`` reports final and best (``correlation``, ``fit_fraction``, ...).
    """

    problem: SpikeTrainProblem
    dt_ms: float
    model: nn.Module
    presenter: Presenter
    groups: list[dict[str, Any]] | None = None
    solved: Criterion = never
    iterations: int = 1
    kernel: FilterKernel = ExponentialKernel(5.0)
    plot: Callable[[Path, torch.Tensor, torch.Tensor], None] | None = None
    primary_metric: str = "correlation"


class SpikeTrainExperiment(Experiment):
    """Train a network to map fixed inputs to desired spike trains (module docstring)."""

    eval_split = "train"

    def __init__(self, config: RunConfig, parts: SpikeTrainParts):
        if parts.iterations < 1:
            raise ConfigError("iterations", f"must be >= 1, got {parts.iterations}")
        self.config, self.parts = config, parts
        self.primary_metric = parts.primary_metric
        self.model = parts.model.to(self.device)
        self.inputs = parts.problem.inputs.to(self.device)
        self.desired = parts.problem.desired.to(self.device)
        self.initial_loss, self.initial_output = self.simulate()

    def simulate(self) -> tuple[float, torch.Tensor]:
        """The loss and the output spikes ``[T, B, n_out]`` of the network as it is (no update)."""
        with torch.no_grad():
            loss, output = self.parts.presenter.present(self.inputs, self.desired)
        return loss.item(), output.detach()

    def parameter_groups(self) -> list[dict[str, Any]]:
        return self.parts.groups if self.parts.groups is not None else super().parameter_groups()

    def num_batches(self) -> int:
        return self.parts.iterations

    def backward(self, loss: torch.Tensor) -> None:
        self.parts.presenter.backward(loss)

    def train_epoch(self, generator: torch.Generator, on_batch: ProgressCallback, step: StepFunction) -> dict[str, float]:
        self.model.train()
        total = 0.0
        for index in range(self.parts.iterations):
            loss, _ = self.parts.presenter.present(self.inputs, self.desired)
            step(loss)
            total += loss.item()
            on_batch(index, self.parts.iterations, loss.item())
        return {"loss": total / self.parts.iterations}

    def evaluate(self, split: str, generator: torch.Generator) -> dict[str, float]:
        if split != "train":
            raise ConfigError("split", f"recipe {self.config.recipe!r} is a spike-train problem with one set of "
                              f"patterns: evaluate split 'train', not {split!r}")
        self.model.eval()
        output = self.simulate()[1]
        correlation = spike_correlation(self.desired, output, self.parts.dt_ms, self.parts.kernel).mean().item()
        return {
            "correlation": correlation,
            "van_rossum": van_rossum_distance(self.desired, output, self.parts.dt_ms).mean().item(),
            "fit_fraction": (output == self.desired).all(0).all(-1).float().mean().item(),
            "count_error": (output.sum(0) - self.desired.sum(0)).abs().mean().item(),
            "solved": float(self.parts.solved(self.desired, output, correlation)),
        }

    def finished(self, history: list[dict[str, float]]) -> bool:
        return bool(history[-1]["train_solved"])

    def summary(self, history: list[dict[str, float]]) -> dict[str, Any]:
        solved = [int(row["epoch"]) for row in history if row["train_solved"]]
        last = history[-1]
        return {"solved": bool(solved), "epochs_to_solve": solved[0] if solved else None,
                "train_fit_fraction": last["train_fit_fraction"], "initial_loss": self.initial_loss,
                "final_loss": self.simulate()[0]}

    def plot_sample(self, path: Path, generator: torch.Generator) -> None:
        if self.parts.plot is not None:
            self.parts.plot(path, self.initial_output.cpu(), self.simulate()[1].cpu())

"""The one experiment shape the trainer runs: a model plus one epoch of training and an evaluation.

Two kinds implement it: :class:`~spikegrad.train.classification.ClassificationExperiment` (images,
event samples and audio as spike trains, mini-batches) and
:class:`~spikegrad.train.spike_train.SpikeTrainExperiment` (fixed input patterns that must produce
desired output spike trains). Small behaviours are data, not subclasses: the optimiser's parameter
groups, a hook after every optimiser step, and how gradients are made (:meth:`Experiment.backward`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from spikegrad.errors import ConfigError
from spikegrad.train.config import RunConfig
from spikegrad.train.distributed import SINGLE_PROCESS, World

ProgressCallback = Callable[[int, int, float], None]
"""Called after each batch with ``(batch_index, num_batches, loss)``."""

StepFunction = Callable[[torch.Tensor | None], float]
"""The trainer's optimisation step: ``step(loss)`` makes the gradients, checks, clips and steps, and returns the
batch's loss summed over the processes. Under torchrun ``loss`` is this process's share of the batch's loss
(weighted by :meth:`~spikegrad.losses.BatchReduction.shard_weight`), or None where its share is empty."""


class Experiment(ABC):
    """A trainable experiment. The trainer owns the run directory, checkpoints, seeds and logging.

    Subclasses set ``self.model`` and ``self.config`` and implement one epoch of training and an
    evaluation. Randomness must come from the generator the trainer passes in (or torch's global RNG,
    which the trainer re-seeds at every epoch), so that a resumed run reaches the same result.

    Attributes:
        eval_split: the split the trainer evaluates after every epoch (``test``; spike-train problems,
            whose only patterns are the training ones, say ``train``).
        primary_metric: the metric that ``summary.json`` reports final and best (``accuracy``, ...).
        world: the processes the experiment's data is shared among (:meth:`distribute`; one by default).
    """

    model: nn.Module
    config: RunConfig
    eval_split: str = "test"
    primary_metric: str = "accuracy"
    world: World = SINGLE_PROCESS

    @property
    def device(self) -> torch.device:
        return self.config.resolve_device()

    @abstractmethod
    def train_epoch(self, generator: torch.Generator, on_batch: ProgressCallback, step: StepFunction) -> dict[str, float]:
        """Train for one epoch; call ``step(loss)`` for each batch. Returns the epoch's metrics (at least ``loss``)."""

    @abstractmethod
    def evaluate(self, split: str, generator: torch.Generator) -> dict[str, float]:
        """Metrics on ``split``; a split the experiment does not have is a ConfigError."""

    def distribute(self, world: World) -> None:
        """Share the data among the processes of ``world`` (see :mod:`spikegrad.train.distributed`). An
        experiment that cannot refuses more than one process (the default)."""
        if world.size > 1:
            raise ConfigError("torchrun", f"recipe {self.config.recipe!r} ({type(self).__name__}) runs on one process: "
                              f"it has no batches of samples to share among {world.size}; run it without torchrun")

    def backward(self, loss: torch.Tensor) -> None:
        """Make the parameters' gradients for ``loss`` (default: autograd). A rule that writes ``param.grad``
        itself (NormAD) overrides this; the trainer then checks, clips and steps as for any other rule."""
        loss.backward()

    def after_step(self) -> None:
        """Called after every optimiser step (e.g. a weight clamp); nothing by default."""

    def parameter_groups(self) -> list[dict[str, Any]]:
        """The optimiser's parameter groups; a group's ``lr_scale`` (default 1) multiplies the run's ``lr``."""
        return [{"params": [p for p in self.model.parameters() if p.requires_grad]}]

    def num_batches(self) -> int:
        """Batches per training epoch (for progress bars)."""
        return 0

    def plot_sample(self, path: Path, generator: torch.Generator) -> None:
        """Write a picture of one sample going through the network (a spike raster); optional."""

    def finished(self, history: list[dict[str, float]]) -> bool:
        """True when training has reached its goal and the trainer should stop before ``epochs`` (default: never)."""
        return False

    def summary(self, history: list[dict[str, float]]) -> dict[str, float | int | str | bool | None]:
        """Extra keys for ``summary.json`` (e.g. ``epochs_to_solve``) from the per-epoch rows; optional."""
        return {}

"""What a recipe hands the trainer: a model plus how to train and evaluate it for one epoch."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from spikegrad.train.config import RunConfig

ProgressCallback = Callable[[int, int, float], None]
"""Called after each batch with ``(batch_index, num_batches, loss)``."""


class Experiment(ABC):
    """A trainable experiment. The trainer owns the run directory, checkpoints, seeds and logging.

    Subclasses set ``self.model`` and implement one epoch of training and an evaluation. Randomness must
    come from the generator the trainer passes in (or torch's global RNG, which the trainer re-seeds at
    every epoch), so that an interrupted run resumed from its checkpoint reaches the same result.
    """

    model: nn.Module
    config: RunConfig

    @property
    def device(self) -> torch.device:
        return torch.device(self.config.device)

    @abstractmethod
    def train_epoch(
        self, optimizer: torch.optim.Optimizer, generator: torch.Generator, on_batch: ProgressCallback,
        step: Callable[[torch.Tensor], None],
    ) -> dict[str, float]:
        """Train for one epoch; call ``step(loss)`` for each batch (it back-propagates, checks and steps).

        Returns the epoch's training metrics (at least ``loss``).
        """

    @abstractmethod
    def evaluate(self, split: str, generator: torch.Generator) -> dict[str, float]:
        """Metrics on ``split`` (``train``, ``test`` or ``all``); at least ``accuracy`` for classifiers."""

    def make_optimizer(self) -> torch.optim.Optimizer | None:
        """The optimiser, when the experiment's rule needs its own (e.g. per-layer rates); None: the config's."""
        return None

    def num_batches(self) -> int:
        """Batches per training epoch (for progress bars)."""
        return 0

    def plot_sample(self, path: Path, generator: torch.Generator) -> None:
        """Write a picture of one sample going through the network (a spike raster); optional."""

    def finished(self, history: list[dict[str, float]]) -> bool:
        """True when training has reached its goal and the trainer should stop before ``epochs`` (default: never)."""
        return False

    def summary(self, history: list[dict[str, float]]) -> dict[str, float | int | str | bool | None]:
        """Extra keys for ``summary.json`` (e.g. ``final_correlation``) from the per-epoch rows; optional."""
        return {}

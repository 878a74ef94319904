"""The standard experiment: classify samples from spike trains, any network, any learning rule."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from spikegrad.data.split import ImageSplit
from spikegrad.errors import ConfigError, ShapeError
from spikegrad.train.config import RunConfig
from spikegrad.train.experiment import Experiment, ProgressCallback

Encoder = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
"""Maps a float batch ``[B, ...]`` to spike trains ``[T, B, ...]``, drawing randomness from the generator."""


def spike_count_prediction(output: torch.Tensor) -> torch.Tensor:
    """Predicted class: the output neuron with the most spikes (or largest summed trace) over time."""
    return output.sum(0).argmax(-1)


@dataclasses.dataclass
class ClassificationParts:
    """What a recipe provides to :class:`ClassificationExperiment`.

    Attributes:
        load_split: returns the :class:`ImageSplit` named ``train``, ``test`` or ``all``.
        to_tensor: converts a uint8 image array ``[N, ...]`` to the float tensor the encoder expects.
        encode: float batch -> spike trains ``[T, B, ...]``.
        model: called as ``model(x) -> (output[T, B, C], states)``.
        loss: ``loss(output, labels) -> scalar``.
        predict: ``predict(output) -> labels``.
        augment: optional training-time augmentation of the float batch.
    """

    load_split: Callable[[str], ImageSplit]
    to_tensor: Callable[[np.ndarray], torch.Tensor]
    encode: Encoder
    model: nn.Module
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    predict: Callable[[torch.Tensor], torch.Tensor] = spike_count_prediction
    augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None


class ClassificationExperiment(Experiment):
    """Mini-batch training of a spiking classifier on an image dataset."""

    def __init__(self, config: RunConfig, parts: ClassificationParts):
        self.config, self.parts = config, parts
        self.model = parts.model.to(self.device)
        self._splits: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def split(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        """The split as (float inputs, int64 labels), loaded once."""
        if name not in self._splits:
            data = self.parts.load_split(name)
            self._splits[name] = (self.parts.to_tensor(data.images), torch.from_numpy(data.labels))
        return self._splits[name]

    def num_batches(self) -> int:
        return -(-len(self.split("train")[1]) // self.config.batch_size)

    def _forward(self, inputs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        spikes = self.parts.encode(inputs, generator).to(self.device)
        output, _ = self.model(spikes)
        if output.dim() != 3:
            raise ShapeError("model output", "[T, B, classes]", tuple(output.shape))
        return output

    def train_epoch(self, optimizer, generator, on_batch: ProgressCallback, step) -> dict[str, float]:
        inputs, labels = self.split("train")
        self.model.train()
        order = torch.randperm(len(labels), generator=generator)
        total_loss, correct, batches = 0.0, 0, self.num_batches()
        for index in range(batches):
            batch = order[index * self.config.batch_size:(index + 1) * self.config.batch_size]
            x, y = inputs[batch], labels[batch].to(self.device)
            if self.parts.augment is not None:
                x = self.parts.augment(x, generator)
            output = self._forward(x, generator)
            loss = self.parts.loss(output, y)
            step(loss)
            total_loss += loss.item() * len(batch)
            correct += int((self.parts.predict(output.detach()) == y).sum())
            on_batch(index, batches, loss.item())
        return {"loss": total_loss / len(labels), "accuracy": correct / len(labels)}

    @torch.no_grad()
    def evaluate(self, split: str, generator: torch.Generator) -> dict[str, float]:
        if split not in ("train", "test", "all"):
            raise ConfigError("split", f"expected 'train', 'test' or 'all', got {split!r}")
        inputs, labels = self.split(split)
        self.model.eval()
        batch_size = max(self.config.batch_size, 256)
        total_loss, correct = 0.0, 0
        for start in range(0, len(labels), batch_size):
            x, y = inputs[start:start + batch_size], labels[start:start + batch_size].to(self.device)
            output = self._forward(x, generator)
            total_loss += self.parts.loss(output, y).item() * len(y)
            correct += int((self.parts.predict(output) == y).sum())
        return {"loss": total_loss / len(labels), "accuracy": correct / len(labels), "samples": float(len(labels))}

    @torch.no_grad()
    def plot_sample(self, path: Path, generator: torch.Generator) -> None:
        from spikegrad.analysis.plots import plot_raster

        inputs, labels = self.split("test")
        self.model.eval()
        spikes = self.parts.encode(inputs[:1], generator).to(self.device)
        layers = [("input", spikes)]
        record = getattr(self.model, "stateful_outputs", None)
        if record is not None:
            layers += [(f"layer {i + 1}", out) for i, out in enumerate(record(spikes))]
        plot_raster(layers, path, title=f"one test sample (label {int(labels[0])})")

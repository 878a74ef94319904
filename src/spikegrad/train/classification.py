"""Classification of samples from spike trains: any network, any learning rule, images or event data.

A split is ``(inputs, labels)`` where ``inputs`` is indexable by an index tensor and has a length: a
float tensor ``[N, ...]`` (images, encoded at every batch by the recipe's encoder, e.g. Poisson rate
coding) or :class:`~spikegrad.data.sparse.SparseSpikes` (event and audio samples binned once and kept
sparse, made dense per batch). Training-time augmentation acts on the same kind of batch and draws
from the trainer's generator, so resumed runs reproduce uninterrupted ones.

Under torchrun (:mod:`spikegrad.train.distributed`) ``batch_size`` and ``eval_batch_size`` are global: every
process augments and encodes the whole batch, drawing what one process would draw, and runs the network on
its share; training and evaluation metrics are summed over the processes. The encoded global batch is thus
held by every process (it is small next to the network's activations).

Image batches are moved to the run's device first and augmented and encoded there, drawing on the
device's generator (:func:`~spikegrad.train.device_generator.device_generator`: on the CPU the trainer's
generator itself, so CPU runs draw exactly as before); sparse samples are augmented and made dense on the
host with the trainer's generator and the dense batch moved. The accuracy counts stay on the device until
the end of the epoch: of this loop only the logged per-batch loss is read back to the host (the trainer's
divergence guards and the encoders' input range checks read their own values).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from spikegrad.data.sparse import SparseSpikes
from spikegrad.data.split import ImageSplit
from spikegrad.errors import ConfigError, ShapeError
from spikegrad.losses.reduction import BatchReduction
from spikegrad.train.config import RunConfig
from spikegrad.train.device_generator import device_generator
from spikegrad.train.distributed import World
from spikegrad.train.experiment import Experiment, ProgressCallback, StepFunction

Samples = torch.Tensor | SparseSpikes
"""The inputs of a split: a float tensor ``[N, ...]`` or sparse spike samples."""

Encoder = Callable[[Any, torch.Generator], torch.Tensor]
"""Maps a batch of inputs to the network's input ``[T, B, ...]``, drawing randomness from the generator."""


def spike_count_prediction(output: torch.Tensor) -> torch.Tensor:
    """Predicted class: the output neuron with the most spikes (or largest summed trace) over time."""
    return output.sum(0).argmax(-1)


def dense_spikes(spikes: SparseSpikes, generator: torch.Generator) -> torch.Tensor:
    """The encoder of pre-binned samples: :meth:`SparseSpikes.dense`, ``[T, B, *features]``."""
    return spikes.dense()


def image_samples(split: ImageSplit, to_tensor: Callable[[np.ndarray], torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """A split's images as the float tensor the encoder expects, and its int64 labels."""
    return to_tensor(split.images), torch.from_numpy(split.labels)


def concat_samples(first: Samples, second: Samples) -> Samples:
    """``first``'s samples followed by ``second``'s (both tensors or both sparse)."""
    if isinstance(first, SparseSpikes) and isinstance(second, SparseSpikes):
        return SparseSpikes.concat(first, second)
    if isinstance(first, torch.Tensor) and isinstance(second, torch.Tensor):
        return torch.cat([first, second])
    raise ShapeError("splits", "train and test of one kind", f"{type(first).__name__} and {type(second).__name__}")


@dataclasses.dataclass
class ClassificationParts:
    """What a recipe provides to :class:`ClassificationExperiment`.

    Attributes:
        load_split: returns ``(inputs, int64 labels)`` of ``train`` or ``test`` (``all`` is their concatenation).
        encode: a batch of inputs -> the network's input ``[T, B, ...]``.
        model: called as ``model(x) -> (output[T, B, C], states)``.
        loss: ``loss(output, labels) -> scalar``.
        predict: ``predict(output) -> labels``.
        reduction: whether ``loss`` is a mean (default) or a sum over the batch's samples.
        augment: optional training-time augmentation of a batch of inputs.
        after_step: optional hook after every optimiser step (e.g. NA's weight clamp).
    """

    load_split: Callable[[str], tuple[Samples, torch.Tensor]]
    encode: Encoder
    model: nn.Module
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    predict: Callable[[torch.Tensor], torch.Tensor] = spike_count_prediction
    reduction: BatchReduction = BatchReduction.MEAN
    augment: Callable[[Any, torch.Generator], Any] | None = None
    after_step: Callable[[nn.Module], None] | None = None


class ClassificationExperiment(Experiment):
    """Mini-batch training of a spiking classifier (``batch_size``; evaluation in ``eval_batch_size`` chunks)."""

    def __init__(self, config: RunConfig, parts: ClassificationParts, summary_extras: dict[str, Any] | None = None):
        self.config, self.parts = config, parts
        self.model = parts.model.to(self.device)
        self._splits: dict[str, tuple[Samples, torch.Tensor]] = {}
        self._summary_extras = dict(summary_extras or {})

    def split(self, name: str) -> tuple[Samples, torch.Tensor]:
        """The split as ``(inputs, int64 labels)``, loaded once."""
        if name not in ("train", "test", "all"):
            raise ConfigError("split", f"expected 'train', 'test' or 'all', got {name!r}")
        if name not in self._splits:
            if name == "all":
                (train, train_labels), (test, test_labels) = self.split("train"), self.split("test")
                self._splits[name] = (concat_samples(train, test), torch.cat([train_labels, test_labels]))
            else:
                inputs, labels = self.parts.load_split(name)
                if len(inputs) != len(labels):
                    raise ShapeError(f"{name} split", "one label per sample", f"{len(inputs)} samples, {len(labels)} labels")
                if len(labels) == 0:
                    raise ConfigError("data", f"the {name} split of recipe {self.config.recipe!r} has no samples")
                self._splits[name] = (inputs, labels.to(torch.int64))
        return self._splits[name]

    def num_batches(self) -> int:
        return -(-len(self.split("train")[1]) // self.config.batch_size)

    def distribute(self, world: World) -> None:
        self.world = world

    def encode_batch(self, inputs: Samples, host: torch.Generator, on_device: torch.Generator,
                     augment: bool = False) -> torch.Tensor:
        """The network's input ``[T, B, ...]`` for a batch of inputs, on the run's device: an image tensor is
        moved there first and (when ``augment``) augmented and encoded there, drawing on ``on_device`` (the
        device's generator); sparse samples are augmented and made dense on the host, drawing on ``host``."""
        if isinstance(inputs, torch.Tensor):
            inputs, generator = inputs.to(self.device), on_device
        else:
            generator = host
        if augment and self.parts.augment is not None:
            inputs = self.parts.augment(inputs, generator)
        return self.parts.encode(inputs, generator).to(self.device)

    def _encode_share(self, inputs: Samples, host: torch.Generator, on_device: torch.Generator,
                      augment: bool = False) -> tuple[torch.Tensor, slice]:
        """The encoding of a whole (global) batch (:meth:`encode_batch`), cut to this process's share
        ``[T, b, ...]``, and the share."""
        share = self.world.shard(len(inputs))
        return self.encode_batch(inputs, host, on_device, augment)[:, share], share

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.config.amp == "bf16"):
            output, _ = self.model(x)
        if output.dim() != 3:
            raise ShapeError("model output", "[T, B, classes]", tuple(output.shape))
        return output.float()  # the loss and the backward pass run outside autocast, in float32

    def train_epoch(self, generator: torch.Generator, on_batch: ProgressCallback, step: StepFunction) -> dict[str, float]:
        inputs, labels = self.split("train")
        self.model.train()
        order = torch.randperm(len(labels), generator=generator)
        on_device = device_generator(generator, self.device)
        total_loss, correct, batches = 0.0, torch.zeros((), dtype=torch.int64, device=self.device), self.num_batches()
        for index in range(batches):
            batch = order[index * self.config.batch_size:(index + 1) * self.config.batch_size]
            x, share = self._encode_share(inputs[batch], generator, on_device, augment=True)
            y, loss = labels[batch[share]].to(self.device), None
            if len(y):
                output = self._forward(x)
                loss = self.parts.loss(output, y) * self.parts.reduction.shard_weight(len(y), len(batch))
                correct += (self.parts.predict(output.detach()) == y).sum()
            value = step(loss)
            total_loss += value * len(batch)
            on_batch(index, batches, value)
        (correct,) = self.world.sum(int(correct))
        return {"loss": total_loss / len(labels), "accuracy": correct / len(labels)}

    def after_step(self) -> None:
        if self.parts.after_step is not None:
            self.parts.after_step(self.model)

    @torch.no_grad()
    def evaluate(self, split: str, generator: torch.Generator) -> dict[str, float]:
        inputs, labels = self.split(split)
        self.model.eval()
        on_device = device_generator(generator, self.device)
        total_loss, correct = 0.0, torch.zeros((), dtype=torch.int64, device=self.device)
        for start in range(0, len(labels), self.config.eval_batch_size):
            index = torch.arange(start, min(start + self.config.eval_batch_size, len(labels)))
            x, share = self._encode_share(inputs[index], generator, on_device)
            y = labels[index[share]].to(self.device)
            if len(y):
                output = self._forward(x)
                weight = self.parts.reduction.shard_weight(len(y), len(index))
                total_loss += self.parts.loss(output, y).item() * weight * len(index)
                correct += (self.parts.predict(output) == y).sum()
        total_loss, correct = self.world.sum(total_loss, int(correct))
        return {"loss": total_loss / len(labels), "accuracy": correct / len(labels), "samples": float(len(labels))}

    def summary(self, history: list[dict[str, float]]) -> dict[str, Any]:
        return dict(self._summary_extras)

    @torch.no_grad()
    def plot_sample(self, path: Path, generator: torch.Generator) -> None:
        from spikegrad.analysis.plots import plot_raster

        inputs, labels = self.split("test")
        self.model.eval()
        spikes = self.encode_batch(inputs[torch.arange(1)], generator, device_generator(generator, self.device))
        layers = [("input", spikes)]
        record = getattr(self.model, "stateful_outputs", None)
        if record is not None:
            layers += [(f"layer {i + 1}", out) for i, out in enumerate(record(spikes))]
        plot_raster(layers, path, title=f"one test sample (label {int(labels[0])})")

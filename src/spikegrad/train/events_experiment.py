"""Classification of pre-binned spike samples (event cameras, spike-encoded audio) held sparsely in memory.

Event datasets are not images: a sample is a spike tensor ``[T, *features]`` (``[T, P, H, W]`` for an
event camera, ``[T, 2, bands]`` for encoded audio) that is mostly zeros. Binning an event file is the slow
part of reading one, so every sample is binned **once**, when its split is first used, and kept as the
flat indices of its non-zero (0/1) entries (:class:`SparseSpikes`): N-MNIST's 1 000 training samples take
about 16 MB instead of 700 MB dense. Each mini-batch is then made dense as ``[T, B, *features]``.

:class:`EventClassificationExperiment` is :class:`~spikegrad.train.classification.ClassificationExperiment`
with two changes: a split comes from a ``load_events(split) -> (SparseSpikes, labels)`` function instead
of an :class:`~spikegrad.data.split.ImageSplit`, and evaluation uses its own (small) batch size, because a
``[T, B, ...]`` batch of event samples is large. Training-time augmentation (e.g. :func:`jitter`) acts
on the sparse batch and draws from the trainer's generator, so resumed runs reproduce uninterrupted ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from spikegrad.data.events import US_PER_MS, EventBinning, _check_events
from spikegrad.errors import ConfigError, ShapeError
from spikegrad.train.classification import (
    ClassificationExperiment,
    ClassificationParts,
    spike_count_prediction,
)
from spikegrad.train.config import RunConfig


class SparseSpikes:
    """A batch of 0/1 spike samples of one shape ``(T, *features)``, stored as flat indices of their spikes.

    Attributes:
        shape: per-sample shape ``(T, *features)``.
        indices: int64, the flat indices into ``shape`` of every sample's spikes, samples one after another.
        offsets: int64 ``[N + 1]``: sample ``i``'s indices are ``indices[offsets[i]:offsets[i + 1]]``.

    Index it like a tensor (an int, a slice or an integer index tensor) to get a :class:`SparseSpikes` of
    those samples; :meth:`dense` gives the time-first float tensor ``[T, B, *features]``.
    """

    def __init__(self, shape: Sequence[int], indices: torch.Tensor, offsets: torch.Tensor):
        self.shape = tuple(int(s) for s in shape)
        if len(self.shape) < 2 or min(self.shape) < 1:
            raise ShapeError("SparseSpikes shape", "(T, *features) with every size >= 1", self.shape)
        if offsets.dim() != 1 or offsets.numel() < 1 or int(offsets[-1]) != indices.numel():
            raise ShapeError("SparseSpikes offsets", f"[N + 1] ending at {indices.numel()}", tuple(offsets.shape))
        self.indices, self.offsets = indices.to(torch.int64), offsets.to(torch.int64)

    @classmethod
    def from_indices(cls, shape: Sequence[int], samples: Sequence[np.ndarray | torch.Tensor]) -> "SparseSpikes":
        """From one array of flat spike indices per sample (any order; duplicates are merged)."""
        size = math.prod(shape)
        parts = [torch.unique(torch.as_tensor(np.asarray(s), dtype=torch.int64)) for s in samples]
        bad = [i for i, p in enumerate(parts) if p.numel() and (p[0] < 0 or p[-1] >= size)]
        if bad:
            expected = f"flat indices in 0..{size - 1} of {tuple(shape)}"
            raise ShapeError(f"sample {bad[0]} indices", expected, "out of range")
        counts = torch.tensor([0] + [p.numel() for p in parts], dtype=torch.int64)
        indices = torch.cat(parts) if parts else torch.zeros(0, dtype=torch.int64)
        return cls(shape, indices, counts.cumsum(0))

    @classmethod
    def from_dense(cls, samples: Sequence[torch.Tensor]) -> "SparseSpikes":
        """From dense samples ``[T, *features]`` of one shape (every non-zero entry is a spike)."""
        if not samples:
            raise ShapeError("SparseSpikes samples", "at least one sample", "none")
        shape = tuple(samples[0].shape)
        for i, sample in enumerate(samples):
            if tuple(sample.shape) != shape:
                raise ShapeError(f"sample {i}", f"{list(shape)} like sample 0", tuple(sample.shape))
        return cls.from_indices(shape, [s.reshape(-1).nonzero().flatten() for s in samples])

    def __len__(self) -> int:
        return self.offsets.numel() - 1

    def counts(self) -> torch.Tensor:
        """Spikes per sample, int64 ``[N]``."""
        return self.offsets.diff()

    def sample(self, index: int) -> torch.Tensor:
        """Flat spike indices of sample ``index``."""
        return self.indices[self.offsets[index]:self.offsets[index + 1]]

    def __getitem__(self, index: int | slice | torch.Tensor | Sequence[int]) -> "SparseSpikes":
        if isinstance(index, slice):
            rows = torch.arange(len(self))[index]
        elif isinstance(index, int):
            rows = torch.tensor([range(len(self))[index]])
        else:
            rows = torch.as_tensor(index, dtype=torch.int64).reshape(-1)
        starts, counts = self.offsets[rows], self.counts()[rows]
        total = int(counts.sum())
        # positions of the chosen samples' indices: start of each sample + 0..count-1
        within = torch.arange(total) - torch.repeat_interleave(counts.cumsum(0) - counts, counts)
        gathered = self.indices[torch.repeat_interleave(starts, counts) + within]
        offsets = torch.cat([torch.zeros(1, dtype=torch.int64), counts.cumsum(0)])
        return SparseSpikes(self.shape, gathered, offsets)

    def dense(self, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """The batch as 0/1 spikes ``[T, B, *features]``."""
        steps, features = self.shape[0], math.prod(self.shape[1:])
        batch = len(self)
        sample = torch.repeat_interleave(torch.arange(batch), self.counts())
        step, feature = self.indices // features, self.indices % features
        out = torch.zeros(steps * batch * features, dtype=dtype)
        out[(step * batch + sample) * features + feature] = 1.0
        return out.view(steps, batch, *self.shape[1:])

    @staticmethod
    def concat(first: "SparseSpikes", second: "SparseSpikes") -> "SparseSpikes":
        """``first``'s samples followed by ``second``'s (same shape)."""
        if first.shape != second.shape:
            raise ShapeError("SparseSpikes.concat", f"two batches of shape {first.shape}", second.shape)
        offsets = torch.cat([first.offsets, second.offsets[1:] + first.offsets[-1]])
        return SparseSpikes(first.shape, torch.cat([first.indices, second.indices]), offsets)


def event_indices(events: np.ndarray, binning: EventBinning) -> np.ndarray:
    """Flat indices into ``binning.shape`` (``[T, P, H, W]``) of the OR-binned ``events``, sorted and unique.

    The same cells :func:`spikegrad.data.events.bin_events` sets to 1 (``rint(t / Ts)`` bins; events outside
    the sensor, the polarities or the ``T`` bins dropped), without building the dense tensor (a 1 450 ms
    DVS128 sample is 47.5 M cells).
    """
    _check_events(events)
    steps, polarities, height, width = binning.shape
    bins = np.rint(events["t"] / (US_PER_MS * binning.ts)).astype(np.int64)
    x, y, p = (events[f].astype(np.int64) for f in ("x", "y", "p"))
    keep = (bins >= 0) & (bins < steps) & (x >= 0) & (x < width) & (y >= 0) & (y < height) & (p >= 0) & (p < polarities)
    return np.unique(((bins[keep] * polarities + p[keep]) * height + y[keep]) * width + x[keep])


def jitter(spikes: SparseSpikes, max_shift: int, generator: torch.Generator) -> SparseSpikes:
    """Translate each sample by integer ``(dx, dy)`` uniform in ``[-max_shift, max_shift]`` (the last two dims
    are ``(H, W)``); spikes leaving the frame are dropped. SLAYER's maintainer used +-8 px on N-MNIST."""
    if max_shift <= 0:
        return spikes
    if len(spikes.shape) < 3:
        raise ShapeError("jitter input", "samples (T, ..., H, W)", spikes.shape)
    height, width = spikes.shape[-2:]
    shifts = torch.randint(-max_shift, max_shift + 1, (len(spikes), 2), generator=generator)
    per_spike = torch.repeat_interleave(shifts, spikes.counts(), dim=0)
    plane = spikes.indices // (height * width)
    y = (spikes.indices // width) % height + per_spike[:, 1]
    x = spikes.indices % width + per_spike[:, 0]
    keep = (x >= 0) & (x < width) & (y >= 0) & (y < height)
    sample = torch.repeat_interleave(torch.arange(len(spikes)), spikes.counts())
    counts = torch.bincount(sample[keep], minlength=len(spikes))
    offsets = torch.cat([torch.zeros(1, dtype=torch.int64), counts.cumsum(0)])
    return SparseSpikes(spikes.shape, ((plane * height + y) * width + x)[keep], offsets)


def spread_subset(size: int, limit: int) -> list[int]:
    """``limit`` indices spread evenly over ``0..size-1`` (all of them when ``limit <= 0`` or ``>= size``)."""
    if limit <= 0 or limit >= size:
        return list(range(size))
    return np.linspace(0, size - 1, limit).round().astype(np.int64).tolist()


LoadEvents = Callable[[str], tuple[SparseSpikes, torch.Tensor]]
"""``load_events(split) -> (spikes, labels)`` for ``split`` ``"train"`` or ``"test"``."""


class EventClassificationExperiment(ClassificationExperiment):
    """Mini-batch classification of spike samples given as :class:`SparseSpikes` (module docstring).

    Args:
        config: the run configuration (``batch_size`` for training).
        load_events: ``split -> (SparseSpikes, int64 labels)`` for ``"train"`` and ``"test"`` (``"all"`` is
            their concatenation); called once per split.
        model: ``model(x[T, B, ...]) -> (output[T, B, C], states)``.
        loss: ``loss(output, labels) -> scalar``.
        predict: ``predict(output) -> labels`` (default: the most spikes).
        augment: optional training-time ``(SparseSpikes, generator) -> SparseSpikes``.
        eval_batch_size: samples per forward pass in :meth:`evaluate`.
    """

    def __init__(
        self,
        config: RunConfig,
        load_events: LoadEvents,
        model: nn.Module,
        loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        predict: Callable[[torch.Tensor], torch.Tensor] = spike_count_prediction,
        augment: Callable[[SparseSpikes, torch.Generator], SparseSpikes] | None = None,
        eval_batch_size: int = 32,
    ):
        if eval_batch_size < 1:
            raise ConfigError("eval_batch_size", f"must be >= 1, got {eval_batch_size}")
        parts = ClassificationParts(
            load_split=self._no_image_split, to_tensor=lambda images: images,
            encode=lambda spikes, generator: spikes.dense(), model=model, loss=loss, predict=predict, augment=augment,
        )  # fmt: skip
        super().__init__(config, parts)
        self.load_events, self.eval_batch_size = load_events, eval_batch_size

    @staticmethod
    def _no_image_split(split: str):
        raise ConfigError("split", "event experiments load their splits with load_events, not load_split")

    def split(self, name: str) -> tuple[SparseSpikes, torch.Tensor]:  # type: ignore[override]
        """The split as (:class:`SparseSpikes`, int64 labels), loaded and binned once."""
        if name not in ("train", "test", "all"):
            raise ConfigError("split", f"expected 'train', 'test' or 'all', got {name!r}")
        if name not in self._splits:
            if name == "all":
                (train, train_labels), (test, test_labels) = self.split("train"), self.split("test")
                self._splits[name] = (SparseSpikes.concat(train, test), torch.cat([train_labels, test_labels]))
            else:
                spikes, labels = self.load_events(name)
                if len(spikes) != len(labels):
                    got = f"{len(spikes)} samples, {len(labels)} labels"
                    raise ShapeError(f"{name} split", "one label per sample", got)
                self._splits[name] = (spikes, labels.to(torch.int64))
        return self._splits[name]  # type: ignore[return-value]

    @torch.no_grad()
    def evaluate(self, split: str, generator: torch.Generator) -> dict[str, float]:
        inputs, labels = self.split(split)
        self.model.eval()
        total_loss, correct = 0.0, 0
        for start in range(0, len(labels), self.eval_batch_size):
            stop = min(start + self.eval_batch_size, len(labels))
            x, y = inputs[start:stop], labels[start:stop].to(self.device)
            output = self._forward(x, generator)
            total_loss += self.parts.loss(output, y).item() * len(y)
            correct += int((self.parts.predict(output) == y).sum())
        return {"loss": total_loss / len(labels), "accuracy": correct / len(labels), "samples": float(len(labels))}

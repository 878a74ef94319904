"""Batches of 0/1 spike samples held sparsely: the flat indices of their spikes.

Event samples (``[T, P, H, W]`` of an event camera, ``[T, 2, bands]`` of encoded audio) are mostly zeros
and slow to bin, so each is binned once and kept as the flat indices of its spikes: N-MNIST's 1 000
training samples take about 16 MB instead of 700 MB dense. A mini-batch is made dense, time first, as
``[T, B, *features]`` by :meth:`SparseSpikes.dense`; :func:`jitter` translates samples in place of the
event-level :func:`~spikegrad.data.events.jitter_events` (the same cells, tested).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from spikegrad.data.split import evenly_spaced
from spikegrad.errors import ShapeError


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


def sparse_dataset(
    dataset: torch.utils.data.Dataset,
    shape: Sequence[int],
    limit: int = 0,
    flat_indices: Callable[[Any], np.ndarray | torch.Tensor] | None = None,
) -> tuple[SparseSpikes, torch.Tensor]:
    """Read a labelled dataset (items ``(sample, label)``) into :class:`SparseSpikes` and int64 labels.

    Args:
        dataset: e.g. event files or encoded audio (:func:`~spikegrad.data.registry.load_files`).
        shape: the per-sample spike shape ``(T, *features)``.
        limit: keep this many samples evenly spaced over the dataset (0 = all).
        flat_indices: a sample's spike cells as flat indices into ``shape`` (e.g.
            :func:`~spikegrad.data.events.event_indices` for events); default: the non-zeros of a dense
            sample of that shape.
    """
    index = evenly_spaced(len(dataset), limit)
    samples = [dataset[int(i)] for i in index]
    if not samples:
        raise ShapeError("dataset", "at least one sample", "an empty dataset")
    if flat_indices is None:
        dense = [torch.as_tensor(sample) for sample, _ in samples]
        spikes = SparseSpikes.from_dense(dense)
        if spikes.shape != tuple(shape):
            raise ShapeError("dataset samples", str(tuple(shape)), spikes.shape)
    else:
        spikes = SparseSpikes.from_indices(shape, [flat_indices(sample) for sample, _ in samples])
    return spikes, torch.tensor([int(label) for _, label in samples], dtype=torch.int64)

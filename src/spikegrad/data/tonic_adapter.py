"""Tonic interop: Tonic's datasets and transforms feeding spikegrad's time-first spike tensors and trainer.

spikegrad's event arrays have Tonic's fields ``x, y, t, p`` (t in µs; :data:`~spikegrad.data.events.EVENT_DTYPE`),
so Tonic's transforms (``Denoise``, ``ToFrame``, ``RefractoryPeriod``, jitter, ...) run on them, and
:class:`~spikegrad.data.events.EventBinning` accepts Tonic's ``(W, H, P)`` sensor sizes. What is left is
layout: ``tonic.transforms.ToFrame`` gives one sample as a NumPy array ``[T, P, H, W]`` of event counts,
its number of frames ``T`` varying with the recording when frames are cut by ``time_window``; spikegrad's
networks take ``[T, B, P, H, W]`` 0/1 spikes. This module converts, with no code from Tonic (GPL-3; an
optional extra: ``pip install 'spikegrad[tonic]'``).

A Tonic dataset with its transforms, into a spikegrad network::

    import tonic.transforms as T
    from torch.utils.data import DataLoader
    from spikegrad.data.nmnist import nmnist_small          # or tonic.datasets.NMNIST(save_to, train=True, transform=...)
    from spikegrad.data.tonic_adapter import collate_frames

    transform = T.Compose([T.Denoise(filter_time=10_000), T.ToFrame(sensor_size=(34, 34, 2), time_window=10_000)])
    train = nmnist_small("NMNISTsmall", "train", transform=transform)
    loader = DataLoader(train, batch_size=32, shuffle=True, collate_fn=collate_frames)
    for spikes, labels in loader:                         # spikes [T, B, 2, 34, 34], 0/1, zero-padded in time
        output, _ = network(spikes)

or into the trainer, binned once and held sparsely (:class:`~spikegrad.train.ClassificationExperiment`)::

    parts = ClassificationParts(lambda split: sparse_split(datasets[split]), dense_spikes, network, loss)
    Trainer(ClassificationExperiment(config, parts), run_dir).fit()

Conventions: frames are made 0/1 (``binary=True``, the OR binning of :class:`~spikegrad.data.events.BinMode`)
or kept as counts; samples shorter than the longest are padded with silent steps at the end (after the
recording, so no causal layer sees the padding before the data).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from spikegrad.errors import ConfigError, ShapeError


def tonic_sensor_size(sensor_size: Sequence[int], polarities: int = 2) -> tuple[int, int, int]:
    """Tonic's ``(W, H, P)`` from spikegrad's ``(W, H)`` (and ``polarities``), or a ``(W, H, P)`` as given."""
    size = tuple(int(s) for s in sensor_size)
    if len(size) == 2:
        size = (*size, int(polarities))
    if len(size) != 3 or min(size) < 1:
        raise ConfigError("sensor_size", f"expected (width, height) or (width, height, polarities) >= 1, got {tuple(sensor_size)!r}")
    return size  # type: ignore[return-value]


def frames_to_spikes(frames: Any, binary: bool = True) -> torch.Tensor:
    """One sample of ``ToFrame`` frames ``[T, P, H, W]`` (NumPy or tensor) as float32 spikes ``[T, P, H, W]``.

    ``binary``: 1 where a frame holds at least one event (OR); otherwise the event counts.
    """
    spikes = torch.as_tensor(np.asarray(frames) if not isinstance(frames, torch.Tensor) else frames).to(torch.float32)
    if spikes.dim() != 4:
        raise ShapeError("frames", "[T, P, H, W] (tonic.transforms.ToFrame on a 2-D sensor)", tuple(spikes.shape))
    return (spikes > 0).to(torch.float32) if binary else spikes


def pad_time(samples: Sequence[torch.Tensor], steps: int | None = None) -> torch.Tensor:
    """Stack samples ``[T_i, ...]`` into ``[T, B, ...]``, zero-padded at the end to ``steps`` (default: the longest).

    A sample longer than ``steps`` raises :class:`ShapeError` rather than being cut.
    """
    if not samples:
        raise ShapeError("samples", "at least one sample", "none")
    features = samples[0].shape[1:]
    longest = max(s.shape[0] for s in samples)
    steps = longest if steps is None else steps
    if longest > steps:
        raise ShapeError("sample", f"at most {steps} time steps", f"{longest} steps")
    out = samples[0].new_zeros((steps, len(samples), *features))
    for index, sample in enumerate(samples):
        if sample.shape[1:] != features:
            raise ShapeError(f"sample {index}", f"[T, {', '.join(map(str, features))}] like sample 0", tuple(sample.shape))
        out[: sample.shape[0], index] = sample
    return out


def collate_frames(batch: Sequence[tuple[Any, int]], binary: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """DataLoader ``collate_fn`` for a Tonic-style dataset after ``ToFrame``: ``(spikes[T, B, P, H, W], labels[B])``.

    Each item is ``(frames[T_i, P, H, W], label)``; frames become spikes (:func:`frames_to_spikes`) and are
    padded in time to the longest sample of the batch (:func:`pad_time`).
    """
    frames, labels = zip(*batch)
    return pad_time([frames_to_spikes(f, binary) for f in frames]), torch.as_tensor(labels, dtype=torch.int64)


def sparse_split(dataset: Any, steps: int | None = None) -> tuple[Any, torch.Tensor]:
    """A whole Tonic-style dataset (items ``(frames, label)`` after ``ToFrame``) as ``(SparseSpikes, labels)``.

    Every item is read once and kept as the indices of its 0/1 spikes, the form
    :class:`~spikegrad.train.ClassificationExperiment` trains on. All samples get
    ``steps`` time steps (default: the longest sample), zero-padded at the end.
    """
    from spikegrad.data.sparse import SparseSpikes

    if len(dataset) == 0:
        raise ShapeError("dataset", "at least one sample", "0 samples")
    samples, labels = [], []
    for index in range(len(dataset)):
        frames, label = dataset[index]
        samples.append(frames_to_spikes(frames))
        labels.append(int(label))
    longest = max(s.shape[0] for s in samples)
    steps = longest if steps is None else steps
    features = tuple(samples[0].shape[1:])
    indices = []
    for index, sample in enumerate(samples):
        if tuple(sample.shape[1:]) != features or sample.shape[0] > steps:
            raise ShapeError(f"sample {index}", f"at most {steps} steps of {list(features)}", tuple(sample.shape))
        indices.append(sample.reshape(-1).nonzero().flatten())  # flat [T_i, ...] indices are [steps, ...] indices
    return SparseSpikes.from_indices((steps, *features), indices), torch.as_tensor(labels, dtype=torch.int64)

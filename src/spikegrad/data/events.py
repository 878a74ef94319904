"""Address events as NumPy structured arrays, their binning into spike tensors, and spatial jitter.

Events have the fields ``x, y`` (pixel column and row), ``t`` (microseconds) and ``p`` (polarity 0/1),
the names Tonic uses, so Tonic transforms accept them (:data:`EVENT_DTYPE`).

Binning follows slayerPytorch's ``toSpikeTensor``: an event at ``t`` µs falls in bin ``rint(t / 1000 / Ts)``
(``Ts`` in ms; rounding, not flooring), and events outside the sensor, the polarities or the ``T`` bins
are dropped. Spike tensors are 0/1 (``OR`` mode) or event counts (``COUNT`` mode), laid out
``[T, P, H, W]`` per sample and ``[T, B, P, H, W]`` after :func:`collate_time_first`.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from spikegrad.errors import ConfigError, ShapeError

EVENT_DTYPE = np.dtype([("x", np.int16), ("y", np.int16), ("t", np.int64), ("p", np.int8)])
US_PER_MS = 1000.0


def make_events(x: np.ndarray, y: np.ndarray, t: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Build an :data:`EVENT_DTYPE` array from equal-length field arrays (``t`` in µs)."""
    lengths = {len(x), len(y), len(t), len(p)}
    if len(lengths) != 1:
        got = f"lengths {len(x)}, {len(y)}, {len(t)}, {len(p)}"
        raise ShapeError("make_events fields", "x, y, t, p of equal length", got)
    events = np.empty(len(x), dtype=EVENT_DTYPE)
    events["x"], events["y"], events["t"], events["p"] = x, y, t, p
    return events


def _check_events(events: np.ndarray) -> None:
    names = getattr(getattr(events, "dtype", None), "names", None)
    if not isinstance(events, np.ndarray) or names is None or not {"x", "y", "t", "p"} <= set(names):
        got = getattr(events, "dtype", type(events).__name__)
        raise ShapeError("events", "a structured array with fields x, y, t, p", str(got))


class BinMode(enum.Enum):
    """How events falling in the same (bin, polarity, y, x) cell combine."""

    OR = "or"  # 1 if any event (SLAYER's default binning)
    COUNT = "count"  # number of events (slayerPytorch's 'SUM' mode meant this, but its numpy `+=` kept 1)


@dataclasses.dataclass(frozen=True)
class EventBinning:
    """How to turn events into a spike tensor ``[T, P, H, W]``.

    Attributes:
        sensor_size: ``(width, height)`` in pixels (N-MNIST ``(34, 34)``, DVS128 ``(128, 128)``), or Tonic's
            ``(width, height, polarities)``, which sets ``polarities`` (kept as ``(width, height)``; a
            ``polarities`` other than the default 2 must then agree with it).
        sample_ms: sample length in ms; ``T = rint(sample_ms / ts)`` bins.
        ts: bin width ``Ts`` in ms.
        polarities: number of polarity channels ``P``.
        mode: :class:`BinMode`.
    """

    sensor_size: tuple[int, int] | tuple[int, int, int]
    sample_ms: float
    ts: float = 1.0
    polarities: int = 2
    mode: BinMode = BinMode.OR

    def __post_init__(self) -> None:
        if len(self.sensor_size) == 3 and self.polarities in (2, self.sensor_size[2]):  # Tonic's (W, H, P)
            object.__setattr__(self, "polarities", int(self.sensor_size[2]))
            object.__setattr__(self, "sensor_size", tuple(self.sensor_size[:2]))
        if len(self.sensor_size) != 2 or min(self.sensor_size) < 1:
            raise ConfigError("sensor_size", f"expected (width, height) or Tonic's (width, height, polarities) >= 1 "
                              f"agreeing with polarities={self.polarities}, got {self.sensor_size!r}")
        for option in ("sample_ms", "ts"):
            value = getattr(self, option)
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(option, f"must be a finite number > 0 ms, got {value!r}")
        if self.polarities < 1:
            raise ConfigError("polarities", f"must be >= 1, got {self.polarities!r}")
        if self.steps < 1:
            raise ConfigError("sample_ms", f"{self.sample_ms} ms at Ts={self.ts} ms gives no time bin")

    @property
    def steps(self) -> int:
        """Number of time bins ``T``."""
        return int(round(self.sample_ms / self.ts))

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(T, P, H, W)``."""
        width, height = self.sensor_size
        return (self.steps, self.polarities, height, width)


def event_cells(events: np.ndarray, binning: EventBinning) -> np.ndarray:
    """Flat indices into ``binning.shape`` (``[T, P, H, W]``) of every event's cell, one per kept event.

    The one binning: an event at ``t`` µs falls in bin ``rint(t / 1000 / Ts)``; events outside the sensor,
    the polarities or the ``T`` bins are dropped. :func:`bin_events` (dense) and :func:`event_indices`
    (sparse) are its two materialisations.
    """
    _check_events(events)
    steps, polarities, height, width = binning.shape
    bins = np.rint(events["t"] / (US_PER_MS * binning.ts)).astype(np.int64)
    x, y, p = (events[f].astype(np.int64) for f in ("x", "y", "p"))
    keep = (bins >= 0) & (bins < steps) & (x >= 0) & (x < width) & (y >= 0) & (y < height) & (p >= 0) & (p < polarities)
    return ((bins[keep] * polarities + p[keep]) * height + y[keep]) * width + x[keep]


def event_indices(events: np.ndarray, binning: EventBinning) -> np.ndarray:
    """The OR-binned cells of ``events`` as sorted unique flat indices (a sample of
    :class:`~spikegrad.data.sparse.SparseSpikes`), without building the dense tensor (a 1 450 ms DVS128
    sample is 47.5 M cells)."""
    return np.unique(event_cells(events, binning))


def bin_events(events: np.ndarray, binning: EventBinning) -> torch.Tensor:
    """Spike tensor ``[T, P, H, W]`` (float32) of ``events``: 0/1 (``OR``) or event counts (``COUNT``)."""
    flat = event_cells(events, binning)
    size = math.prod(binning.shape)
    if binning.mode is BinMode.COUNT:
        dense = np.bincount(flat, minlength=size).astype(np.float32)
    else:
        dense = np.zeros(size, dtype=np.float32)
        dense[flat] = 1.0
    return torch.from_numpy(dense.reshape(binning.shape))


def jitter_events(events: np.ndarray, dx: int, dy: int, sensor_size: tuple[int, int]) -> np.ndarray:
    """Translate every event by ``(dx, dy)`` pixels and drop those leaving the ``(width, height)`` sensor."""
    _check_events(events)
    width, height = sensor_size
    x = events["x"].astype(np.int64) + dx
    y = events["y"].astype(np.int64) + dy
    keep = (x >= 0) & (x < width) & (y >= 0) & (y < height)
    moved = events[keep].copy()
    moved["x"], moved["y"] = x[keep], y[keep]
    return moved


@dataclasses.dataclass(frozen=True)
class EventsToSpikes:
    """Dataset transform: optional random spatial jitter, then :func:`bin_events`.

    ``max_jitter > 0`` translates each sample by integer ``(dx, dy)`` drawn uniformly from
    ``[-max_jitter, max_jitter]`` with ``torch.randint`` (so ``torch.manual_seed`` and DataLoader worker
    seeding make it reproducible); SLAYER's maintainer used +-8 px for N-MNIST.
    """

    binning: EventBinning
    max_jitter: int = 0

    def __post_init__(self) -> None:
        if self.max_jitter < 0:
            raise ConfigError("max_jitter", f"must be >= 0 pixels, got {self.max_jitter!r}")

    def __call__(self, events: np.ndarray) -> torch.Tensor:
        if self.max_jitter:
            dx, dy = torch.randint(-self.max_jitter, self.max_jitter + 1, (2,)).tolist()
            events = jitter_events(events, dx, dy, self.binning.sensor_size)
        return bin_events(events, self.binning)


def collate_time_first(batch: Sequence[tuple[torch.Tensor, int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """DataLoader ``collate_fn``: ``[(spikes[T, ...], label), ...] -> (spikes[T, B, ...], labels[B])``."""
    spikes, labels = zip(*batch)
    return torch.stack(spikes, dim=1), torch.as_tensor(labels, dtype=torch.int64)


class FileDataset(torch.utils.data.Dataset):
    """Labelled sample files read on access: item ``i`` is ``(transform(reader(files[i])), labels[i])``.

    Used for event files (reader -> :data:`EVENT_DTYPE` array) and audio files alike.

    Args:
        files: one file per sample.
        labels: integer class per sample.
        reader: reads one file (picklable, e.g. a ``functools.partial``, for DataLoader workers).
        transform: applied to what the reader returns (e.g. :class:`EventsToSpikes`); None returns it as is.
    """

    def __init__(
        self,
        files: Sequence[str | os.PathLike],
        labels: Sequence[int],
        reader: Callable[[Path], Any],
        transform: Callable[[Any], Any] | None = None,
    ):
        if len(files) != len(labels):
            raise ShapeError("FileDataset", "one label per file", f"{len(files)} files and {len(labels)} labels")
        self.files, self.labels = [Path(f) for f in files], [int(label) for label in labels]
        self.reader, self.transform = reader, transform

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        events = self.reader(self.files[index])
        return (events if self.transform is None else self.transform(events)), self.labels[index]

"""N-MNIST's 40-bit event files (``.bin``; SLAYER's ``.bs2``) and the N-MNIST datasets.

Each event is 5 bytes, no header (garrickorchard.com/datasets/n-mnist; SLAYER's ``read2Dspikes``):

======  ============================================================
byte 0  x address
byte 1  y address
byte 2  bit 7: polarity (1 ON, 0 OFF); bits 6..0: timestamp bits 22..16
byte 3  timestamp bits 15..8
byte 4  timestamp bits 7..0 (timestamp in microseconds)
======  ============================================================

An event with ``y = 240`` is a timestamp-overflow marker: it is dropped and every later event gets
``+2**13`` µs, as the dataset's MATLAB reader and Tonic do (none of the staged files contains one).
Timestamps must not decrease. SLAYER's DVS Gesture clips (``.bs2``, 128x128) use the same layout.

Datasets (:class:`~spikegrad.data.events.FileDataset`, label = digit):

- :func:`nmnist_small`: SLAYER's ``NMNISTsmall`` folder: ``<id>.bs2`` with the lists ``train1K.txt`` and
  ``test100.txt`` (``#`` header, then ``<id> <label>`` per line).
- :func:`nmnist`: the official release, ``Train/<digit>/*.bin`` and ``Test/<digit>/*.bin``.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from spikegrad.data.events import FileDataset, make_events
from spikegrad.data.fileio import read_file_bytes, read_text_lines
from spikegrad.errors import ConfigError, DataFormatError, DataNotFoundError

BYTES_PER_EVENT = 5
OVERFLOW_Y = 240
OVERFLOW_STEP_US = 1 << 13
MAX_TIMESTAMP_US = (1 << 23) - 1
NMNIST_SENSOR = (34, 34)
NMNIST_LISTS = {"train": "train1K.txt", "test": "test100.txt"}
NMNIST_FOLDERS = {"train": "Train", "test": "Test"}
_DECIMAL = re.compile(r"\d{1,18}", re.ASCII)  # up to 18 digits: fits in int64


def decode_40bit(data: bytes, path: str | os.PathLike, sensor_size: tuple[int, int] | None = None) -> np.ndarray:
    """Decode 40-bit events from ``data`` (the bytes of ``path``, named in errors).

    Args:
        sensor_size: ``(width, height)``; events outside it are an error. None skips the check.

    Raises:
        DataFormatError: no events (an empty file, or only overflow markers), the length is not a
            multiple of 5 (truncated), an event lies outside the sensor, or a timestamp decreases; the
            offset is the first bad byte / event.
    """
    if not data:
        raise DataFormatError(path, "empty 40-bit event file: expected at least one 5-byte event", offset=0)
    whole = len(data) - len(data) % BYTES_PER_EVENT
    if whole != len(data):
        raise DataFormatError(
            path, f"truncated 40-bit event file: {len(data)} bytes is not a multiple of {BYTES_PER_EVENT}; "
            f"the last event is incomplete", offset=whole,
        )
    raw = np.frombuffer(data, dtype=np.uint8).reshape(-1, BYTES_PER_EVENT).astype(np.int64)
    t = ((raw[:, 2] & 0x7F) << 16) | (raw[:, 3] << 8) | raw[:, 4]
    overflow = raw[:, 1] == OVERFLOW_Y
    t = t + OVERFLOW_STEP_US * np.cumsum(overflow)
    index = np.flatnonzero(~overflow)  # event number of each real event, for offsets
    if not index.size:
        raise DataFormatError(path, f"no events: all {len(raw)} records are timestamp-overflow markers", offset=0)
    x, y, p, t = raw[index, 0], raw[index, 1], raw[index, 2] >> 7, t[index]
    if sensor_size is not None:
        outside = np.flatnonzero((x >= sensor_size[0]) | (y >= sensor_size[1]))
        if outside.size:
            i = outside[0]
            raise DataFormatError(
                path, f"event at ({x[i]}, {y[i]}) lies outside the {sensor_size[0]}x{sensor_size[1]} sensor",
                offset=int(index[i]) * BYTES_PER_EVENT,
            )
    backwards = np.flatnonzero(np.diff(t) < 0)
    if backwards.size:
        i = backwards[0] + 1
        raise DataFormatError(
            path, f"timestamp decreases from {t[i - 1]} to {t[i]} us (corrupt or not a 40-bit event file)",
            offset=int(index[i]) * BYTES_PER_EVENT,
        )
    return make_events(x, y, t, p)


def read_40bit_events(path: str | os.PathLike, sensor_size: tuple[int, int] | None = None) -> np.ndarray:
    """Read an N-MNIST ``.bin`` / SLAYER ``.bs2`` file into an :data:`~spikegrad.data.events.EVENT_DTYPE` array."""
    return decode_40bit(read_file_bytes(path, "40-bit event file"), path, sensor_size)


def encode_40bit(events: np.ndarray) -> bytes:
    """Bytes of ``events`` in the 40-bit layout (x, y < 256 except 240; p in {0, 1}; 0 <= t < 2**23 µs)."""
    x, y, p, t = (events[f].astype(np.int64) for f in ("x", "y", "p", "t"))
    bad = (x < 0) | (x > 255) | (y < 0) | (y > 255) | (y == OVERFLOW_Y) | ((p != 0) & (p != 1))
    bad |= (t < 0) | (t > MAX_TIMESTAMP_US)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        event = f"event {i} (x={x[i]}, y={y[i]}, p={p[i]}, t={t[i]})"
        raise ConfigError("events", f"{event} does not fit the 40-bit layout")
    raw = np.stack([x, y, (p << 7) | (t >> 16), (t >> 8) & 0xFF, t & 0xFF], axis=1).astype(np.uint8)
    return raw.tobytes()


def write_40bit_events(path: str | os.PathLike, events: np.ndarray) -> None:
    """Write ``events`` as a 40-bit event file (see :func:`encode_40bit`)."""
    Path(path).write_bytes(encode_40bit(events))


def _check_split(split: str, choices: dict[str, str]) -> str:
    if split not in choices:
        raise ConfigError("split", f"expected one of {sorted(choices)}, got {split!r}")
    return choices[split]


def read_sample_list(path: str | os.PathLike, num_classes: int = 10) -> list[tuple[int, int]]:
    """Parse an ``NMNISTsmall`` list (``#`` header lines, then ``<id> <label>`` per line, any line ending).

    Raises:
        DataNotFoundError: the file does not exist.
        DataFormatError: not a regular file, a line that is not two non-negative integers, a label
            outside ``0..num_classes-1``, or no sample at all; the message names the line and the offset
            is its first byte.
    """
    samples = []
    for number, offset, line in read_text_lines(path, "N-MNIST sample list"):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if len(fields) != 2 or not all(_DECIMAL.fullmatch(f) for f in fields):
            raise DataFormatError(path, f"line {number}: expected '<id> <label>', got {line.strip()!r}", offset=offset)
        sample_id, label = int(fields[0]), int(fields[1])
        if not 0 <= label < num_classes:
            raise DataFormatError(
                path, f"line {number}: label {label} of sample {sample_id} is outside 0..{num_classes - 1}",
                offset=offset,
            )
        samples.append((sample_id, label))
    if not samples:
        raise DataFormatError(path, "the sample list holds no '<id> <label>' line; expected at least one sample")
    return samples


def _reader(sensor_size: tuple[int, int]) -> Callable[[Path], np.ndarray]:
    return functools.partial(read_40bit_events, sensor_size=sensor_size)


def nmnist_small(
    root: str | os.PathLike, split: str, transform: Callable[[np.ndarray], Any] | None = None
) -> FileDataset:
    """SLAYER's ``NMNISTsmall`` (1 000 train / 100 test N-MNIST samples): ``split`` ``"train"`` or ``"test"``."""
    root = Path(root)
    samples = read_sample_list(root / _check_split(split, NMNIST_LISTS))
    files = [root / f"{sample_id}.bs2" for sample_id, _ in samples]
    missing = [f for f in files if not f.exists()]  # anything else there is refused when it is read
    if missing:
        raise DataNotFoundError(missing[0], f"{len(missing)} sample file(s) of the {split} list are missing")
    return FileDataset(files, [label for _, label in samples], _reader(NMNIST_SENSOR), transform)


def nmnist(root: str | os.PathLike, split: str, transform: Callable[[np.ndarray], Any] | None = None) -> FileDataset:
    """The official N-MNIST release (60 000 / 10 000): ``<root>/Train/<digit>/*.bin``, ``<root>/Test/...``."""
    folder = Path(root) / _check_split(split, NMNIST_FOLDERS)
    if not folder.is_dir():
        raise DataNotFoundError(folder, f"N-MNIST {split} folder not found (expected {folder.name}/<digit>/*.bin)")
    files, labels = [], []
    for digit in range(10):
        found = sorted((folder / str(digit)).glob("*.bin"))
        files += found
        labels += [digit] * len(found)
    if not files:
        raise DataNotFoundError(folder, "no <digit>/*.bin files in the N-MNIST folder")
    return FileDataset(files, labels, _reader(NMNIST_SENSOR), transform)


def find_nmnist(
    root: str | os.PathLike, split: str, transform: Callable[[np.ndarray], Any] | None = None
) -> FileDataset:
    """N-MNIST from a folder holding either SLAYER's ``NMNISTsmall`` (in ``root`` or ``root/NMNISTsmall``) or
    the official ``Train/``, ``Test/`` release; the one place the layout is recognised."""
    root = Path(root)
    small = root / "NMNISTsmall" if (root / "NMNISTsmall").is_dir() else root
    if (small / NMNIST_LISTS["train"]).is_file():
        return nmnist_small(small, split, transform)
    return nmnist(root, split, transform)

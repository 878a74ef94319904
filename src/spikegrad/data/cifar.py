"""Reader for the official CIFAR-10 "python version" batches (``cifar-10-batches-py/``).

Each batch file (``data_batch_1`` .. ``data_batch_5``: 10 000 training images each;
``test_batch``: 10 000 test images) is a pickle (Python 2, protocol 2) of a dict with keys
``b"data"``: uint8 array ``[N, 3072]``, each row a 32x32 image stored as 1 024 red, then 1 024
green, then 1 024 blue values, each plane row-major; ``b"labels"``: list of N ints 0..9; plus
``b"batch_label"`` and ``b"filenames"``, which are not used. Batches are unpickled with a
restricted unpickler (:mod:`spikegrad.data.safe_pickle`) that cannot run code.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from spikegrad.data.fileio import read_file_bytes
from spikegrad.data.safe_pickle import MAX_PICKLE_BYTES, load_numpy_pickle
from spikegrad.errors import DataFormatError

CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCHES = ("test_batch",)
_WHAT = "CIFAR-10 batch"


def _entry(path: Path, batch: dict, key: str) -> Any:
    for candidate in (key.encode(), key):
        if candidate in batch:
            return batch[candidate]
    keys = ", ".join(repr(k) for k in batch)
    raise DataFormatError(path, f"{_WHAT}: no {key!r} entry; expected keys b'data' and b'labels', found {keys}")


def _labels(path: Path, raw: Any, num_classes: int) -> np.ndarray:
    if isinstance(raw, np.ndarray) and raw.ndim == 1 and raw.dtype.kind in "iu":
        raw = raw.tolist()
    if not (isinstance(raw, list) and all(type(v) is int for v in raw)):
        raise DataFormatError(path, f"{_WHAT}: 'labels' is a {type(raw).__name__}, expected a list of ints")
    for index, value in enumerate(raw):
        if not 0 <= value < num_classes:
            raise DataFormatError(
                path, f"{_WHAT}: label {value} at index {index} is out of range, expected 0..{num_classes - 1}"
            )
    return np.array(raw, dtype=np.int64)


def read_cifar_batch(path: str | os.PathLike, num_classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 python batch (see the module docstring for the layout).

    Returns:
        ``(images, labels)``: uint8 ``[N, 32, 32, 3]`` (height, width, RGB channel) and int64 ``[N]``.

    Raises:
        DataNotFoundError: the file does not exist.
        DataFormatError: not a regular file, larger than
            :data:`~spikegrad.data.safe_pickle.MAX_PICKLE_BYTES`, not a pickle, a refused pickle global
            or use of one (see :mod:`~spikegrad.data.safe_pickle`), missing keys, ``data`` not uint8
            ``[N, 3072]``, label count differs from N, or a label outside ``0..num_classes-1``.
    """
    path = Path(path)
    batch = load_numpy_pickle(path, read_file_bytes(path, _WHAT, max_bytes=MAX_PICKLE_BYTES))
    if not isinstance(batch, dict):
        raise DataFormatError(path, f"{_WHAT}: the pickle holds a {type(batch).__name__}, expected a dict")
    data, labels = _entry(path, batch, "data"), _entry(path, batch, "labels")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        got = f"{data.dtype} array {list(data.shape)}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DataFormatError(path, f"{_WHAT}: 'data' is a {got}, expected a uint8 array [N, 3072]")
    labels = _labels(path, labels, num_classes)
    if len(labels) != len(data):
        raise DataFormatError(
            path, f"{_WHAT}: {len(labels)} labels for {len(data)} images; expected one label per image"
        )
    images = np.ascontiguousarray(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
    return images, labels


def read_cifar_batches(folder: str | os.PathLike, names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Read the batches ``names`` (e.g. :data:`TRAIN_BATCHES`) from ``folder`` and concatenate them.

    Returns:
        ``(images, labels)``: uint8 ``[N, 32, 32, 3]`` and int64 ``[N]``, in batch order.

    Raises:
        DataNotFoundError: a batch file does not exist.
        DataFormatError: a batch is malformed (see :func:`read_cifar_batch`).
    """
    parts = [read_cifar_batch(Path(folder) / name) for name in names]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

"""Reader for SVHN cropped digits (``train_32x32.mat``, ``test_32x32.mat``, ``extra_32x32.mat``).

Format: a MATLAB v5 ``.mat`` file with two variables: ``X``, uint8 ``[32, 32, 3, N]`` (height,
width, RGB channel, image), and ``y``, ``[N, 1]`` with labels 1..10, where 10 stands for the digit 0.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import BinaryIO

import numpy as np
import scipy.io

from spikegrad.data.fileio import GZIP_MAX_RATIO, open_regular_file
from spikegrad.errors import DataFormatError

_WHAT = "SVHN .mat"
_MATLAB_CLASSES = {"double": "float64", "single": "float32", "logical": "bool"}  # others match numpy


def _itemsize(kind: str) -> int:
    """Bytes per element of a MATLAB class named as numpy names it (8 for classes numpy lacks)."""
    try:
        return np.dtype(kind).itemsize
    except TypeError:
        return 8


def _declared(path: Path, file: BinaryIO, size: int) -> None:
    """Check the variables' headers (``scipy.io.whosmat``, which reads no data) before loading.

    ``X`` must be declared uint8 ``[32, 32, 3, N]``, and ``X`` and ``y`` must fit in the file: at most
    :data:`~spikegrad.data.fileio.GZIP_MAX_RATIO` times its size, the most that MATLAB's zlib
    compression can expand to (an uncompressed variable larger than the file is then refused by scipy
    when its data runs out, without reserving it first). A missing variable is reported after loading,
    which also tells a truncated file from one without that variable.
    """
    try:
        variables = {name: (shape, _MATLAB_CLASSES.get(kind, kind)) for name, shape, kind in scipy.io.whosmat(file)}
    except NotImplementedError as exc:
        raise DataFormatError(path, f"{_WHAT}: MATLAB v7.3 (HDF5) files are not supported; expected v5") from exc
    except Exception as exc:  # scipy raises ValueError, TypeError, MatReadError... on malformed headers
        raise DataFormatError(path, f"{_WHAT}: not a readable MATLAB file ({type(exc).__name__}: {exc})") from exc
    file.seek(0)
    if "X" in variables:
        shape, kind = variables["X"]
        if kind != "uint8" or len(shape) != 4 or tuple(shape[:3]) != (32, 32, 3):
            raise DataFormatError(path, f"{_WHAT}: 'X' is {kind} {list(shape)}, expected uint8 [32, 32, 3, N]")
    for name in ("X", "y"):
        shape, kind = variables.get(name, ((), "uint8"))
        declared = math.prod(shape) * _itemsize(kind)
        if declared > size * GZIP_MAX_RATIO:
            raise DataFormatError(
                path, f"{_WHAT}: {name!r} declares {kind} {list(shape)} ({declared} bytes), more than a {size}-byte "
                f"file can hold even compressed (at most {size * GZIP_MAX_RATIO} bytes)",
            )


def read_svhn_mat(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read an SVHN ``*_32x32.mat`` file (see the module docstring).

    Returns:
        ``(images, labels)``: uint8 ``[N, 32, 32, 3]`` and int64 ``[N]`` with digits 0..9
        (label 10 mapped to 0).

    Raises:
        DataNotFoundError: the file does not exist.
        DataFormatError: not a regular file, not a readable MATLAB v4/v5 file (v7.3 HDF5 files are
            refused), ``X`` or ``y`` missing or of the wrong shape or type, ``X`` larger than the file
            can hold, counts differ, or a label outside 1..10.
    """
    path = Path(path)
    file, size = open_regular_file(path, _WHAT)
    with file:
        _declared(path, file, size)
        try:
            mat = scipy.io.loadmat(file, variable_names=("X", "y"))
        except Exception as exc:  # scipy raises ValueError, TypeError, MatReadError... on malformed files
            raise DataFormatError(path, f"{_WHAT}: not a readable MATLAB file ({type(exc).__name__}: {exc})") from exc
    return _checked(path, mat)


def _checked(path: Path, mat: dict) -> tuple[np.ndarray, np.ndarray]:
    """Images ``[N, 32, 32, 3]`` and labels 0..9 from the loaded ``X`` and ``y``, after checking them."""
    for key in ("X", "y"):
        if key not in mat:
            raise DataFormatError(path, f"{_WHAT}: no variable {key!r}; expected 'X' [32, 32, 3, N] and 'y' [N, 1]")
    images, labels = mat["X"], mat["y"]
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[:3] != (32, 32, 3):
        raise DataFormatError(
            path, f"{_WHAT}: 'X' is {images.dtype} {list(images.shape)}, expected uint8 [32, 32, 3, N]"
        )
    if labels.dtype.kind not in "uif" or labels.size != images.shape[3] or labels.ndim > 2:
        raise DataFormatError(
            path, f"{_WHAT}: 'y' is {labels.dtype} {list(labels.shape)}, expected [{images.shape[3]}, 1] "
            "(one label per image in X)",
        )
    labels = labels.reshape(-1)
    bad = np.flatnonzero((labels < 1) | (labels > 10) | (labels != np.round(labels)))
    if bad.size:
        raise DataFormatError(path, f"{_WHAT}: label {labels[bad[0]]} at index {bad[0]}, expected an integer in 1..10")
    labels = labels.astype(np.int64) % 10
    return np.ascontiguousarray(images.transpose(3, 0, 1, 2)), labels

"""Reader for SVHN cropped digits (``train_32x32.mat``, ``test_32x32.mat``, ``extra_32x32.mat``).

Format: a MATLAB v5 ``.mat`` file with two variables: ``X``, uint8 ``[32, 32, 3, N]`` (height,
width, RGB channel, image), and ``y``, ``[N, 1]`` with labels 1..10, where 10 stands for the digit 0.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import scipy.io

from spikegrad.errors import DataFormatError, DataNotFoundError

_WHAT = "SVHN .mat"


def read_svhn_mat(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read an SVHN ``*_32x32.mat`` file (see the module docstring).

    Returns:
        ``(images, labels)``: uint8 ``[N, 32, 32, 3]`` and int64 ``[N]`` with digits 0..9
        (label 10 mapped to 0).

    Raises:
        DataNotFoundError: the file does not exist.
        DataFormatError: not a readable MATLAB v4/v5 file (v7.3 HDF5 files are refused), ``X`` or
            ``y`` missing or of the wrong shape or type, counts differ, or a label outside 1..10.
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(path, f"{_WHAT}: file not found")
    try:
        mat = scipy.io.loadmat(path, variable_names=("X", "y"))
    except NotImplementedError as exc:
        raise DataFormatError(path, f"{_WHAT}: MATLAB v7.3 (HDF5) files are not supported; expected v5") from exc
    except Exception as exc:  # scipy raises ValueError, TypeError, MatReadError... on malformed files
        raise DataFormatError(path, f"{_WHAT}: not a readable MATLAB file ({type(exc).__name__}: {exc})") from exc
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

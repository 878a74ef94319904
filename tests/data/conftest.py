"""Fixtures for the data tests: writers for the official file formats (the real data folder is the root
conftest's ``shared_data``)."""

from __future__ import annotations

import gzip
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

_IDX_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(np.int16): 0x0B,
              np.dtype(np.int32): 0x0C, np.dtype(np.float32): 0x0D, np.dtype(np.float64): 0x0E}


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode ``array`` as an IDX file: 00 00 <type> <ndim>, big-endian int32 dims, big-endian data."""
    header = bytes([0, 0, _IDX_CODES[array.dtype], array.ndim]) + struct.pack(f">{array.ndim}i", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


@pytest.fixture
def encode_idx() -> Callable[[np.ndarray], bytes]:
    """``encode_idx(array)``: the IDX bytes of ``array`` (see :func:`idx_bytes`)."""
    return idx_bytes


@pytest.fixture
def write_idx() -> Callable[..., Path]:
    """``write_idx(path, array, gz=False)``: write ``array`` as an IDX file, gzip-compressed if asked."""

    def write(path: Path, array: np.ndarray, gz: bool = False) -> Path:
        data = idx_bytes(array)
        path.write_bytes(gzip.compress(data) if gz else data)
        return path

    return write

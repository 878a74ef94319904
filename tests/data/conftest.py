"""Fixtures for the data tests: writers for the official file formats, and a cost meter for bombs.

Real data: the ``shared_data`` fixture (root ``conftest.py``) gives ``../shared/data`` and skips a test
when it is absent. Every reader is also tested on files the tests write themselves in the official
format, so a plain clone runs a test of every reader; ``tests/REAL_DATA.md`` lists the tests that need
``../shared`` and why.
"""

from __future__ import annotations

import functools
import gzip
import re
import struct
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

_IDX_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(np.int16): 0x0B,
              np.dtype(np.int32): 0x0C, np.dtype(np.float32): 0x0D, np.dtype(np.float64): 0x0E}
_CLEAR_REFS = Path("/proc/self/clear_refs")
_STATUS = Path("/proc/self/status")
BOMB_SECONDS = 1.0
BOMB_MIB = 200.0


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


@functools.cache
def _zeros_member(member_mib: int) -> bytes:
    return gzip.compress(bytes(member_mib << 20), compresslevel=9)


@pytest.fixture(scope="session")
def gzip_bomb() -> Callable[..., bytes]:
    """``gzip_bomb(prefix=b"", members=300, member_mib=10)``: a ~3 MB gzip file that decompresses to
    ``prefix`` then ``members * member_mib`` MiB of zeros (3 GiB by default).

    Built from concatenated gzip members (valid gzip, which readers must take as one stream), so it
    takes milliseconds to make.
    """

    def make(prefix: bytes = b"", members: int = 300, member_mib: int = 10) -> bytes:
        return (gzip.compress(prefix) if prefix else b"") + _zeros_member(member_mib) * members

    return make


@dataclass(frozen=True)
class Cost:
    """What one call cost: wall time and the peak memory it added (resident set, or traced)."""

    seconds: float
    peak_mib: float
    method: str


def _vm_hwm_kib() -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise OSError("no VmHWM in /proc/self/status")


def _vm_rss_kib() -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise OSError("no VmRSS in /proc/self/status")


def _cost_of(call: Callable[[], object]) -> tuple[BaseException | None, Cost]:
    """Run ``call`` once; return what it raised (or None) and its cost.

    Memory is the rise of the process's peak resident set (``VmHWM``, reset through
    ``/proc/self/clear_refs``), which counts C allocations too (zlib, PIL). Where that file cannot be
    written, ``tracemalloc``'s peak is used instead (Python and numpy allocations only).
    """
    try:
        _CLEAR_REFS.write_text("5")
        baseline, method = _vm_rss_kib(), "VmHWM"
    except OSError:
        tracemalloc.start()
        baseline, method = 0, "tracemalloc"
    raised = None
    start = time.perf_counter()
    try:
        call()
    except BaseException as exc:  # noqa: BLE001 - returned to the test, which checks its type
        raised = exc
    seconds = time.perf_counter() - start
    if method == "VmHWM":
        peak_mib = (_vm_hwm_kib() - baseline) / 1024
    else:
        peak_mib = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return raised, Cost(seconds, peak_mib, method)


@pytest.fixture
def refused_cheaply() -> Callable[..., tuple[BaseException, Cost]]:
    """``refused_cheaply(call, error, match)``: ``call()`` raises ``error`` matching ``match`` in < 1 s, < 200 MiB.

    Returns the exception and the :class:`Cost`, so a test can state what it measured.
    """

    def check(call: Callable[[], object], error: type[BaseException], match: str) -> tuple[BaseException, Cost]:
        raised, cost = _cost_of(call)
        assert isinstance(raised, error), f"expected {error.__name__}, got {raised!r}"
        assert re.search(match, str(raised)), f"{str(raised)!r} does not match {match!r}"
        assert cost.seconds < BOMB_SECONDS, f"took {cost.seconds:.2f} s ({cost})"
        assert cost.peak_mib < BOMB_MIB, f"took {cost.peak_mib:.0f} MiB ({cost})"
        return raised, cost

    return check

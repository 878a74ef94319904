"""Process-level settings for fast training on the CPU.

PyTorch's CPU tensors come from ``malloc``. glibc serves every block above its mmap threshold (at most
32 MiB) with a fresh ``mmap`` and unmaps it on ``free``, so each new ``[T, B, N]`` tensor of a training
step costs the kernel's page faults and zero-filling again when it is first written: about 0.3 ms per MB
on the development machine, which was 40-60 % of a neuron scan's time and most of SLAYER's per-step
filter time (``benchmarks/RESULTS.md``). :func:`keep_freed_memory` makes glibc keep freed memory in the
process so later steps reuse pages that are already mapped.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD = -1  # glibc <malloc.h>: bytes of free memory at the heap top before it is returned
M_MMAP_MAX = -4  # glibc <malloc.h>: most blocks served by mmap at once (0: none, all from the heap)
TRIM_THRESHOLD_BYTES = 2**31 - 1  # the largest value the int argument takes: ~2 GiB kept before trimming


def keep_freed_memory() -> bool:
    """Ask glibc's ``malloc`` to keep freed memory for reuse instead of returning it to the OS.

    Sets ``M_MMAP_MAX = 0`` (large blocks come from the heap, not from per-block ``mmap``) and
    ``M_TRIM_THRESHOLD`` to ~2 GiB. Effect: repeated training steps stop paying page faults for their big
    temporaries; cost: the process's resident memory stays near its peak instead of shrinking between
    steps. ``spikegrad train`` and ``eval`` call this unless given ``--release-memory``; call it yourself
    at the start of a training script for the same effect.

    Returns:
        True if both settings were applied; False (nothing changed) off Linux/glibc.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version  # glibc only: musl and others have no such symbol
    except (OSError, AttributeError):
        return False
    return bool(libc.mallopt(M_MMAP_MAX, 0)) and bool(libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))

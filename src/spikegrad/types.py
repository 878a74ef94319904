"""Layout conventions shared by every op: public tensors are time-first, ``[T, B, *features]``."""

from __future__ import annotations

import torch

from spikegrad.errors import ShapeError

TIME_DIM = 0
BATCH_DIM = 1


def check_time_first(x: torch.Tensor, name: str, min_dims: int = 3) -> None:
    """Raise :class:`ShapeError` unless ``x`` has at least ``min_dims`` dims ``[T, B, ...]``."""
    if x.dim() < min_dims:
        expected = "[T, B, features...]" if min_dims == 3 else f"at least {min_dims} dims, time first"
        raise ShapeError(name, expected, tuple(x.shape))

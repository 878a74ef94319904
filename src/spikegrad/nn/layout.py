"""Adapters between spikegrad's time-first layout and the other layouts in use.

- time-first ``[T, B, ...]``: spikegrad, SpikingJelly multi-step, Norse, PyTorch RNNs;
- batch-first ``[B, T, ...]``: sinabs/EXODUS, many data loaders;
- time-last ``[B, ..., T]``: SLAYER (slayerPytorch, lava-dl).

The time axis is never guessed: the caller names the layout.
"""

from __future__ import annotations

import enum
from typing import Any

import torch

from spikegrad.errors import ShapeError
from spikegrad.nn.base import StatefulModule
from spikegrad.nn.sequential import SNNSequential


class Layout(enum.Enum):
    TIME_FIRST = "time-first"
    BATCH_FIRST = "batch-first"
    TIME_LAST = "time-last"


def to_time_first(x: torch.Tensor, layout: Layout) -> torch.Tensor:
    """View ``x`` given in ``layout`` as ``[T, B, ...]``."""
    if x.dim() < 2:
        raise ShapeError("x", f"at least 2 dims in {layout.value} layout", tuple(x.shape))
    if layout is Layout.BATCH_FIRST:
        return x.transpose(0, 1)
    if layout is Layout.TIME_LAST:
        return x.movedim(-1, 0)
    return x


def from_time_first(x: torch.Tensor, layout: Layout) -> torch.Tensor:
    """Inverse of :func:`to_time_first`."""
    if layout is Layout.BATCH_FIRST:
        return x.transpose(0, 1)
    if layout is Layout.TIME_LAST:
        return x.movedim(0, -1)
    return x


class LayoutAdapter(StatefulModule):
    """Wrap a time-first module so that it takes and returns tensors in another layout.

    ``LayoutAdapter(net, Layout.TIME_LAST)(x[B, C, T])`` returns ``(y[B, C', T], state)``. Stateless
    wrapped modules return ``(y, None)``.
    """

    def __init__(self, module: torch.nn.Module, layout: Layout):
        super().__init__()
        self.module, self.layout = module, layout

    def forward(self, x: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        x = to_time_first(x, self.layout)
        if isinstance(self.module, (StatefulModule, SNNSequential)):
            y, state = self.module(x, state)
        else:
            y = self.module(x)
        return from_time_first(y, self.layout), state

    def extra_repr(self) -> str:
        return f"layout={self.layout.value}"

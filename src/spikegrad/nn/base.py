"""Base class of modules that carry state through time."""

from __future__ import annotations

import torch
from torch import nn


class StatefulModule(nn.Module):
    """A module called as ``output, state = module(x, state)`` on time-first input ``[T, B, ...]``.

    ``state=None`` starts from the module's initial (zero) state. The returned state continues the
    sequence: calling on ``x[:k]`` then on ``x[k:]`` with the carried state equals calling on ``x``.
    :class:`~spikegrad.nn.SNNSequential` threads these states; stateless layers are called as ``layer(x)``.
    Subclasses implement ``forward(self, x, state=None) -> (output, state)``.
    """


def last_steps(prefix: torch.Tensor | None, x: torch.Tensor, rows: int) -> torch.Tensor:
    """History carried between calls: the last ``rows`` steps of ``cat(prefix, x)``, zero-padded in front."""
    full = x if prefix is None else torch.cat([prefix, x])
    if full.shape[0] >= rows:
        return full[full.shape[0] - rows :]
    return torch.cat([full.new_zeros((rows - full.shape[0], *full.shape[1:])), full])

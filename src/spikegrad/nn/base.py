"""Base class of modules that carry state through time."""

from __future__ import annotations

from torch import nn


class StatefulModule(nn.Module):
    """A module called as ``output, state = module(x, state)`` on time-first input ``[T, B, ...]``.

    ``state=None`` starts from the module's initial (zero) state. The returned state continues the
    sequence: calling on ``x[:k]`` then on ``x[k:]`` with the carried state equals calling on ``x``.
    :class:`~spikegrad.nn.SNNSequential` threads these states; stateless layers are called as ``layer(x)``.
    Subclasses implement ``forward(self, x, state=None) -> (output, state)``.
    """

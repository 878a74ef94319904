"""A Sequential container that threads each stateful layer's state."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from spikegrad.errors import ShapeError
from spikegrad.nn.base import StatefulModule
from spikegrad.types import check_float, check_time_first


class SNNSequential(nn.Sequential):
    """Run layers in order on ``x[T, B, ...]``; returns ``(output, states)``.

    ``states`` is a list with one entry per layer (``None`` for stateless layers). Passing it back in
    continues every stateful layer where it stopped, so a long sequence can be processed in chunks.
    """

    def forward(self, x: torch.Tensor, states: list[Any] | None = None) -> tuple[torch.Tensor, list[Any]]:  # type: ignore[override]
        check_time_first(x, "SNNSequential input", min_dims=2)
        check_float(x, "SNNSequential input")
        layers = list(self)
        if states is None:
            states = [None] * len(layers)
        elif len(states) != len(layers):
            raise ShapeError("states", f"a list of {len(layers)} entries (one per layer)", f"{len(states)} entries")
        new_states: list[Any] = []
        for layer, state in zip(layers, states):
            if isinstance(layer, StatefulModule):
                x, state = layer(x, state)
            else:
                x = layer(x)
            new_states.append(state)
        return x, new_states

    def stateful_outputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Outputs of every stateful layer (spike trains of each neuron layer), for rasters and activity."""
        recorded = []
        for layer in self:
            x = layer(x)[0] if isinstance(layer, StatefulModule) else layer(x)
            if isinstance(layer, StatefulModule):
                recorded.append(x)
        return recorded

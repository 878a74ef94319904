"""Base class of modules that carry state through time."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn


class StatefulModule(nn.Module):
    """A module called as ``output, state = module(x, state)`` on time-first input ``[T, B, ...]``.

    ``state=None`` starts from the module's initial (zero) state. The returned state continues the
    sequence: calling on ``x[:k]`` then on ``x[k:]`` with the carried state equals calling on ``x``.
    :class:`~spikegrad.nn.SNNSequential` threads these states; stateless layers are called as ``layer(x)``.
    Subclasses implement ``forward(self, x, state=None) -> (output, state)``.
    """


class SpikingLayer(StatefulModule):
    """Marker and recorder every spiking layer carries: analysis, plots and export find layers by it.

    A spiking layer's forward output need not be its spikes (NA's layers output a synaptic trace), so
    each layer hands its 0/1 spikes and, where it has it, its membrane potential before reset
    (``[T, B, ...]``) to :meth:`keep`. While ``recording`` is True (set it, or use :func:`recording`)
    the last call's values are kept in ``recorded_spikes`` and ``recorded_membrane``; otherwise nothing
    is stored. ``kind`` names the neuron for reports (e.g. ``"LIF (V_th 1)"``).
    """

    recording: bool = False
    recorded_spikes: torch.Tensor | None = None
    recorded_membrane: torch.Tensor | None = None

    @property
    def kind(self) -> str:
        return type(self).__name__

    def keep(self, spikes: torch.Tensor, membrane: torch.Tensor | None = None) -> None:
        """Store this call's spikes (and membrane) when recording."""
        if self.recording:
            self.recorded_spikes = spikes.detach()
            self.recorded_membrane = None if membrane is None else membrane.detach()


def spiking_layers(model: nn.Module) -> list[tuple[str, SpikingLayer]]:
    """Every spiking layer of ``model`` with its qualified name, in module order."""
    return [(name, module) for name, module in model.named_modules() if isinstance(module, SpikingLayer)]


@contextlib.contextmanager
def recording(model: nn.Module) -> Iterator[list[tuple[str, SpikingLayer]]]:
    """Record the spikes (and membranes) of every spiking layer of ``model`` inside the ``with`` block."""
    layers = spiking_layers(model)
    for _, layer in layers:
        layer.recording = True
    try:
        yield layers
    finally:
        for _, layer in layers:
            layer.recording, layer.recorded_spikes, layer.recorded_membrane = False, None, None


def last_steps(prefix: torch.Tensor | None, x: torch.Tensor, rows: int) -> torch.Tensor:
    """History carried between calls: the last ``rows`` steps of ``cat(prefix, x)``, zero-padded in front."""
    full = x if prefix is None else torch.cat([prefix, x])
    if full.shape[0] >= rows:
        return full[full.shape[0] - rows :]
    return torch.cat([full.new_zeros((rows - full.shape[0], *full.shape[1:])), full])

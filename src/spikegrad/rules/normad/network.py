r"""Feed-forward network of continuous LIF layers, simulated layer by layer.

Layer :math:`l` maps presynaptic spikes :math:`s^{(l)}` (``[T, B, n_l]``) to
:math:`s^{(l+1)}` through weights :math:`W^{(l)}` (``[n_{l+1}, n_l]``, pA):
:math:`I^{(l)}(t) = W^{(l)} c^{(l)}(t)` with :math:`c^{(l)} = \kappa * s^{(l)}`. Because the network has
no recurrence, a whole layer's input is known before the layer runs: its traces, and its drive, are
computed for all steps at once (a few vectorized filters and one matrix product), and only the
non-linear spike-and-reset step loops over time (:func:`~spikegrad.rules.normad.neuron.continuous_lif_scan`).
The forward pass returns a :class:`NetworkRecord` with what learning rules need; it builds no autograd
graph (NormAD writes its update into ``.grad`` itself, see :mod:`~spikegrad.rules.normad.rule`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import nn

from spikegrad.errors import ConfigError, ShapeError
from spikegrad.rules.normad.kernel import (
    DoubleExponentialKernel,
    SynapticTraces,
    response_increment,
    synaptic_traces,
)
from spikegrad.rules.normad.neuron import ContinuousLIFParameters, continuous_lif_scan


class LayerRecord(NamedTuple):
    """One layer's forward pass: traces of its input spikes, its 0/1 ``spikes`` and ``membrane_mv``
    before reset (``[T, B, n_out]``, absolute mV)."""

    input_traces: SynapticTraces
    spikes: torch.Tensor
    membrane_mv: torch.Tensor


class NetworkRecord(NamedTuple):
    """The forward pass of every layer, input first; ``output`` is the last layer's spikes ``[T, B, n_out]``."""

    layers: tuple[LayerRecord, ...]

    @property
    def output(self) -> torch.Tensor:
        return self.layers[-1].spikes


class NormADNetwork(nn.Module):
    """Fully connected LIF layers of sizes ``sizes = (n_in, n_1, ..., n_out)``; weights in pA, no biases.

    Args:
        sizes: number of neurons per layer, input first (at least two entries).
        neuron: LIF constants shared by all layers.
        kernel: synaptic kernel shared by all synapses.
        dt_ms: simulation step (ms).
        dtype: weight and simulation dtype (float64 by default: the rule's sensitivities divide by slopes).

    Weights start at zero; initialize them with ``torch.nn.init`` or ``weight.normal_(..., generator=g)``.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        neuron: ContinuousLIFParameters = ContinuousLIFParameters(),
        kernel: DoubleExponentialKernel = DoubleExponentialKernel(),
        dt_ms: float = 0.1,
        dtype: torch.dtype = torch.float64,
    ):
        super().__init__()
        if len(sizes) < 2 or any(n < 1 for n in sizes):
            raise ConfigError("sizes", f"need >= 2 layer sizes, each >= 1, got {list(sizes)}")
        if not dt_ms > 0:
            raise ConfigError("dt_ms", f"time step must be > 0 ms, got {dt_ms!r}")
        self.sizes = tuple(sizes)
        self.neuron, self.kernel, self.dt_ms = neuron, kernel, dt_ms
        self.weights = nn.ParameterList(
            nn.Parameter(torch.zeros(n_out, n_in, dtype=dtype)) for n_in, n_out in zip(sizes[:-1], sizes[1:])
        )

    @torch.no_grad()
    def forward(self, spikes: torch.Tensor) -> NetworkRecord:
        """Simulate input spike trains ``spikes[T, B, n_in]`` (0/1 on the grid) through every layer."""
        if spikes.dim() != 3 or spikes.shape[-1] != self.sizes[0]:
            raise ShapeError("spikes", f"[T, B, {self.sizes[0]}]", tuple(spikes.shape))
        layers = []
        for weight in self.weights:
            traces = synaptic_traces(spikes.to(weight.dtype), self.kernel, self.dt_ms)
            increment = response_increment(traces, self.kernel, self.neuron.tau_ms, self.neuron.capacitance_pf, self.dt_ms)
            out = continuous_lif_scan(increment @ weight.T, self.neuron, self.dt_ms)
            layers.append(LayerRecord(traces, out.spikes, out.membrane_mv))
            spikes = out.spikes
        return NetworkRecord(tuple(layers))

    def extra_repr(self) -> str:
        return f"sizes={self.sizes}, dt_ms={self.dt_ms}, neuron={self.neuron}, kernel={self.kernel}"

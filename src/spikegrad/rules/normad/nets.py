"""NormAD's spike-train networks with each LIF layer a slot that any rule can train.

:class:`~spikegrad.rules.normad.network.NormADNetwork` simulates the continuous-time neuron for NormAD
itself. For the other rules the same network is built from the shared discrete neuron: every layer
filters its input spikes with the double-exponential synaptic kernel (exact per-step increments of the
membrane response, :func:`~spikegrad.rules.normad.kernel.response_increment`), weights them (pA) and
drives a LIF slot with ``beta = exp(-dt / tau_L)``, threshold ``V_T - E_L`` (20 mV) and reset to rest:
the step recursion of :func:`~spikegrad.rules.normad.neuron.continuous_lif_scan` exactly, **except the
refractory period** (2 ms), which the shared neuron does not have. Weights have the same shapes and
order as ``NormADNetwork``'s, so one seed gives every rule the same initial weights.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from spikegrad.errors import ConfigError, ShapeError
from spikegrad.functional.neuron import LIFParameters, Reset
from spikegrad.nn.spec import NeuronSpec, Realize, Role
from spikegrad.rules.normad.kernel import DoubleExponentialKernel, response_increment, synaptic_traces
from spikegrad.rules.normad.neuron import ContinuousLIFParameters


def neuron_spec(neuron: ContinuousLIFParameters, dt_ms: float, output: bool) -> NeuronSpec:
    """The shared-neuron slot of a NormAD layer (membrane in mV above rest)."""
    params = LIFParameters(tau_mem=neuron.tau_ms, dt=dt_ms, threshold=neuron.gap_mv, reset=Reset.ZERO)
    return NeuronSpec(params, Role.OUTPUT if output else Role.HIDDEN)


class SpikeTrainNetwork(nn.Module):
    """Fully connected layers of sizes ``(n_in, n_1, ..., n_out)``, weights in pA, neurons realised by ``layer``.

    ``forward(spikes[T, B, n_in])`` gives the output layer's signal ``[T, B, n_out]`` (its spikes, or what the
    rule's module hands on, e.g. NA's synaptic trace); record the spikes with :func:`spikegrad.nn.recording`.
    """

    def __init__(self, sizes: Sequence[int], layer: Realize, neuron: ContinuousLIFParameters = ContinuousLIFParameters(),
                 kernel: DoubleExponentialKernel = DoubleExponentialKernel(), dt_ms: float = 0.1,
                 dtype: torch.dtype = torch.float64):
        super().__init__()
        if len(sizes) < 2 or any(n < 1 for n in sizes):
            raise ConfigError("sizes", f"need >= 2 layer sizes, each >= 1, got {list(sizes)}")
        self.sizes, self.neuron, self.kernel, self.dt_ms = tuple(sizes), neuron, kernel, dt_ms
        self.weights = nn.ParameterList(
            nn.Parameter(torch.zeros(n_out, n_in, dtype=dtype)) for n_in, n_out in zip(sizes[:-1], sizes[1:])
        )
        last = len(sizes) - 2
        self.layers = nn.ModuleList(layer(neuron_spec(neuron, dt_ms, i == last)) for i in range(len(sizes) - 1))

    def forward(self, spikes: torch.Tensor) -> torch.Tensor:
        if spikes.dim() != 3 or spikes.shape[-1] != self.sizes[0]:
            raise ShapeError("spikes", f"[T, B, {self.sizes[0]}]", tuple(spikes.shape))
        x = spikes
        for weight, module in zip(self.weights, self.layers):
            traces = synaptic_traces(x.to(weight.dtype), self.kernel, self.dt_ms)
            drive = response_increment(traces, self.kernel, self.neuron.tau_ms, self.neuron.capacitance_pf, self.dt_ms)
            x, _ = module(drive @ weight.T)
        return x

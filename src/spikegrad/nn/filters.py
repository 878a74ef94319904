"""Non-spiking filters as time-first modules: the synaptic trace and the integrating readout.

Both are linear recursions with exact autograd (the shared chunked filter), state in, state out.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from spikegrad.errors import ConfigError
from spikegrad.functional.recursive_filter import exponential_filter, synaptic_trace
from spikegrad.nn.base import StatefulModule
from spikegrad.types import check_time_first


class SynapticTrace(StatefulModule):
    """The synaptic filter ``a[t] = a[t-1] + (x[t] - a[t-1]) / tau_s`` (``tau_s`` in steps).

    Applied to spikes it is the post-synaptic current of TSSL-BP/NA networks; applied to an analog image
    repeated at every step (direct encoding) the next layer sees the ramp ``x (1 - (1 - 1/tau_s)^t)``.
    Input and output ``[T, B, ...]``; the state is the last trace value ``[B, ...]``.
    """

    def __init__(self, tau_s: float = 2.0):
        super().__init__()
        if not tau_s >= 1:
            raise ConfigError("tau_s", f"must be >= 1 step, got {tau_s!r}")
        self.tau_s = tau_s

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        check_time_first(x, "SynapticTrace input", min_dims=2)
        trace = synaptic_trace(x, self.tau_s, state)
        return trace, trace[-1]

    def extra_repr(self) -> str:
        return f"tau_s={self.tau_s}"


class ReadoutState(NamedTuple):
    """State of :class:`LeakyReadout`: membrane ``M[B, ...]`` and the number of steps seen."""

    membrane: torch.Tensor
    steps: int


class LeakyReadout(StatefulModule):
    r"""Non-spiking output layer ``M[t] = \lambda (M[t-1] + c[t])``, read out as ``o[t] = M[t] / (V_{th}\, n_t)``.

    ``n_t`` counts the steps seen (across chunks), so the last step of a window is ``M[T] / (V_th T)``, the
    readout of Lee et al.'s networks. The gradient is exact (autograd through the filter); Lee's rule uses
    its own readout whose backward detaches the leak (:class:`spikegrad.rules.lee.IntegratingReadout`).
    Shape: input currents ``[T, B, C]``, output ``[T, B, C]``.
    """

    def __init__(self, leak: float = 0.99, threshold: float = 1.0):
        super().__init__()
        if not (0 < leak <= 1 and threshold > 0):
            raise ConfigError("readout", f"need 0 < leak <= 1 and threshold > 0, got {leak!r}, {threshold!r}")
        self.leak, self.threshold = leak, threshold

    def forward(self, x: torch.Tensor, state: ReadoutState | None = None) -> tuple[torch.Tensor, ReadoutState]:
        check_time_first(x, "LeakyReadout input", min_dims=2)
        seen = 0 if state is None else state.steps
        membrane = exponential_filter(x * self.leak, self.leak, None if state is None else state.membrane)
        count = torch.arange(seen + 1, seen + x.shape[0] + 1, device=x.device, dtype=x.dtype)
        output = membrane / (self.threshold * count.reshape(-1, *([1] * (x.dim() - 1))))
        return output, ReadoutState(membrane[-1], seen + x.shape[0])

    def extra_repr(self) -> str:
        return f"leak={self.leak}, threshold={self.threshold}"


class Traced(StatefulModule):
    """A spiking layer whose spikes leave through a :class:`SynapticTrace`: ``(trace, (neuron state, trace state))``.

    The layer of a TSSL-BP/NA network under any rule that trains the neuron itself (the recorder marker
    stays on ``neuron``).
    """

    def __init__(self, neuron: StatefulModule, tau_s: float):
        super().__init__()
        self.neuron, self.trace = neuron, SynapticTrace(tau_s)

    def forward(self, x: torch.Tensor, state: tuple | None = None) -> tuple[torch.Tensor, tuple]:
        neuron_state, trace_state = (None, None) if state is None else state
        spikes, neuron_state = self.neuron(x, neuron_state)
        trace, trace_state = self.trace(spikes, trace_state)
        return trace, (neuron_state, trace_state)

"""Layers of TSSL-BP / NA networks (Yang, Zhang & Li 2021): the spiking layer and the input trace filter.

A layer of such a network is ``synapse -> NALIF``: the synapse (:class:`~spikegrad.nn.Dense`,
:class:`~spikegrad.nn.Conv2d`, or a fixed :class:`~spikegrad.nn.SumPool2d` with ``scale=1.1``) turns the
previous layer's synaptic traces into currents, and :class:`NALIF` turns currents into its own traces.
:mod:`spikegrad.rules.na.nets` builds the papers' networks from these.
"""

from __future__ import annotations

import torch

from spikegrad.errors import ConfigError
from spikegrad.grad.base import SpikeEstimator
from spikegrad.nn.base import SpikingLayer, StatefulModule
from spikegrad.rules.na.function import na_lif, surrogate_lif
from spikegrad.rules.na.modes import Faithful, LayerRescaling, NARule, Paper
from spikegrad.rules.na.neighbours import Resimulation
from spikegrad.rules.na.neuron import NAParameters, NAState, na_forward, synaptic_trace
from spikegrad.types import check_neuron_input, check_time_first, full_precision

NAGradient = Faithful | Paper | SpikeEstimator
"""How a :class:`NALIF` layer is trained: an NA mode, or a surrogate derivative for plain BPTT."""


class NALIF(SpikingLayer):
    """LIF neurons with hard reset whose output is their synaptic trace (TSSL-BP / NA neuron).

    Args:
        params: time constants and threshold (:class:`~spikegrad.rules.na.NAParameters`).
        gradient: :class:`~spikegrad.rules.na.Faithful` or :class:`~spikegrad.rules.na.Paper` for the
            NA backward pass; a :class:`~spikegrad.grad.SpikeEstimator` for surrogate-gradient BPTT.
        is_output: this is the network's output layer (``Paper(exact_output=True)`` acts here only).
        chunk_elements: memory budget of NA's neighbour re-simulation (neighbour-neuron pairs; default 2**22).
        resimulation: NA's dense or settled-skipping neighbour re-simulation (same result; speed only).
        detach_reset: surrogate BPTT only: no gradient through the reset.

    Attributes:
        rescaling: the :class:`~spikegrad.rules.na.LayerRescaling` used by ``Faithful(rescale=True)``;
            each layer gets its own, and :func:`spikegrad.rules.na.nets.share_rescaling` gives all layers
            of a network one shared object (the original's behaviour).
        layer_key: this layer's key in ``rescaling``.

    Shape:
        input currents ``[T, B, *features]``; output traces of the same shape; state
        :class:`~spikegrad.rules.na.NAState` with tensors ``[B, *features]``.
    """

    def __init__(
        self,
        params: NAParameters | None = None,
        gradient: NAGradient | None = None,
        *,
        is_output: bool = False,
        chunk_elements: int | None = None,
        resimulation: Resimulation = Resimulation.AUTO,
        detach_reset: bool = False,
    ):
        super().__init__()
        self.params = params if params is not None else NAParameters()
        self.gradient = gradient if gradient is not None else Faithful()
        if not isinstance(self.gradient, (Faithful, Paper, SpikeEstimator)):
            raise ConfigError("gradient", f"expected Faithful, Paper or a SpikeEstimator, got {type(self.gradient).__name__}")
        if isinstance(self.gradient, Paper):
            self.gradient.loss_change(is_output)  # EXACT on a hidden layer is refused here
        self.is_output, self.chunk_elements, self.detach_reset = is_output, chunk_elements, detach_reset
        self.resimulation = resimulation
        self.rescaling = LayerRescaling() if isinstance(self.gradient, Faithful) and self.gradient.rescale else None
        self.layer_key = 0

    @property
    def uses_na(self) -> bool:
        return not isinstance(self.gradient, SpikeEstimator)

    def forward(self, x: torch.Tensor, state: NAState | None = None) -> tuple[torch.Tensor, NAState]:
        check_neuron_input(x, "NALIF input")
        x = full_precision(x)
        if self.recording:  # the output is the trace: the spikes and membrane are simulated again, for the record
            forward = na_forward(x.detach(), self.params, None if state is None else NAState(*(s.detach() for s in state)))
            self.keep(forward.spikes, forward.membrane)
        if isinstance(self.gradient, SpikeEstimator):
            return surrogate_lif(x, self.params, self.gradient, state, detach_reset=self.detach_reset)
        rule: NARule = self.gradient
        return na_lif(x, self.params, rule, state, is_output=self.is_output, rescaling=self.rescaling,
                      layer_key=self.layer_key, chunk_elements=self.chunk_elements, resimulation=self.resimulation)

    @property
    def kind(self) -> str:
        return f"LIF + trace (V_th {self.params.threshold:g})"

    def extra_repr(self) -> str:
        return f"{self.params}, gradient={self.gradient}, is_output={self.is_output}"


class SynapticTrace(StatefulModule):
    """The synaptic filter ``a[t] = a[t-1] + (x[t] - a[t-1]) / tau_s`` applied to a network's input.

    With an analog image repeated at every step (direct encoding) the first layer sees the ramp
    ``x (1 - (1 - 1/tau_s)^t)``, as in the NA / TSSL-BP code. Input and output ``[T, B, ...]``; the state
    is the last trace value ``[B, ...]``.
    """

    def __init__(self, params: NAParameters | None = None):
        super().__init__()
        self.params = params if params is not None else NAParameters()

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        check_time_first(x, "SynapticTrace input", min_dims=2)
        trace = synaptic_trace(x, self.params, state)
        return trace, trace[-1]

    def extra_repr(self) -> str:
        return f"tau_s={self.params.tau_s}"

"""The ``na`` rule: Neighborhood Aggregation on any network of LIF/IF neurons."""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

from torch import nn

from spikegrad.losses.reduction import BatchReduction
from spikegrad.nn.spec import NeuronSpec, OutputKind, ReadoutSpec, Role
from spikegrad.rules.na.layers import NALIF
from spikegrad.rules.na.loss import trace_loss
from spikegrad.rules.na.modes import Faithful, NARule
from spikegrad.rules.na.neuron import NAParameters
from spikegrad.rules.plugin import Head, Rule

DEFAULT_TAU_S = 2.0
"""The synaptic time constant (steps) NA brings to layers that hand on spikes (the NA code's tau_s)."""


def _summed_trace(output):
    return output.sum(0).argmax(-1)


@dataclasses.dataclass(frozen=True)
class NA(Rule):
    r"""Neighborhood Aggregation (Yang, Zhang & Li 2021): each spiking layer is NA's neuron (:class:`NALIF`),
    whose backward pass re-simulates one neighbour per time step and weights the loss changes by a
    membrane-potential distance (``mode``: :class:`Faithful` or :class:`Paper`).

    NA's derivation is for the TSSL-BP neuron: a LIF that resets to zero, fires on a strict threshold and
    hands on the synaptic trace of its spikes (its loss compares traces). So on any network of LIF/IF slots
    the rule keeps each slot's leak (``tau_m = 1 / (1 - beta)``; IF: no leak) and threshold, uses that
    neuron with the slot's trace time constant (or ``trace_tau``, default the code's 2 steps, where the slot
    hands on spikes), turns the
    output slot (or an integrating readout) into NA's output neuron, and brings the trace loss against an
    all-ones desired train and the prediction by the largest summed trace. CUBA neurons are refused, and so
    are adaptive thresholds, trainable decay or threshold and recurrent weights.
    """

    mode: NARule = Faithful()
    chunk_elements: int | None = None
    trace_tau: float = DEFAULT_TAU_S

    name: ClassVar[str] = "na"
    gradient: ClassVar[str] = "custom backward: neighbour re-simulation, distance-weighted loss changes"
    trains: ClassVar[str] = "LIF and IF neurons with synaptic-trace outputs (reset to zero, strict threshold)"

    def neuron_params(self, spec: NeuronSpec | ReadoutSpec) -> NAParameters:
        if isinstance(spec, ReadoutSpec):
            return NAParameters(_tau_m(spec.leak), self.trace_tau, spec.threshold)
        self.refuse_beyond_papers(spec, "its neighbour re-simulation runs NA's fixed LIF neuron, with no "
                                  "threshold adaptation, recurrence or trainable constants")
        if spec.params.syn_decay is not None:
            raise self.not_for(f"{type(spec.params).__name__} neurons: NA's neuron has no synaptic current stage")
        return NAParameters(_tau_m(spec.params.mem_decay), spec.trace_tau or self.trace_tau, spec.params.threshold)

    def layer(self, spec: NeuronSpec | ReadoutSpec) -> nn.Module:
        spec = self.shared_slot(spec)
        output = isinstance(spec, ReadoutSpec) or spec.role is Role.OUTPUT
        return NALIF(self.neuron_params(spec), self.mode, is_output=output, chunk_elements=self.chunk_elements)

    def output_kind(self, spec: NeuronSpec | ReadoutSpec) -> OutputKind:
        return OutputKind.TRACE

    def own_head(self, spec: NeuronSpec | ReadoutSpec) -> Head:
        params = self.neuron_params(spec)
        return Head(OutputKind.TRACE, lambda output, labels: trace_loss(output, labels, params), _summed_trace,
                    BatchReduction.SUM)


def _tau_m(decay: float) -> float:
    """NA's ``tau_m`` for a per-step decay ``beta = 1 - 1/tau_m`` (infinite for an IF neuron)."""
    return math.inf if decay >= 1.0 else 1.0 / (1.0 - decay)

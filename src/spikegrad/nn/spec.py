"""Networks described independently of the learning rule: what each spiking layer is, not how it learns.

A network family (the papers' networks, the LIF MLP) is built from synapses, which every rule shares,
and neuron slots described by a :class:`NeuronSpec` (the shared neuron's parameters, the layer's role,
and whether the layer hands on its spikes or their synaptic trace) or a :class:`ReadoutSpec` (a
non-spiking integrating output). A learning rule turns each slot into a module
(:class:`spikegrad.rules.plugin.Rule`), so the same network trains under every rule its neurons allow.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable

from torch import nn

from spikegrad.errors import ConfigError
from spikegrad.functional.neuron import NeuronParameters
from spikegrad.nn.own_weights import OwnParameters, OwnWeights


class Role(enum.Enum):
    """Where a spiking layer sits: a hidden layer, a pooling layer (fixed synapses), or the output layer."""

    HIDDEN = "hidden"
    POOL = "pool"
    OUTPUT = "output"


class OutputKind(enum.Enum):
    """What a network's output layer gives the loss: spikes, synaptic traces, or an integrating readout."""

    SPIKES = "spikes"
    TRACE = "trace"
    READOUT = "readout"


@dataclasses.dataclass(frozen=True)
class NeuronSpec:
    """One spiking layer: the shared neuron's parameters, its role and its output.

    Attributes:
        params: the neuron (:class:`~spikegrad.functional.neuron.LIFParameters`, IF, CUBA, with options).
        role: :class:`Role`.
        trace_tau: when set, the layer hands on its spikes filtered by a synaptic trace with this time
            constant (steps; :func:`~spikegrad.functional.recursive_filter.synaptic_trace`), as TSSL-BP/NA
            networks do; None: the spikes themselves.
        own: what the layer trains of its own neurons (trainable decay or threshold, recurrent weights;
            :class:`~spikegrad.nn.own_weights.OwnParameters`), or None. Rules whose maths has no place
            for them refuse such slots (:meth:`spikegrad.rules.plugin.Rule.refuse_beyond_papers`).
    """

    params: NeuronParameters
    role: Role = Role.HIDDEN
    trace_tau: float | None = None
    own: OwnParameters | None = None

    def __post_init__(self) -> None:
        if self.trace_tau is not None and not self.trace_tau >= 1:
            raise ConfigError("trace_tau", f"must be >= 1 step or None, got {self.trace_tau!r}")

    @property
    def output_kind(self) -> OutputKind:
        return OutputKind.SPIKES if self.trace_tau is None else OutputKind.TRACE

    def own_weights(self) -> OwnWeights | None:
        """A fresh :class:`~spikegrad.nn.own_weights.OwnWeights` for this slot (None without ``own``)."""
        return None if self.own is None else OwnWeights(self.own, self.params)


@dataclasses.dataclass(frozen=True)
class ReadoutSpec:
    """A non-spiking output layer ``M[t] = leak (M[t-1] + c[t])``, read out as ``M[t] / (threshold t)``."""

    leak: float = 0.99
    threshold: float = 1.0

    def __post_init__(self) -> None:
        if not (0 < self.leak <= 1 and self.threshold > 0):
            raise ConfigError("readout", f"need 0 < leak <= 1 and threshold > 0, got {self.leak}, {self.threshold}")


Realize = Callable[[NeuronSpec | ReadoutSpec], nn.Module]
"""A rule's way of turning a neuron slot into a module (:meth:`spikegrad.rules.plugin.Rule.layer`)."""


def build_layer(spec: NeuronSpec | ReadoutSpec, neuron: Callable[[NeuronSpec], nn.Module]) -> nn.Module:
    """The module of a slot for a rule that trains the neuron itself: ``neuron(spec)``, behind a
    :class:`~spikegrad.nn.filters.SynapticTrace` when the slot hands on traces; a readout slot becomes the
    exact :class:`~spikegrad.nn.filters.LeakyReadout`."""
    from spikegrad.nn.filters import LeakyReadout, Traced

    if isinstance(spec, ReadoutSpec):
        return LeakyReadout(spec.leak, spec.threshold)
    module = neuron(spec)
    return module if spec.trace_tau is None else Traced(module, spec.trace_tau)

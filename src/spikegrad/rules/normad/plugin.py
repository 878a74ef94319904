"""The ``normad`` rule as a plug-in: it writes ``param.grad`` itself and trains NormAD's own networks."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from torch import nn

from spikegrad.nn.spec import NeuronSpec, ReadoutSpec
from spikegrad.rules.normad.rule import NormADParameters
from spikegrad.rules.plugin import Rule


@dataclasses.dataclass(frozen=True)
class NormADRule(Rule):
    """NormAD (Anwani & Rajendran): not autograd. :class:`~spikegrad.rules.normad.NormAD` records the forward
    pass of a continuous-time LIF network (:class:`~spikegrad.rules.normad.NormADNetwork`), computes the
    normalised update from the membrane-potential error at the desired and observed spike times and writes it
    into ``param.grad``, so any optimiser, schedule or clipping applies it. Its derivation needs the
    continuous neuron's membrane kernel and spike times, so it trains those networks on spike-train problems
    and no slot of the discrete shared neurons.
    """

    params: NormADParameters = NormADParameters()

    name: ClassVar[str] = "normad"
    gradient: ClassVar[str] = "writes param.grad: normalised approximate descent on the membrane error"
    trains: ClassVar[str] = "NormAD's continuous-time LIF networks (spike-train problems)"

    def layer(self, spec: NeuronSpec | ReadoutSpec) -> nn.Module:
        self.shared_slot(spec)  # another rule's own slot type is refused by its name
        raise self.not_for("the discrete shared neurons of this network")

"""The ``bptt`` rule: plain backpropagation through time with a surrogate spike derivative."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from torch import nn

from spikegrad.grad import ATan, SpikeEstimator
from spikegrad.nn import SpikingNeuron
from spikegrad.nn.spec import NeuronSpec, ReadoutSpec, build_layer
from spikegrad.rules.plugin import Rule


@dataclasses.dataclass(frozen=True)
class BPTT(Rule):
    """Surrogate-gradient BPTT: every spiking layer is the shared neuron with ``estimator`` as ``ds/dv``, the
    gradient is exact autograd everywhere else (synaptic traces, the integrating readout).

    On any network of shared neurons (LIF, IF, CUBA, ALIF, with or without synaptic-trace outputs), with
    their own trainable decay, threshold and recurrent weights: the shared scan's backward gives their
    gradients.
    """

    estimator: SpikeEstimator = ATan()

    name: ClassVar[str] = "bptt"
    gradient: ClassVar[str] = "autograd through the shared scan, surrogate spike derivative"
    trains: ClassVar[str] = "the shared neurons (LIF, IF, CUBA, ALIF; trainable decay/threshold, recurrent)"

    def layer(self, spec: NeuronSpec | ReadoutSpec) -> nn.Module:
        return build_layer(self.shared_slot(spec), lambda neuron: SpikingNeuron(neuron.params, self.estimator, neuron.own_weights()))

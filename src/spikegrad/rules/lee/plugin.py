"""The ``lee`` rule: Lee et al.'s leak-corrected pseudo-derivative on any network of LIF/IF neurons."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from torch import nn

from spikegrad.functional.neuron import NeuronParameters, Reset
from spikegrad.losses.reduction import BatchReduction
from spikegrad.nn.filters import Traced
from spikegrad.nn.spec import NeuronSpec, OutputKind, ReadoutSpec, Role
from spikegrad.rules.lee.derivative import LeakCorrectedDerivative
from spikegrad.rules.lee.layers import IntegratingReadout, LeeLIF, LeeNeuron
from spikegrad.rules.lee.loss import lee_mse_loss, lee_prediction
from spikegrad.rules.lee.scan import LeeGradientPath
from spikegrad.rules.plugin import Head, Rule


@dataclasses.dataclass(frozen=True)
class Lee(Rule):
    r"""Lee et al. (2020): each spiking layer is Lee's neuron (:class:`~spikegrad.rules.lee.LeeNeuron`) with the
    gradient factor :math:`NG/V_{th}` from its own window of spikes, passed back along ``path`` (the reference
    code's spike-gated path, or the paper's rate formula).

    Lee's derivation is for a LIF (or IF) neuron that resets to zero and fires on a strict threshold, whose
    activation is its spike count, read out by a non-spiking integrator. So on any network of LIF/IF slots
    the rule keeps each slot's leak and threshold and uses that neuron (a slot that resets by subtraction
    is trained with the reset to zero: the derivative is not defined for the other); pooling slots get the
    code's factor of the pooling neurons (1 where they fired: no ``1/V_th``, no leak correction); the output
    slot becomes the integrating readout with the slot's leak and threshold, and the rule brings its loss,
    ``sum (o - y)^2``, and prediction ``argmax o``. CUBA neurons are refused: the derivation has no
    synaptic-current stage; so are adaptive thresholds, trainable decay or threshold and recurrent weights.
    """

    path: LeeGradientPath = LeeGradientPath.CODE

    name: ClassVar[str] = "lee"
    gradient: ClassVar[str] = "custom backward: leak-corrected pseudo-derivative from the window's spikes"
    trains: ClassVar[str] = "LIF and IF neurons (reset to zero, strict threshold) with an integrating readout"

    def _params(self, spec: NeuronSpec) -> NeuronParameters:
        self.refuse_beyond_papers(spec, "its pseudo-derivative is derived for a fixed leak and threshold, "
                                  "with no threshold adaptation or recurrence")
        if spec.params.syn_decay is not None:
            raise self.not_for(f"{type(spec.params).__name__} neurons: its derivation has no synaptic current stage")
        return dataclasses.replace(spec.params, reset=Reset.ZERO, strict=True)

    def layer(self, spec: NeuronSpec | ReadoutSpec) -> nn.Module:
        spec = self.shared_slot(spec)
        if isinstance(spec, ReadoutSpec):
            return IntegratingReadout(spec.leak, spec.threshold)
        params = self._params(spec)
        if spec.role is Role.OUTPUT:
            return IntegratingReadout(params.mem_decay, params.threshold)
        if spec.role is Role.POOL:
            neuron = LeeNeuron(params, LeakCorrectedDerivative(leak=params.mem_decay, threshold=1.0), self.path)
        else:
            neuron = LeeLIF(params.mem_decay, params.threshold, self.path)
        return neuron if spec.trace_tau is None else Traced(neuron, spec.trace_tau)

    def output_kind(self, spec: NeuronSpec | ReadoutSpec) -> OutputKind:
        return OutputKind.READOUT

    def own_head(self, spec: NeuronSpec | ReadoutSpec) -> Head:
        return Head(OutputKind.READOUT, lee_mse_loss, lee_prediction, BatchReduction.SUM)

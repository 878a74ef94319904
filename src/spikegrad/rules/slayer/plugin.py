"""The ``slayer`` rule on networks of the shared neurons (its SRM networks are built by :mod:`.nets`)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from torch import nn

from spikegrad.errors import check_positive
from spikegrad.grad import ExponentialPDF
from spikegrad.nn import SpikingNeuron
from spikegrad.nn.spec import NeuronSpec, ReadoutSpec, build_layer
from spikegrad.rules.plugin import Rule
from spikegrad.rules.slayer.layers import SRMNeuron, SRMSpec


@dataclasses.dataclass(frozen=True)
class SLAYER(Rule):
    r"""SLAYER's credit assignment on a LIF/CUBA network: the spike-escape-rate PDF as ``ds/du``
    (``scale_rho / (tau_rho theta) exp(-|u - theta| / (tau_rho theta))``, :class:`~spikegrad.grad.ExponentialPDF`)
    with the reset kept out of the backward pass (``detach_reset``), as the SLAYER paper derives its gradient
    for the spike-response model, where the refractory response is not differentiated (lava-dl's reading for
    CUBA neurons). The error is then reassigned in time by the adjoint of the membrane's filter, which
    autograd through the shared scan computes. On SRM networks (:mod:`.nets`) this rule is exactly
    slayerPytorch's (golden-gradient tests).

    Adaptive thresholds and a slot's own trainable decay, threshold and recurrent weights are trained
    through the same scan (ours, not the paper's: SLAYER learns weights and delays only). The PDF's width
    stays that of the slot's initial threshold; the spike's paths into the adaptation and the recurrence
    are differentiated, only the reset is detached.
    """

    tau_rho: float = 1.0
    scale_rho: float = 1.0

    name: ClassVar[str] = "slayer"
    gradient: ClassVar[str] = "autograd; the PDF surrogate, reset detached, error reassigned in time by the filter adjoints"
    trains: ClassVar[str] = "SRM neurons and the shared neurons (LIF, IF, CUBA, ALIF; trainable decay/threshold, recurrent)"

    def __post_init__(self) -> None:
        check_positive("pdf_tau_rho", self.tau_rho)
        check_positive("pdf_scale_rho", self.scale_rho)

    def layer(self, spec: NeuronSpec | ReadoutSpec | SRMSpec) -> nn.Module:
        if isinstance(spec, SRMSpec):  # the SRM neuron with the PDF of its own parameters: slayerPytorch's rule
            return SRMNeuron(spec.params, method=spec.method)

        def neuron(slot: NeuronSpec) -> nn.Module:
            pdf = ExponentialPDF.from_slayer(self.tau_rho, self.scale_rho, slot.params.threshold)
            return SpikingNeuron(dataclasses.replace(slot.params, detach_reset=True), pdf, slot.own_weights())

        return build_layer(self.shared_slot(spec), neuron)

"""NormAD (Anwani & Rajendran): continuous-time LIF networks trained to emit precise spike trains.

Single-layer NormAD (IJCNN 2015) and the reconstructed multi-layer rule (arXiv:1811.10678); see
``docs/methods-slayer-normad.md`` part B. The rule is not autograd: it writes its update into ``.grad``.
"""

from spikegrad.rules.normad.kernel import (
    DoubleExponentialKernel,
    SynapticTraces,
    membrane_response,
    synaptic_traces,
)
from spikegrad.rules.normad.multilayer import HiddenParameters
from spikegrad.rules.normad.network import LayerRecord, NetworkRecord, NormADNetwork
from spikegrad.rules.normad.neuron import (
    ContinuousLIFOutput,
    ContinuousLIFParameters,
    ContinuousLIFState,
    continuous_lif_scan,
)
from spikegrad.rules.normad.rule import NormAD, NormADParameters, normad_direction

__all__ = [
    "DoubleExponentialKernel",
    "HiddenParameters",
    "ContinuousLIFOutput",
    "ContinuousLIFParameters",
    "ContinuousLIFState",
    "LayerRecord",
    "NetworkRecord",
    "NormAD",
    "NormADNetwork",
    "NormADParameters",
    "SynapticTraces",
    "continuous_lif_scan",
    "membrane_response",
    "normad_direction",
    "synaptic_traces",
]

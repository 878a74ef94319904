"""NormAD (Anwani & Rajendran): continuous-time LIF networks trained to emit precise spike trains.

Single-layer NormAD (IJCNN 2015) and the reconstructed multi-layer rule (arXiv:1811.10678); see
``docs/methods-slayer-normad.md`` part B. The rule is not autograd: it writes its update into ``.grad``.
"""

from spikegrad.methods.normad.experiment import (
    ExperimentResult,
    LayerTraining,
    SingleConfig,
    ThreeLayerConfig,
    TrainingConfig,
    XORExperimentConfig,
    run_single,
    run_three_layer,
    run_xor,
)
from spikegrad.methods.normad.kernel import DoubleExponentialKernel, SynapticTraces, membrane_response, synaptic_traces
from spikegrad.methods.normad.multilayer import HiddenParameters
from spikegrad.methods.normad.network import LayerRecord, NetworkRecord, NormADNetwork
from spikegrad.methods.normad.neuron import LIFOutput, LIFParameters, LIFState, lif_scan
from spikegrad.methods.normad.rule import NormAD, NormADParameters, normad_direction

__all__ = [
    "DoubleExponentialKernel",
    "ExperimentResult",
    "HiddenParameters",
    "LIFOutput",
    "LIFParameters",
    "LIFState",
    "LayerRecord",
    "LayerTraining",
    "NetworkRecord",
    "NormAD",
    "NormADNetwork",
    "NormADParameters",
    "SingleConfig",
    "SynapticTraces",
    "ThreeLayerConfig",
    "TrainingConfig",
    "XORExperimentConfig",
    "lif_scan",
    "membrane_response",
    "normad_direction",
    "run_single",
    "run_three_layer",
    "run_xor",
    "synaptic_traces",
]

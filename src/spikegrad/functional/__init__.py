"""Pure reference ops: state in, state out. Time-first tensors ``[T, B, ...]``."""

from spikegrad.functional.neuron import (
    ALIFParameters,
    CUBAParameters,
    IFParameters,
    LIFParameters,
    NeuronOutput,
    NeuronParameters,
    NeuronState,
    NeuronWeights,
    Reset,
    initial_state,
    neuron_step,
)
from spikegrad.functional.scan import neuron_scan
from spikegrad.functional.spike import spike

__all__ = [
    "ALIFParameters",
    "CUBAParameters",
    "IFParameters",
    "LIFParameters",
    "NeuronOutput",
    "NeuronParameters",
    "NeuronState",
    "NeuronWeights",
    "Reset",
    "initial_state",
    "neuron_scan",
    "neuron_step",
    "spike",
]

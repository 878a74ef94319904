"""Pure reference ops: state in, state out. Time-first tensors ``[T, B, ...]``."""

from spikegrad.functional.neuron import (
    CUBAParameters,
    IFParameters,
    LIFParameters,
    NeuronOutput,
    NeuronParameters,
    NeuronState,
    Reset,
    initial_state,
    neuron_step,
)
from spikegrad.functional.scan import neuron_scan
from spikegrad.functional.spike import spike

__all__ = [
    "CUBAParameters",
    "IFParameters",
    "LIFParameters",
    "NeuronOutput",
    "NeuronParameters",
    "NeuronState",
    "Reset",
    "initial_state",
    "neuron_scan",
    "neuron_step",
    "spike",
]

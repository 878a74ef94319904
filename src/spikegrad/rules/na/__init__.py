"""Neighborhood Aggregation (Yang, Zhang & Li, ICML 2021) on the TSSL-BP LIF neuron with a synaptic trace.

- :mod:`.neuron`: the neuron (:class:`NAParameters`, :func:`na_forward`, :func:`synaptic_trace`);
- :mod:`.membrane`: membrane-potential addition, subtraction and distance;
- :mod:`.neighbours`: the vectorised, chunked neighbour re-simulation with the chain effect;
- :mod:`.modes`: the backward modes :class:`Faithful` (original code) and :class:`Paper` (poster);
- :mod:`.function`: the layer as autograd functions, :func:`na_lif` and the BPTT baseline :func:`surrogate_lif`.
"""

from spikegrad.rules.na.function import na_delta, na_lif, surrogate_lif
from spikegrad.rules.na.membrane import (
    input_current_of,
    membrane_add,
    membrane_distance,
    membrane_sub,
)
from spikegrad.rules.na.modes import Faithful, LayerRescaling, LossChange, NARule, Paper
from spikegrad.rules.na.neighbours import (
    DEFAULT_CHUNK_ELEMENTS,
    NeighbourChanges,
    Resimulation,
    chunk_size,
    neighbour_loss_changes,
    neighbour_schedule,
    neighbour_spike_trains,
    settled_neighbours,
)
from spikegrad.rules.na.neuron import (
    NAOutput,
    NAParameters,
    NAState,
    na_forward,
    synaptic_trace,
)

__all__ = [
    "DEFAULT_CHUNK_ELEMENTS",
    "Faithful",
    "LayerRescaling",
    "LossChange",
    "NAOutput",
    "NAParameters",
    "NARule",
    "NAState",
    "NeighbourChanges",
    "Paper",
    "Resimulation",
    "chunk_size",
    "input_current_of",
    "membrane_add",
    "membrane_distance",
    "membrane_sub",
    "na_delta",
    "na_forward",
    "na_lif",
    "neighbour_loss_changes",
    "neighbour_schedule",
    "neighbour_spike_trains",
    "settled_neighbours",
    "surrogate_lif",
    "synaptic_trace",
]

"""Modules for time-first spiking networks: neurons, synapses, pooling, dropout, containers."""

from spikegrad.nn.base import SpikingLayer, StatefulModule, recording, spiking_layers
from spikegrad.nn.delay import AxonalDelay
from spikegrad.nn.dropout import TimeFixedDropout
from spikegrad.nn.layout import Layout, LayoutAdapter, from_time_first, to_time_first
from spikegrad.nn.neurons import ALIF, CUBA, IF, LIF, LeakyIntegrator, SpikingNeuron, set_compiled_scans
from spikegrad.nn.own_weights import Granularity, OwnParameters, OwnWeights
from spikegrad.nn.sequential import SNNSequential
from spikegrad.nn.synapses import AvgPool2d, Conv2d, Dense, Flatten, SumPool2d

__all__ = [
    "ALIF",
    "CUBA",
    "IF",
    "LIF",
    "AvgPool2d",
    "AxonalDelay",
    "Conv2d",
    "Dense",
    "Flatten",
    "Granularity",
    "Layout",
    "LayoutAdapter",
    "LeakyIntegrator",
    "OwnParameters",
    "OwnWeights",
    "SNNSequential",
    "SpikingNeuron",
    "set_compiled_scans",
    "SpikingLayer",
    "StatefulModule",
    "SumPool2d",
    "TimeFixedDropout",
    "from_time_first",
    "recording",
    "spiking_layers",
    "to_time_first",
]

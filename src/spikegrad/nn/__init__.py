"""Modules for time-first spiking networks: neurons, synapses, pooling, dropout, containers."""

from spikegrad.nn.base import StatefulModule
from spikegrad.nn.dropout import TimeFixedDropout
from spikegrad.nn.layout import Layout, LayoutAdapter, from_time_first, to_time_first
from spikegrad.nn.lee import IntegratingReadout, LeeLIF, LeeResidualBlock, SpikingAvgPool2d
from spikegrad.nn.na import NALIF, SynapticTrace
from spikegrad.nn.neurons import CUBA, IF, LIF, LeakyIntegrator, SpikingNeuron
from spikegrad.nn.sequential import SNNSequential
from spikegrad.nn.slayer import AxonalDelay, SLAYERBlock, SLAYERPool, SRMNeuron, slayer_conv, slayer_dense
from spikegrad.nn.synapses import AvgPool2d, Conv2d, Dense, Flatten, SumPool2d

__all__ = [
    "CUBA",
    "IF",
    "LIF",
    "NALIF",
    "AvgPool2d",
    "AxonalDelay",
    "Conv2d",
    "Dense",
    "Flatten",
    "IntegratingReadout",
    "Layout",
    "LayoutAdapter",
    "LeakyIntegrator",
    "LeeLIF",
    "LeeResidualBlock",
    "SLAYERBlock",
    "SLAYERPool",
    "SNNSequential",
    "SRMNeuron",
    "SpikingAvgPool2d",
    "SpikingNeuron",
    "StatefulModule",
    "SumPool2d",
    "SynapticTrace",
    "TimeFixedDropout",
    "from_time_first",
    "slayer_conv",
    "slayer_dense",
    "to_time_first",
]

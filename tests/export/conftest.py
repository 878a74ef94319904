"""Shared networks for the NIR tests: every supported layer type, with weights scaled so that every layer fires."""

from __future__ import annotations

import pytest
import torch

from spikegrad.functional.neuron import Reset
from spikegrad.nn import (
    CUBA,
    IF,
    LIF,
    AvgPool2d,
    AxonalDelay,
    Conv2d,
    Dense,
    Flatten,
    LeakyIntegrator,
    SNNSequential,
    SumPool2d,
    TimeFixedDropout,
)
from spikegrad.rules.slayer.layers import SLAYERBlock, SLAYERPool

INPUT_SHAPE = (2, 8, 8)


def every_layer_network(reset_zero: Reset = Reset.ZERO) -> SNNSequential:
    """Conv, pools (sum with scale, SLAYER's, average), flatten, dense with and without bias, delays, dropout,
    LIF/IF/CUBA with reset to zero and without reset, leaky and plain integrators."""
    torch.manual_seed(1)
    net = SNNSequential(
        Conv2d(2, 4, 3, padding=1), LIF(tau_mem=5.0, reset=reset_zero),
        SumPool2d(2, scale=0.5), IF(threshold=0.7, reset=Reset.NONE),
        SLAYERBlock(SLAYERPool(2, theta=0.5), CUBA(tau_mem=8.0, tau_syn=3.0, threshold=0.3, reset=reset_zero)),
        AvgPool2d(1), Flatten(), TimeFixedDropout(0.2),
        Dense(16, 20), AxonalDelay((20,), ts=1.0, init_max=4.0), LIF(tau_mem=10.0, reset=Reset.NONE),
        Dense(20, 12, bias=False), CUBA(threshold=0.5, reset=Reset.NONE), IF(threshold=0.5, reset=reset_zero),
        Dense(12, 5), LeakyIntegrator(tau_mem=15.0), LeakyIntegrator(tau_mem=float("inf")),
    )
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, (Dense, Conv2d)):
                module.weight.mul_(3.0)
    return net.eval()


@pytest.fixture
def network_of_every_layer():
    """The factory :func:`every_layer_network` (tests call it with the reset mode of the resetting neurons)."""
    return every_layer_network


@pytest.fixture
def spikes() -> torch.Tensor:
    """Random 0/1 input ``[T=30, B=4, 2, 8, 8]``."""
    return (torch.rand((30, 4, *INPUT_SHAPE), generator=torch.Generator().manual_seed(5)) < 0.3).float()

"""Oracles B5.1 and B5.2 of the spec (methods-slayer-normad.md)."""

import math

import pytest
import torch

from spikegrad.errors import ConfigError
from spikegrad.rules.normad.kernel import (
    DoubleExponentialKernel,
    membrane_response,
    synaptic_traces,
)

KERNEL = DoubleExponentialKernel()  # tau1 = 5 ms, tau2 = 1.25 ms
DT = 0.1


def _single_spike_response(tau_ms, steps=201, dt=DT):
    spikes = torch.zeros(steps, 1, 1, dtype=torch.float64)
    spikes[0] = 1.0
    traces = synaptic_traces(spikes, KERNEL, dt)
    return traces, membrane_response(traces, KERNEL, tau_ms, 300.0, dt)[:, 0, 0]


def test_b5_1_kernel_peak():
    assert KERNEL.peak_ms == pytest.approx(2.3105, abs=5e-5)
    assert KERNEL.value(torch.tensor([KERNEL.peak_ms], dtype=torch.float64)).item() == pytest.approx(0.47247, abs=5e-6)
    assert KERNEL.value(torch.tensor([-1.0, 0.0])).tolist() == [0.0, 0.0]


def test_traces_sample_the_kernel_on_the_grid():
    traces, _ = _single_spike_response(10.0)
    times = torch.arange(201, dtype=torch.float64) * DT
    torch.testing.assert_close(traces.kappa[:, 0, 0], KERNEL.value(times), rtol=0, atol=1e-12)


# d_hat(t) for one input spike at 0, in V/A (= 1e-9 mV/pA), at t = 1, 2, 5, 10, 20 ms
@pytest.mark.parametrize(
    "tau_ms, expected",
    [(10.0, [7.011e5, 2.010e6, 5.154e6, 6.001e6, 3.256e6]), (1.0, [5.211e5, 1.120e6, 1.312e6, 5.589e5, 7.63e4])],
)
def test_b5_2_response_is_exact_at_grid_points(tau_ms, expected):
    _, response = _single_spike_response(tau_ms)
    got = [response[round(t / DT)].item() * 1e9 for t in (1, 2, 5, 10, 20)]
    assert got == pytest.approx(expected, rel=1e-3)
    assert response[0].item() == 0.0


def test_response_does_not_depend_on_the_step():
    _, coarse = _single_spike_response(1.0, steps=21, dt=1.0)
    _, fine = _single_spike_response(1.0, steps=201, dt=0.1)
    torch.testing.assert_close(coarse, fine[::10], rtol=1e-12, atol=0)


def test_time_constant_equal_to_a_kernel_part_is_the_limit():
    _, equal = _single_spike_response(5.0)
    _, near = _single_spike_response(5.0 * (1 + 1e-7))
    torch.testing.assert_close(equal, near, rtol=1e-6, atol=0)


def test_kernel_rejects_unordered_time_constants():
    with pytest.raises(ConfigError):
        DoubleExponentialKernel(tau1_ms=1.0, tau2_ms=2.0)
    assert math.isfinite(DoubleExponentialKernel(2.0, 1.0).peak_ms)

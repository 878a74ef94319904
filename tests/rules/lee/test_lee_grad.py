"""Lee's leak-corrected pseudo-derivative (oracle A12.2) and the spike-gated estimator."""

from __future__ import annotations

import math

import pytest
import torch

from spikegrad.errors import ConfigError, ShapeError
from spikegrad.rules.lee.derivative import (
    LeakCorrectedDerivative,
    SpikeGated,
    leak_correction,
    leaky_spike_trace,
)


def _train(steps: int, fire_at: list[int], dtype=torch.float64) -> torch.Tensor:
    spikes = torch.zeros(steps, 1, dtype=dtype)
    spikes[[t - 1 for t in fire_at]] = 1.0  # steps numbered 1..T as in the paper
    return spikes


def test_oracle_correction_factor_short_window():
    spikes = _train(4, [2, 4])  # oracle A12.1: s = [0, 1, 0, 1]
    assert leaky_spike_trace(spikes, 0.9).item() == pytest.approx(1.81)  # 0.9^2 + 0.9^0
    assert leak_correction(spikes, 0.9).item() == pytest.approx(1 + math.log(0.9) * 1.81 / 2, abs=1e-12)
    assert leak_correction(spikes, 0.9).item() == pytest.approx(0.904649, abs=1e-6)


@pytest.mark.parametrize("fire_at, expected", [
    (list(range(1, 101)), 0.993628),  # every step: LF = 63.39677
    ([100], 1 + math.log(0.99)),  # 0.989950
    ([1], 1 + math.log(0.99) * 0.99**99),  # 0.996284
    ([], 0.0),  # silent neuron: no gradient at all
])
def test_oracle_correction_factor_T100(fire_at, expected):
    spikes = _train(100, fire_at)
    assert leak_correction(spikes, 0.99).item() == pytest.approx(expected, abs=1e-6)


def test_every_step_trace_value():
    assert leaky_spike_trace(_train(100, list(range(1, 101))), 0.99).item() == pytest.approx(63.39677, abs=1e-5)


def test_trace_equals_the_code_running_sum():
    spikes = (torch.rand(37, 3, 5) < 0.3).double()
    running = torch.zeros(3, 5, dtype=torch.float64)
    for s in spikes:
        running = 0.97 * running + s  # LF_Unit: LF = l * LF + out
    assert torch.allclose(leaky_spike_trace(spikes, 0.97), running, atol=1e-12)


def test_scaled_spikes_keep_the_factor():
    """VGG9 traces the dropout-scaled spikes (1.25): LF / gamma, hence NG, does not change."""
    spikes = (torch.rand(50, 8) < 0.2).double()
    assert torch.allclose(leak_correction(spikes * 1.25, 0.99), leak_correction(spikes, 0.99), atol=1e-12)


def test_derivative_divides_by_threshold_and_if_pooling_is_a_gate():
    spikes = _train(10, [3, 7])
    lif = LeakCorrectedDerivative(leak=0.99, threshold=2.0)
    assert lif.derivative(spikes).item() == pytest.approx(lif.correction(spikes).item() / 2.0)
    pooling = LeakCorrectedDerivative(leak=1.0, threshold=1.0)  # the code's pooling neurons
    assert pooling.derivative(spikes).item() == 1.0
    assert pooling.derivative(_train(10, [])).item() == 0.0


@pytest.mark.parametrize("kwargs, option", [({"leak": 0.0}, "leak"), ({"leak": 1.5}, "leak"),
                                            ({"threshold": 0.0}, "threshold")])
def test_bad_parameters_raise(kwargs, option):
    with pytest.raises(ConfigError, match=option):
        LeakCorrectedDerivative(**kwargs)


def test_empty_window_raises():
    with pytest.raises(ShapeError):
        leaky_spike_trace(torch.zeros(0, 3), 0.99)


def test_spike_gated_contract():
    x = torch.tensor([-1.0, -1e-9, 0.0, 1e-9, 2.0], dtype=torch.float64)
    gate = SpikeGated()
    assert gate.forward(x).tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]  # strict: H(0) = 0, as the code's `>`
    assert gate.derivative(x).tolist() == gate.forward(x).tolist()  # gradient passes only where it fired
    probe = torch.tensor([-0.7, 0.3, 1.9], dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(gate.primitive(probe).sum(), probe)
    assert torch.equal(grad, gate.derivative(probe.detach()))  # derivative is the primitive's derivative

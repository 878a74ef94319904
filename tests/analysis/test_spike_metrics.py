"""Oracle B5.4 (correlation) and hand-computed van Rossum distances."""

import math

import pytest
import torch

from spikegrad.analysis.spike_metrics import (
    ExponentialKernel,
    GaussianKernel,
    spike_correlation,
    van_rossum_distance,
)
from spikegrad.errors import ShapeError

DT = 0.1


def _train(*times_ms, steps=3000):
    train = torch.zeros(steps, 1, 1, dtype=torch.float64)
    for t in times_ms:
        train[round(t / DT)] = 1.0
    return train


@pytest.mark.parametrize("kernel", [ExponentialKernel(5.0), GaussianKernel(2.0)])
def test_b5_4_correlation(kernel):
    a = _train(20.0, 90.0, 150.0)
    assert spike_correlation(a, a, DT, kernel).item() == pytest.approx(1.0, abs=1e-12)
    assert spike_correlation(a, _train(50.0, 120.0, 250.0), DT, kernel).item() < 1e-2
    near = _train(21.0, 90.0, 150.0)
    value = spike_correlation(a, near, DT, kernel).item()
    assert 0.5 < value < 1.0
    assert spike_correlation(3.0 * a, 0.5 * near, DT, kernel).item() == pytest.approx(value, rel=1e-12)  # amplitude-free


def test_correlation_of_two_single_spikes_by_hand():
    # exponential filter: <e^{-t/tau}, e^{-(t-d)/tau}> / (tau/2) = e^{-d/tau}; Gaussian: e^{-d^2/(4 sigma^2)}
    a, b = _train(50.0), _train(52.0)
    assert spike_correlation(a, b, DT, ExponentialKernel(5.0)).item() == pytest.approx(math.exp(-2.0 / 5.0), rel=1e-3)
    assert spike_correlation(a, b, DT, GaussianKernel(2.0)).item() == pytest.approx(math.exp(-4.0 / 16.0), rel=1e-3)


def test_correlation_conventions_for_empty_trains():
    empty, one = _train(), _train(10.0)
    assert spike_correlation(empty, empty, DT).item() == 1.0
    assert spike_correlation(empty, one, DT).item() == 0.0


def test_van_rossum_by_hand():
    tau = 5.0
    assert van_rossum_distance(_train(10.0), _train(10.0), DT, tau).item() == 0.0
    assert van_rossum_distance(_train(10.0), _train(), DT, tau).item() == pytest.approx(math.sqrt(0.5), rel=1e-9)
    # spikes d apart: D^2 = 1 - exp(-d / tau)
    got = van_rossum_distance(_train(10.0), _train(13.0), DT, tau).item()
    assert got == pytest.approx(math.sqrt(1 - math.exp(-3.0 / tau)), rel=1e-9)


def test_metrics_reject_mismatched_shapes():
    with pytest.raises(ShapeError, match="observed"):
        spike_correlation(_train(1.0), torch.zeros(3000, 1, 2), DT)

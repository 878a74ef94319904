"""Every estimator: forward is the Heaviside step; derivative is the float64 finite difference of its primitive."""

from __future__ import annotations

import pytest
import torch

from spikegrad.errors import ConfigError
from spikegrad.functional import spike
from spikegrad.grad import (
    CATALOGUE,
    ATan,
    ExponentialPDF,
    FastSigmoid,
    Sigmoid,
    Smooth,
    StraightThrough,
    Triangle,
    make_estimator,
)

ESTIMATORS = [FastSigmoid(slope=7.0), ATan(alpha=3.0), Sigmoid(alpha=5.0), Triangle(width=0.8, height=1.5),
              StraightThrough(width=0.6), ExponentialPDF(tau=0.3, scale=0.7)]
# points away from the kinks of the piecewise estimators (|x| = 0.3, 0.4, 0.8, and 0)
POINTS = torch.tensor([-2.1, -0.75, -0.55, -0.35, -0.2, -0.07, 0.05, 0.13, 0.25, 0.37, 0.6, 1.7], dtype=torch.float64)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_derivative_is_finite_difference_of_primitive(estimator):
    eps = 1e-6
    fd = (estimator.primitive(POINTS + eps) - estimator.primitive(POINTS - eps)) / (2 * eps)
    torch.testing.assert_close(estimator.derivative(POINTS), fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_primitive_starts_at_zero_and_rises(estimator):
    far = torch.tensor([-1e6, 1e6], dtype=torch.float64)
    low, high = estimator.primitive(far)
    assert abs(low.item()) < 1e-5
    assert high > 0.0
    assert torch.all(estimator.derivative(POINTS) >= 0)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_spike_forward_is_heaviside_and_backward_is_derivative(estimator):
    x = POINTS.clone().requires_grad_()
    s = spike(x, estimator)
    assert torch.equal(s, (POINTS >= 0).double())
    assert spike(torch.zeros(1, dtype=torch.float64), estimator).item() == 1.0  # H(0) = 1
    upstream = torch.linspace(0.5, 2.0, len(POINTS), dtype=torch.float64)
    s.backward(upstream)
    torch.testing.assert_close(x.grad, upstream * estimator.derivative(POINTS))


def test_hand_values():
    zero = torch.zeros(1, dtype=torch.float64)
    assert FastSigmoid(slope=25).derivative(zero).item() == 1.0
    assert FastSigmoid(slope=25).derivative(torch.tensor([0.04])).item() == pytest.approx(0.25)
    assert ATan(alpha=2).derivative(zero).item() == pytest.approx(1.0)
    assert Sigmoid(alpha=4).derivative(zero).item() == pytest.approx(1.0)
    assert Triangle(width=1, height=1).derivative(torch.tensor([0.5])).item() == pytest.approx(0.5)
    assert StraightThrough(width=1).derivative(torch.tensor([0.49, 0.51])).tolist() == [1.0, 0.0]
    # SLAYER: rho = scaleRho / (tauRho theta) exp(-|u - theta| / (tauRho theta)); theta=10, tauRho=0.1
    pdf = ExponentialPDF.from_slayer(tau_rho=0.1, scale_rho=1.0, theta=10.0)
    assert pdf.derivative(torch.tensor([0.0, 1.0], dtype=torch.float64)).tolist() == pytest.approx([1.0, torch.e**-1])


def test_smooth_uses_primitive_forward():
    est = Smooth(Sigmoid(alpha=2.0))
    x = torch.tensor([-1.0, 0.0, 1.0])
    torch.testing.assert_close(spike(x, est), torch.sigmoid(2 * x))


def test_catalogue_and_errors():
    assert len(set(CATALOGUE.values())) >= 6
    assert make_estimator("atan", alpha=3.0) == ATan(alpha=3.0)
    with pytest.raises(ConfigError, match="unknown estimator 'nope'"):
        make_estimator("nope")
    with pytest.raises(ConfigError, match="unknown"):
        make_estimator("atan", slope=2.0)
    with pytest.raises(ConfigError, match="slope"):
        FastSigmoid(slope=0.0)

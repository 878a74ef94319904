"""SLAYER spike function with refractoriness: oracle A8.3, its gradient, chunking, dead neurons."""

import pytest
import torch

from spikegrad.errors import ShapeError
from spikegrad.functional.psp import psp
from spikegrad.rules.slayer.spike import slayer_spike
from spikegrad.rules.slayer.srm import SRMParameters

PARAMS = SRMParameters(theta=10.0, tau_sr=10.0, tau_ref=1.0, ts=1.0)


@pytest.mark.parametrize(("weight", "times"), [
    (12.0, [6, 11]),
    (11.0, [7]),  # the pool weight 1.1 theta: exactly one spike
    (30.0, [2, 5, 7, 9, 11, 14, 17, 20, 24, 29]),
])
def test_spike_times_oracle(weight, times):
    x = torch.zeros(60, 1)
    x[0] = weight
    spikes = slayer_spike(psp(x, PARAMS.srm_kernel), PARAMS).spikes[:, 0]
    assert spikes.nonzero().flatten().tolist() == times
    assert set(spikes.unique().tolist()) <= {0.0, 1.0}


def test_membrane_is_post_refractory_and_input_untouched():
    u = torch.full((30, 1), 10.0)  # constant at threshold
    before = u.clone()
    out = slayer_spike(u, PARAMS)
    assert torch.equal(u, before)
    nu = PARAMS.refractory_kernel.tensor()
    assert out.spikes[0, 0] == 1 and out.membrane[1, 0].item() == pytest.approx(10.0 + nu[1].item())
    expected = torch.zeros(30)
    for n in out.spikes[:, 0].nonzero().flatten().tolist():
        taps = min(len(nu), 30 - n)
        expected[n : n + taps] += nu[:taps]
    torch.testing.assert_close(out.membrane[:, 0], 10.0 + expected)


def test_gradient_is_ts_times_rho_of_post_refractory_potential():
    params = SRMParameters(theta=10.0, tau_ref=1.0, tau_rho=0.5, scale_rho=0.7, ts=0.5)
    u = (torch.randn(80, 3) * 4 + 9).requires_grad_()
    out = slayer_spike(u, params)
    upstream = torch.randn(80, 3)
    out.spikes.backward(upstream)
    width = params.tau_rho * params.theta
    rho = params.scale_rho / width * torch.exp(-(out.membrane - params.theta).abs() / width)
    torch.testing.assert_close(u.grad, upstream * params.ts * rho)
    assert out.spikes.sum() > 0  # the refractory path is exercised, and ignored by the gradient


def test_dead_neuron_gets_no_gradient():
    u = torch.full((50, 2), -200.0, requires_grad=True)  # u << theta everywhere
    slayer_spike(u, PARAMS).spikes.sum().backward()
    assert u.grad.abs().max() < 1e-9


@pytest.mark.parametrize("cut", [1, 5, 37])
def test_chunked_calls_equal_one_call(cut):
    u = torch.randn(60, 2, 3) * 6 + 8
    whole = slayer_spike(u, PARAMS)
    first = slayer_spike(u[:cut], PARAMS)
    second = slayer_spike(u[cut:], PARAMS, pending=first.pending)
    assert torch.equal(torch.cat([first.spikes, second.spikes]), whole.spikes)
    torch.testing.assert_close(torch.cat([first.membrane, second.membrane]), whole.membrane)


def test_full_refractory_kernel_and_bad_pending():
    params = SRMParameters(theta=10.0, tau_ref=1.0, ts=0.1, full_ref_kernel=True)
    out = slayer_spike(torch.zeros(5, 4), params)
    assert out.pending.shape == (159, 4)
    with pytest.raises(ShapeError, match="pending"):
        slayer_spike(torch.zeros(5, 4), params, pending=torch.zeros(3, 4))


def test_refractory_kernel_of_one_tap():
    params = SRMParameters(tau_ref=0.05, ts=1.0)  # nu[1] is already below 0.01: the kernel is [0]
    assert params.refractory_kernel.length == 1
    out = slayer_spike(torch.full((5, 2), 11.0), params)
    assert out.spikes.sum() == 10 and out.pending.shape == (0, 2)
    assert slayer_spike(torch.full((5, 2), 11.0), params, pending=out.pending).spikes.sum() == 10

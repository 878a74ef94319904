"""The fused Triton SLAYER spike function (threshold scan with refractory response) against the reference."""

from __future__ import annotations

import pytest
import torch

from spikegrad.grad import ATan
from spikegrad.kernels import use_backend
from spikegrad.rules.slayer.spike import slayer_spike
from spikegrad.rules.slayer.srm import SRMParameters

pytestmark = pytest.mark.usefixtures("triton_kernels", "poisoned_memory")

PARAMS = [SRMParameters(theta=1.0, tau_ref=1.0, ts=1.0), SRMParameters(theta=10.0, tau_ref=2.0, ts=0.5)]


def _run(backend, u, params, estimator, pending, g):
    leaf = u.clone().requires_grad_()
    with use_backend(backend):
        out = slayer_spike(leaf, params, estimator, pending)
        (grad,) = torch.autograd.grad((out.spikes * g).sum(), leaf)
    return out, grad


@pytest.mark.parametrize("estimator", [None, ATan()], ids=["slayer-pdf", "atan"])
@pytest.mark.parametrize("params", PARAMS, ids=lambda p: f"theta{p.theta}-ts{p.ts}")
@pytest.mark.parametrize("shape", [(1, 3, 5), (12, 2, 7), (5, 1, 131)], ids=str)
def test_spikes_membrane_pending_and_gradient_match_the_reference(shape, params, estimator):
    u = torch.randn(shape) * params.theta * 1.5
    taps = params.refractory_kernel.length
    pending = torch.randn(taps - 1, *shape[1:]) * params.theta * 0.3
    g = torch.randn(shape)
    ref, ref_grad = _run("reference", u, params, estimator, pending, g)
    ker, ker_grad = _run("triton", u, params, estimator, pending, g)
    assert 0 < ref.spikes.mean() < 1
    assert torch.equal(ker.spikes, ref.spikes)
    torch.testing.assert_close(ker.membrane, ref.membrane, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ker.pending, ref.pending, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ker_grad, ref_grad, rtol=1e-5, atol=1e-6)


def test_chunks_carry_the_refractory_response():
    params = PARAMS[0]
    u = torch.randn(10, 2, 3) * 1.5
    with use_backend("triton"):
        whole = slayer_spike(u, params)
        first = slayer_spike(u[:4], params)
        second = slayer_spike(u[4:], params, pending=first.pending)
    assert torch.equal(torch.cat([first.spikes, second.spikes]), whole.spikes)
    torch.testing.assert_close(torch.cat([first.membrane, second.membrane]), whole.membrane)


def test_the_custom_ops_pass_opcheck():
    from spikegrad.kernels.srm_spike import srm_spike_backward_op, srm_spike_op

    u = (torch.randn(6, 2, 3) * 2).requires_grad_()
    torch.library.opcheck(srm_spike_op, (u, torch.tensor([0.0, -1.0, -0.5]), torch.zeros(2, 2, 3), 1.0, 0.5, 5,
                                         -1.0, 1.0))
    torch.library.opcheck(srm_spike_backward_op, (torch.randn(6, 2, 3), torch.randn(6, 2, 3), 1.0, 0.5, 1, 1.0, 3.1))

"""Acceptance: the original SLAYER's golden 250-25-1 network (oracle A8.8) and the rule's properties (A8.9)."""

from pathlib import Path

import numpy as np
import pytest
import torch

from spikegrad.functional.psp import FilterMethod, fir_filter, psp
from spikegrad.nn import SNNSequential
from spikegrad.rules.slayer.layers import SLAYERBlock, SRMSpec, slayer_dense
from spikegrad.rules.slayer.loss import spike_time_loss
from spikegrad.rules.slayer.plugin import SLAYER
from spikegrad.rules.slayer.spike import slayer_spike
from spikegrad.rules.slayer.srm import SRMParameters

# PROVENANCE.md: the settings that reproduce gradW*Initial
PARAMS = SRMParameters(theta=10.0, tau_sr=1.0, tau_ref=1.0, scale_ref=2.0, tau_rho=0.1, scale_rho=1.0, ts=0.1, full_ref_kernel=True)
STEPS = 500  # int(tSample / Ts)


def _spike_file(path: Path, neurons: int) -> torch.Tensor:
    table = np.loadtxt(path, comments="#").reshape(-1, 2)
    bins, ids = np.rint(table[:, 0] / PARAMS.ts).astype(int), table[:, 1].astype(int) - 1
    spikes = torch.zeros(STEPS, 1, neurons)
    keep = bins < STEPS
    spikes[bins[keep], 0, ids[keep]] = 1.0
    return spikes


def _golden_network(reference: Path, method: FilterMethod) -> SNNSequential:
    net = SNNSequential(
        SLAYERBlock(slayer_dense(250, 25), SLAYER().layer(SRMSpec(PARAMS, method))),
        SLAYERBlock(slayer_dense(25, 1), SLAYER().layer(SRMSpec(PARAMS, method))),
    )
    with torch.no_grad():
        net[0].synapse.weight.copy_(torch.tensor(np.loadtxt(reference / "w1Initial.txt")))
        net[1].synapse.weight.copy_(torch.tensor(np.loadtxt(reference / "w2Initial.txt")).view(1, 25))
    return net


def _relative_error(grad: torch.Tensor, path: Path) -> float:
    reference = np.loadtxt(path).reshape(grad.shape)
    return float(np.linalg.norm(grad.numpy() - reference) / np.linalg.norm(reference))


@pytest.mark.parametrize("method", list(FilterMethod))
def test_golden_weight_gradients(shared_data, method):
    reference = shared_data / "slayer-reference"
    net = _golden_network(reference, method)
    output, _ = net(_spike_file(reference / "spikeIn.txt", 250))
    loss = spike_time_loss(output, _spike_file(reference / "spikeOut.txt", 1), PARAMS, method)
    loss.backward()
    assert loss.item() == pytest.approx(10.990292, rel=1e-5)  # the float64 value in PROVENANCE.md
    assert _relative_error(net[1].synapse.weight.grad, reference / "gradW2Initial.txt") < 1e-4
    assert _relative_error(net[0].synapse.weight.grad, reference / "gradW1Initial.txt") < 1e-4


def test_without_temporal_kernel_the_rule_is_a_per_step_surrogate():
    # Replace eps by a delta: psp becomes the identity and dE/dW = sum_t (dE/ds_t * Ts rho(u_t)) x_t^T.
    torch.manual_seed(0)
    x = (torch.rand(60, 2, 8) < 0.2).float()
    weight = (torch.randn(4, 8) * 8).requires_grad_()
    delta = torch.tensor([1.0])
    out = slayer_spike(fir_filter(x @ weight.t(), delta), PARAMS)
    upstream = torch.randn_like(out.spikes)
    out.spikes.backward(upstream)
    rho = PARAMS.estimator().derivative(out.membrane.detach() - PARAMS.theta)
    expected = torch.einsum("tbo,tbi->oi", upstream * PARAMS.ts * rho, x)
    torch.testing.assert_close(weight.grad, expected)


def test_gradient_reaches_earlier_inputs_through_the_kernel():
    # The error at one output bin is reassigned to every earlier input bin the kernel reaches.
    params = SRMParameters(ts=1.0)
    x = torch.zeros(40, 1, 1, requires_grad=True)
    u = psp(x, params.srm_kernel)
    upstream = torch.zeros(40, 1, 1)
    upstream[30] = 1.0
    u.backward(upstream)
    reached = x.grad[:, 0, 0].nonzero().flatten().tolist()
    assert reached == list(range(0, 30))

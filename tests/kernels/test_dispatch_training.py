"""Dispatch end to end: with the kernels forced on (Triton's interpreter), a whole training step gives the
reference's numbers to float32 rounding, for a shared-neuron network of the ``bptt`` rule (the neuron scan) and
an SRM network of the ``slayer`` rule with learnable delays (the PSP filter, the SRM spike, the axonal delay)."""

from __future__ import annotations

import pytest
import torch

from spikegrad.functional import CUBAParameters, LIFParameters, Reset
from spikegrad.functional.psp import FilterMethod
from spikegrad.kernels import use_backend
from spikegrad.losses.rate import rate_cross_entropy
from spikegrad.nn import AxonalDelay
from spikegrad.nn.sequential import SNNSequential
from spikegrad.nn.spec import NeuronSpec, Role
from spikegrad.nn.synapses import Dense
from spikegrad.rules.registry import rule_type
from spikegrad.rules.slayer.layers import SLAYERBlock, SRMSpec, slayer_dense
from spikegrad.rules.slayer.srm import SRMParameters

pytestmark = pytest.mark.usefixtures("triton_kernels")


def _bptt_network() -> SNNSequential:
    rule = rule_type("bptt")()
    return SNNSequential(
        Dense(11, 23), rule.layer(NeuronSpec(LIFParameters(tau_mem=4.0, reset=Reset.ZERO))),
        Dense(23, 13), rule.layer(NeuronSpec(LIFParameters(tau_mem=6.0, threshold=0.5))),
        Dense(13, 5), rule.layer(NeuronSpec(CUBAParameters(tau_mem=5.0, tau_syn=2.0, threshold=0.5), Role.OUTPUT)),
    )


def _slayer_network() -> SNNSequential:
    rule, params = rule_type("slayer")(), SRMParameters(theta=5.0, tau_sr=3.0, tau_ref=1.0)
    srm = SRMSpec(params, FilterMethod.IIR)
    delays = AxonalDelay((17,), params.ts, init_max=3.0)
    return SNNSequential(SLAYERBlock(slayer_dense(11, 17), rule.layer(srm), delays),
                         SLAYERBlock(slayer_dense(17, 5), rule.layer(srm)))


NETWORKS = {"bptt": (_bptt_network, "spikegrad_neuron_scan"), "slayer-srm": (_slayer_network, "spikegrad_srm_spike")}


def _train_step(name: str, backend: str, x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, SNNSequential, str]:
    torch.manual_seed(3)
    net = NETWORKS[name][0]()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    with use_backend(backend):
        spikes, _ = net(x)
        loss = rate_cross_entropy(spikes, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return loss.detach(), net, type(spikes.grad_fn).__name__


@pytest.mark.parametrize("name", NETWORKS)
def test_a_training_step_matches_the_reference(name):
    x = (torch.rand(12, 6, 11) < 0.3).float()
    labels = torch.randint(0, 5, (6,))
    ref_loss, ref_net, ref_op = _train_step(name, "reference", x, labels)
    ker_loss, ker_net, ker_op = _train_step(name, "triton", x, labels)
    assert "spikegrad" not in ref_op and NETWORKS[name][1] in ker_op  # each ran where it should
    torch.testing.assert_close(ker_loss, ref_loss, rtol=1e-6, atol=1e-6)
    changed = 0
    for (param, ref), (_, ker) in zip(ref_net.named_parameters(), ker_net.named_parameters()):
        torch.testing.assert_close(ker.grad, ref.grad, rtol=1e-4, atol=1e-6, msg=lambda m, p=param: f"{p}.grad: {m}")
        torch.testing.assert_close(ker, ref, rtol=1e-5, atol=1e-6, msg=lambda m, p=param: f"{p}: {m}")
        changed += int(ref.grad.abs().sum() > 0)
    assert changed == len(list(ref_net.parameters()))  # every layer received a gradient: the test has teeth

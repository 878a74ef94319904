"""Dispatch end to end: with the kernels forced on (Triton's interpreter), a whole training step of a shared-
neuron network built by the ``bptt`` rule gives the reference's numbers to float32 rounding."""

from __future__ import annotations

import pytest
import torch

from spikegrad.functional import CUBAParameters, LIFParameters, Reset
from spikegrad.kernels import use_backend
from spikegrad.losses.rate import rate_cross_entropy
from spikegrad.nn.sequential import SNNSequential
from spikegrad.nn.spec import NeuronSpec, Role
from spikegrad.nn.synapses import Dense
from spikegrad.rules.registry import rule_type

pytestmark = pytest.mark.usefixtures("triton_kernels")


def _network(seed: int) -> SNNSequential:
    torch.manual_seed(seed)
    rule = rule_type("bptt")()
    return SNNSequential(
        Dense(11, 23), rule.layer(NeuronSpec(LIFParameters(tau_mem=4.0, reset=Reset.ZERO))),
        Dense(23, 13), rule.layer(NeuronSpec(LIFParameters(tau_mem=6.0, threshold=0.5))),
        Dense(13, 5), rule.layer(NeuronSpec(CUBAParameters(tau_mem=5.0, tau_syn=2.0, threshold=0.5), Role.OUTPUT)),
    )


def _train_step(backend: str, x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, SNNSequential, str]:
    net = _network(seed=3)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    with use_backend(backend):
        spikes, _ = net(x)
        loss = rate_cross_entropy(spikes, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return loss.detach(), net, type(spikes.grad_fn).__name__


def test_a_training_step_matches_the_reference():
    x = (torch.rand(8, 6, 11) < 0.3).float()
    labels = torch.randint(0, 5, (6,))
    ref_loss, ref_net, ref_op = _train_step("reference", x, labels)
    ker_loss, ker_net, ker_op = _train_step("triton", x, labels)
    assert ref_op == "_NeuronScanBackward" and "spikegrad_neuron_scan" in ker_op  # each ran where it should
    torch.testing.assert_close(ker_loss, ref_loss, rtol=1e-6, atol=1e-6)
    changed = 0
    for (name, ref), (_, ker) in zip(ref_net.named_parameters(), ker_net.named_parameters()):
        torch.testing.assert_close(ker.grad, ref.grad, rtol=1e-4, atol=1e-6, msg=lambda m: f"{name}.grad: {m}")
        torch.testing.assert_close(ker, ref, rtol=1e-5, atol=1e-6, msg=lambda m: f"{name}: {m}")
        changed += int(ref.grad.abs().sum() > 0)
    assert changed == len(list(ref_net.parameters()))  # every layer received a gradient: the test has teeth

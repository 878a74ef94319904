"""Dispatch end to end: with the kernels forced on (Triton's interpreter), a whole training step gives the
reference's numbers to float32 rounding, for a shared-neuron network of the ``bptt`` rule (the neuron scan),
an SRM network of the ``slayer`` rule with learnable delays (the PSP filter, the SRM spike, the axonal delay)
Lee's LeNet with either gradient path (Lee's scan, spiking pooling included), an NA network in the faithful
(layer rescaling) and paper (exact output difference) modes (the neighbour re-simulation) and a Dense + LIF
network with event-driven synapses (the event synapse's gather and weight gradient)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import NamedTuple

import pytest
import torch
from torch import nn

from spikegrad.functional import CUBAParameters, LIFParameters, Reset
from spikegrad.functional.psp import FilterMethod
from spikegrad.kernels import use_backend
from spikegrad.losses.rate import rate_cross_entropy
from spikegrad.nn import AxonalDelay
from spikegrad.nn.sequential import SNNSequential
from spikegrad.nn.spec import NeuronSpec, Role
from spikegrad.nn.synapses import Dense
from spikegrad.rules.lee.layers import LeeLayerConfig
from spikegrad.rules.lee.loss import lee_mse_loss
from spikegrad.rules.lee.nets import lee_lenet
from spikegrad.rules.na import Faithful, NAParameters, Paper
from spikegrad.rules.na.loss import trace_loss
from spikegrad.rules.na.modes import NARule
from spikegrad.rules.na.nets import build_na_net
from spikegrad.rules.na.plugin import NA
from spikegrad.rules.registry import rule_type
from spikegrad.rules.slayer.layers import SLAYERBlock, SRMSpec, slayer_dense
from spikegrad.rules.slayer.srm import SRMParameters

pytestmark = pytest.mark.usefixtures("triton_kernels")
NA_PARAMS = NAParameters(tau_m=5.0, tau_s=2.0)


def _bptt_network() -> SNNSequential:
    rule = rule_type("bptt")()
    return SNNSequential(
        Dense(11, 23), rule.layer(NeuronSpec(LIFParameters(tau_mem=4.0, reset=Reset.ZERO))),
        Dense(23, 13), rule.layer(NeuronSpec(LIFParameters(tau_mem=6.0, threshold=0.5))),
        Dense(13, 5), rule.layer(NeuronSpec(CUBAParameters(tau_mem=5.0, tau_syn=2.0, threshold=0.5), Role.OUTPUT)),
    )


def _event_network() -> SNNSequential:
    rule = rule_type("bptt")()
    return SNNSequential(
        Dense(11, 23, synapse_mode="event"), rule.layer(NeuronSpec(LIFParameters(tau_mem=4.0, threshold=0.5))),
        Dense(23, 5, synapse_mode="event"), rule.layer(NeuronSpec(LIFParameters(tau_mem=6.0, threshold=0.5), Role.OUTPUT)),
    )


def _slayer_network() -> SNNSequential:
    rule, params = rule_type("slayer")(), SRMParameters(theta=5.0, tau_sr=3.0, tau_ref=1.0)
    srm = SRMSpec(params, FilterMethod.IIR)
    delays = AxonalDelay((17,), params.ts, init_max=3.0)
    return SNNSequential(SLAYERBlock(slayer_dense(11, 17), rule.layer(srm), delays),
                         SLAYERBlock(slayer_dense(17, 5), rule.layer(srm)))


def _lee_network(gradient: str) -> Callable[[], nn.Module]:
    return lambda: lee_lenet(LeeLayerConfig(gradient=gradient), image_size=8, classes=5)


def _na_network(mode: NARule) -> Callable[[], nn.Module]:
    return lambda: build_na_net("4C3-P2-12-5", (1, 6, 6), NA_PARAMS, NA(mode).layer, conv_scale=3.0, dense_scale=3.0)


def _na_loss(trace: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return trace_loss(trace, labels, NA_PARAMS)


class Case(NamedTuple):
    """A network, the shape of its input ``[T, B, ...]`` (B = 6), its loss and the kernel (op) it must run."""

    build: Callable[[], nn.Module]
    input_shape: tuple[int, ...]
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    op: str


NETWORKS = {
    "bptt": Case(_bptt_network, (12, 6, 11), rate_cross_entropy, "neuron_scan"),
    "event-synapse": Case(_event_network, (12, 6, 11), rate_cross_entropy, "event_linear"),
    "slayer-srm": Case(_slayer_network, (12, 6, 11), rate_cross_entropy, "srm_spike"),
    "lee-code": Case(_lee_network("code"), (12, 6, 1, 8, 8), lee_mse_loss, "lee_scan"),
    "lee-rate": Case(_lee_network("rate"), (12, 6, 1, 8, 8), lee_mse_loss, "lee_scan"),
    "na-faithful": Case(_na_network(Faithful(rescale=True)), (8, 6, 1, 6, 6), _na_loss, "na_neighbours"),
    "na-paper-exact": Case(_na_network(Paper(exact_output=True)), (8, 6, 1, 6, 6), _na_loss, "na_neighbours"),
}


def _count_calls(monkeypatch, op: str) -> list[int]:
    """Record every dispatch to the kernel module of ``op`` (the registry hands out its ``apply``)."""
    module = importlib.import_module(f"spikegrad.kernels.{op}")
    calls, kernel = [], module.apply

    def counted(*args):
        calls.append(1)
        return kernel(*args)

    monkeypatch.setattr(module, "apply", counted)
    return calls


def _train_step(name: str, backend: str, x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, nn.Module]:
    torch.manual_seed(3)
    net = NETWORKS[name].build()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    with use_backend(backend):
        output, _ = net(x)
        loss = NETWORKS[name].loss(output, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return loss.detach(), net


@pytest.mark.parametrize("name", NETWORKS)
def test_a_training_step_matches_the_reference(name, monkeypatch):
    x = (torch.rand(NETWORKS[name].input_shape) < 0.3).float()
    labels = torch.randint(0, 5, (6,))
    calls = _count_calls(monkeypatch, NETWORKS[name].op)
    ref_loss, ref_net = _train_step(name, "reference", x, labels)
    assert not calls  # each ran where it should
    ker_loss, ker_net = _train_step(name, "triton", x, labels)
    assert calls
    torch.testing.assert_close(ker_loss, ref_loss, rtol=1e-6, atol=1e-6)
    changed = 0
    for (param, ref), (_, ker) in zip(ref_net.named_parameters(), ker_net.named_parameters()):
        torch.testing.assert_close(ker.grad, ref.grad, rtol=1e-4, atol=1e-6, msg=lambda m, p=param: f"{p}.grad: {m}")
        torch.testing.assert_close(ker, ref, rtol=1e-5, atol=1e-6, msg=lambda m, p=param: f"{p}: {m}")
        changed += int(ref.grad.abs().sum() > 0)
    assert changed == len(list(ref_net.parameters()))  # every layer received a gradient: the test has teeth

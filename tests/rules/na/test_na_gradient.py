"""The NA backward pass and its BPTT baseline (methods note B4.4, B9): oracles B10.6, B10.7, B10.8, B10.10."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from spikegrad.errors import ConfigError
from spikegrad.functional.neuron import LIFParameters
from spikegrad.functional.spike import spike
from spikegrad.grad import FastSigmoid, Sigmoid
from spikegrad.nn.spec import NeuronSpec, Role
from spikegrad.rules.na import (
    Faithful,
    LayerRescaling,
    LossChange,
    NAParameters,
    Paper,
    Resimulation,
    na_delta,
    na_forward,
    na_lif,
    surrogate_lif,
    synaptic_trace,
)
from spikegrad.rules.na.plugin import NA

P = NAParameters(tau_m=5.0, tau_s=2.0, threshold=1.0)
ORACLE_I = torch.tensor([1.5, 0.3, 0.9], dtype=torch.float64).view(3, 1)
TARGET = torch.tensor([0.5, 0.75, 0.875], dtype=torch.float64).view(3, 1)


def _oracle_grad(rule, *, is_output=False, rescaling=None):
    currents = ORACLE_I.clone().requires_grad_()
    trace, _ = na_lif(currents, P, rule, is_output=is_output, rescaling=rescaling)
    (0.5 * (trace - TARGET).square().sum()).backward()
    return currents.grad.flatten()


def test_b10_6_faithful_code_path():
    torch.testing.assert_close(_oracle_grad(Faithful()), torch.tensor([-0.46875, -0.728863, -0.625], dtype=torch.float64),
                               atol=1e-6, rtol=0)
    # projections e . (a_k - a) = [0.09375, -0.25, 0.125] and weights clamp((1 - u)^-3, +-5) = [-5, 2.915452, -5]
    out = na_forward(ORACLE_I, P)
    weights = Faithful().weight(P.threshold - out.membrane).flatten()
    torch.testing.assert_close(weights, torch.tensor([-5.0, 1 / 0.7**3, -5.0], dtype=torch.float64))


def test_b10_6_faithful_with_the_layer_rescaling():
    rescaling = LayerRescaling()
    grad = _oracle_grad(Faithful(rescale=True), rescaling=rescaling)
    # by hand from the B10.6 oracle: m = mean |delta| = 0.607538, stored rounded to 0.608; the factor is
    # 1.2 ln(0.608 / (m + 1e-5) + 1.02) = 0.844159 (the spec's x0.843834 rounds m's ratio to 1)
    faithful = torch.tensor([-0.46875, -0.728863, -0.625], dtype=torch.float64)
    mean = faithful.abs().mean().item()
    factor = 1.2 * math.log(round(mean, 3) / (mean + 1e-5) + 1.02)
    assert factor == pytest.approx(0.844159, abs=1e-6)
    expected = faithful * factor
    torch.testing.assert_close(grad, expected, atol=1e-6, rtol=0)
    assert rescaling.means == {0: 0.513} and rescaling.output_key == 0


def test_rescaling_uses_the_output_layer_mean_for_later_layers():
    rescaling = LayerRescaling()
    output = rescaling(torch.full((4,), 0.2), key=3)  # the first layer seen is the output layer
    hidden = rescaling(torch.full((4,), 0.05), key=1)
    factor_out = 1.2 * torch.log(torch.tensor(0.2 / (0.2 + 1e-5) + 1.02))
    torch.testing.assert_close(output, torch.full((4,), 0.2) * factor_out)
    stored = round(0.2 * factor_out.item(), 3)
    torch.testing.assert_close(hidden, torch.full((4,), 0.05) * 1.2 * torch.log(torch.tensor(stored / (0.05 + 1e-5) + 1.02)))
    assert rescaling.output_key == 3 and set(rescaling.means) == {1, 3}


def test_b10_7_paper_form_variants():
    torch.testing.assert_close(_oracle_grad(Paper(exact_output=True), is_output=True),
                               torch.tensor([-0.390625, -0.044643, -1.785714], dtype=torch.float64), atol=1e-6, rtol=0)
    torch.testing.assert_close(_oracle_grad(Paper(LossChange.FIRST_ORDER)),
                               torch.tensor([0.0625, -0.267857, -0.892857], dtype=torch.float64), atol=1e-6, rtol=0)
    torch.testing.assert_close(_oracle_grad(Paper(LossChange.ACCUMULATED)),
                               torch.tensor([-0.1875, -0.357143, -0.892857], dtype=torch.float64), atol=1e-6, rtol=0)
    torch.testing.assert_close(_oracle_grad(Paper(LossChange.EXACT), is_output=True), _oracle_grad(Paper(exact_output=True), is_output=True))


def test_exact_difference_equals_the_loss_of_each_neighbour_on_random_data():
    currents = torch.randn(8, 300, dtype=torch.float64) * 0.8 + 0.4
    target = torch.rand(8, 300, dtype=torch.float64)
    out = na_forward(currents, P)
    grad = out.trace - target
    delta = na_delta(grad, currents, out.membrane, out.spikes, P, Paper(exact_output=True), is_output=True)
    loss = 0.5 * (out.trace - target).square().sum(0)
    gap = P.threshold - out.membrane
    for k in (0, 3, 7):
        kicked = currents.clone()
        kicked[k] += gap[k] + torch.where(out.spikes[k] > 0, -1e-9, 1e-9)
        change = 0.5 * (na_forward(kicked, P).trace - target).square().sum(0) - loss
        torch.testing.assert_close(delta[k], change / gap[k].abs().clamp(min=1e-3).copysign(gap[k]), atol=1e-6, rtol=1e-6)


def test_b10_8_weight_gradient_identity():
    torch.manual_seed(0)
    inputs = torch.rand(6, 4, 7, dtype=torch.float64)  # [T, B, in]: presynaptic traces
    weight = (torch.randn(5, 7, dtype=torch.float64) * 0.6).requires_grad_()
    currents = F.linear(inputs, weight)
    currents.retain_grad()
    trace, _ = na_lif(currents, P, Faithful())
    (0.5 * (trace - 0.4).square().sum()).backward()
    delta = currents.grad  # what the NA function returned for its input
    torch.testing.assert_close(weight.grad, torch.einsum("tbo,tbi->oi", delta, inputs))
    out = na_forward(currents.detach(), P)
    torch.testing.assert_close(delta, na_delta(out.trace - 0.4, currents.detach(), out.membrane, out.spikes, P, Faithful()))


def test_b10_10_sanity():
    currents = torch.randn(5, 50, dtype=torch.float64) + 0.5
    out = na_forward(currents, P)
    for rule in (Faithful(), Paper(), Paper(LossChange.FIRST_ORDER)):
        assert na_delta(torch.zeros_like(currents), currents, out.membrane, out.spikes, P, rule).abs().max() == 0
    far = torch.tensor([3.0], dtype=torch.float64)
    assert Faithful().weight(far.clone()).item() == pytest.approx(1 / 27)
    assert Paper().weight(far.clone()).item() == pytest.approx(1 / 3)
    assert Faithful().weight(torch.zeros(1)).item() == 5.0  # at threshold: the clamp
    assert Paper(min_distance=0.01).weight(torch.zeros(1)).item() == pytest.approx(100.0)


def test_exact_loss_change_is_refused_on_a_hidden_layer():
    with pytest.raises(ConfigError, match="output layer"):
        na_lif(torch.zeros(3, 2), P, Paper(LossChange.EXACT))
    with pytest.raises(ConfigError, match="LayerRescaling"):
        na_lif(torch.zeros(3, 2), P, Faithful(rescale=True))
    with pytest.raises(ConfigError, match="loss_change"):
        Paper("second-order")


@pytest.mark.parametrize("rule", [Faithful(), Paper(LossChange.FIRST_ORDER), Paper(exact_output=True)])
def test_dense_and_settled_backward_agree(rule):
    currents = torch.randn(15, 2, 40, dtype=torch.float64) * 0.8 + 0.45
    grads = []
    for method in (Resimulation.DENSE, Resimulation.SETTLED):
        x = currents.clone().requires_grad_()
        trace, _ = na_lif(x, P, rule, is_output=True, resimulation=method)
        (0.5 * (trace - 0.6).square().sum()).backward()
        grads.append(x.grad)
    torch.testing.assert_close(grads[0], grads[1])


def _autograd_reference(currents, estimator, detach_reset=False):
    v = torch.zeros_like(currents[0])
    a = torch.zeros_like(currents[0])
    traces = []
    for current in currents.unbind(0):
        u = P.mem_decay * v + current
        s = spike(u - P.threshold, estimator)
        v = u * (1 - (s.detach() if detach_reset else s))
        a = a + (s - a) / P.tau_s
        traces.append(a)
    return torch.stack(traces)


@pytest.mark.parametrize("estimator", [Sigmoid(5.0), FastSigmoid(10.0)])
@pytest.mark.parametrize("detach_reset", [False, True])
def test_surrogate_bptt_equals_autograd_through_the_recursion(estimator, detach_reset):
    currents = (torch.randn(9, 3, 6, dtype=torch.float64) * 0.8 + 0.45).requires_grad_()
    target = torch.rand(9, 3, 6, dtype=torch.float64)
    trace, _ = surrogate_lif(currents, P, estimator, detach_reset=detach_reset)
    (0.5 * (trace - target).square().sum()).backward()
    reference = currents.detach().clone().requires_grad_()
    ref_trace = _autograd_reference(reference, estimator, detach_reset)
    (0.5 * (ref_trace - target).square().sum()).backward()
    torch.testing.assert_close(trace, ref_trace)
    torch.testing.assert_close(currents.grad, reference.grad)


def test_na_and_surrogate_share_the_forward_pass():
    currents = torch.randn(7, 4, 5) + 0.4
    na_trace, na_state = na_lif(currents, P, Faithful())
    sg_trace, sg_state = surrogate_lif(currents, P, Sigmoid())
    torch.testing.assert_close(na_trace, sg_trace)
    torch.testing.assert_close(na_trace, synaptic_trace(na_forward(currents, P).spikes, P))
    torch.testing.assert_close(na_state.v, sg_state.v)


def test_brute_force_loss_changes_through_the_na_rule_object():
    """The rule object realises an output slot as NA's output neuron whose backward is the brute-force oracle:
    the loss change of each time step's neighbour (its current kicked across the threshold), per unit of
    membrane distance."""
    slot = NeuronSpec(LIFParameters.from_beta(1 - 1 / P.tau_m, threshold=P.threshold), Role.OUTPUT,
                      trace_tau=P.tau_s)
    layer = NA(mode=Paper(exact_output=True)).layer(slot)
    assert layer.is_output and layer.params.tau_m == pytest.approx(P.tau_m, rel=1e-12)
    assert (layer.params.tau_s, layer.params.threshold) == (P.tau_s, P.threshold)
    currents = (torch.randn(8, 300, dtype=torch.float64) * 0.8 + 0.4).requires_grad_()
    target = torch.rand(8, 300, dtype=torch.float64)
    trace, _ = layer(currents)
    (0.5 * (trace - target).square().sum()).backward()
    out = na_forward(currents.detach(), P)
    loss = 0.5 * (out.trace - target).square().sum(0)
    gap = P.threshold - out.membrane
    for k in (0, 3, 7):
        kicked = currents.detach().clone()
        kicked[k] += gap[k] + torch.where(out.spikes[k] > 0, -1e-9, 1e-9)
        change = 0.5 * (na_forward(kicked, P).trace - target).square().sum(0) - loss
        torch.testing.assert_close(currents.grad[k], change / gap[k].abs().clamp(min=1e-3).copysign(gap[k]),
                                   atol=1e-6, rtol=1e-6)

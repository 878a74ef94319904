"""The TSSL-BP / NA neuron (methods note B2) and the trace loss (B3): oracles B10.1, B10.2."""

from __future__ import annotations

import pytest
import torch

from spikegrad.errors import ConfigError, ShapeError
from spikegrad.rules.na import NAParameters, NAState, na_forward, synaptic_trace
from spikegrad.rules.na.loss import count_loss, desired_trace, trace_loss

P = NAParameters(tau_m=5.0, tau_s=2.0, threshold=1.0)
ORACLE_I = torch.tensor([1.5, 0.3, 0.9], dtype=torch.float64).view(3, 1, 1)


def test_b10_1_forward_oracle():
    out = na_forward(ORACLE_I, P)
    torch.testing.assert_close(out.membrane.flatten(), torch.tensor([1.5, 0.3, 1.14], dtype=torch.float64))
    torch.testing.assert_close(out.spikes.flatten(), torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64))
    torch.testing.assert_close(out.trace.flatten(), torch.tensor([0.5, 0.25, 0.625], dtype=torch.float64))
    assert out.state.v.item() == 0.0 and out.state.a.item() == 0.625


def test_b10_2_target_trace_and_loss():
    five = desired_trace(torch.tensor([0]), 1, 5, P, dtype=torch.float64).flatten()
    torch.testing.assert_close(five, torch.tensor([0.5, 0.75, 0.875, 0.9375, 0.96875], dtype=torch.float64))
    trace = na_forward(ORACLE_I, P).trace  # [3, 1, 1]: one sample, one class
    trace = trace.clone().requires_grad_()
    loss = trace_loss(trace, torch.tensor([0]), P)
    assert loss.item() == pytest.approx(0.15625)
    loss.backward()
    torch.testing.assert_close(trace.grad.flatten(), torch.tensor([0.0, -0.5, -0.25], dtype=torch.float64))  # g


def test_decays_strict_threshold_and_reset():
    assert P.mem_decay == 0.8 and P.syn_decay == 0.5
    at_threshold = na_forward(torch.tensor([[1.0], [0.0]]), P)
    assert at_threshold.spikes.sum() == 0  # fires on a strict u > theta
    assert at_threshold.membrane[1].item() == pytest.approx(0.8)  # no reset without a spike


def test_chunked_scan_equals_whole_scan():
    x = torch.randn(9, 3, 4, dtype=torch.float64) + 0.5
    whole = na_forward(x, P)
    first = na_forward(x[:4], P)
    second = na_forward(x[4:], P, first.state)
    for name in ("trace", "spikes", "membrane"):
        torch.testing.assert_close(torch.cat([getattr(first, name), getattr(second, name)]), getattr(whole, name))


def test_synaptic_trace_of_constant_input_is_the_ramp():
    x = torch.full((4, 2), 3.0, dtype=torch.float64)
    expected = torch.tensor([3 * (1 - 0.5**t) for t in range(1, 5)], dtype=torch.float64)
    torch.testing.assert_close(synaptic_trace(x, P)[:, 0], expected)


def test_bad_parameters_and_shapes_are_refused():
    with pytest.raises(ConfigError, match="tau_m"):
        NAParameters(tau_m=0.5)
    with pytest.raises(ConfigError, match="threshold"):
        NAParameters(threshold=0.0)
    with pytest.raises(ShapeError):
        na_forward(torch.zeros(5), P)
    with pytest.raises(ShapeError, match="state.v"):
        na_forward(torch.zeros(5, 2, 3), P, NAState(torch.zeros(2), torch.zeros(2, 3)))
    with pytest.raises(ConfigError, match="reduction"):
        trace_loss(torch.zeros(5, 2, 3), torch.tensor([0, 1]), P, reduction="avg")


def test_count_loss_is_one_sided():
    trace = torch.zeros(10, 2, 3)
    trace[:, 0, 0] = 2.0  # sample 0: label neuron far above the desired count -> no penalty
    trace[:, 1, 2] = 1.0  # sample 1: a wrong neuron above the undesired count -> penalised
    labels = torch.tensor([0, 1])
    loss = count_loss(trace.requires_grad_(), labels, desired=15.0, undesired=3.0)
    # sample 1: label neuron count 0 < 15 -> delta -1.5; neuron 2 count 10 > 3 -> delta 0.7
    assert loss.item() == pytest.approx(0.5 * 10 * (1.5**2 + 0.7**2))
    loss.backward()
    assert trace.grad[:, 0].abs().sum() == 0
    torch.testing.assert_close(trace.grad[0, 1], torch.tensor([0.0, -1.5, 0.7]))

"""Modules: shapes, state threading, fixed dropout mask, layouts, errors."""

from __future__ import annotations

import pytest
import torch

from spikegrad.errors import ConfigError, ShapeError
from spikegrad.functional import CUBAParameters, LIFParameters, neuron_scan
from spikegrad.grad import ATan
from spikegrad.nn import (
    CUBA,
    IF,
    LIF,
    AvgPool2d,
    Conv2d,
    Dense,
    Flatten,
    Layout,
    LayoutAdapter,
    LeakyIntegrator,
    SNNSequential,
    SpikingNeuron,
    SumPool2d,
    TimeFixedDropout,
)


def _conv_net():
    return SNNSequential(
        Conv2d(2, 4, 3, padding=1), LIF(tau_mem=5.0, threshold=0.5), SumPool2d(2),
        Flatten(), TimeFixedDropout(0.3), Dense(4 * 4 * 4, 10), CUBA(), Dense(10, 3), LeakyIntegrator(tau_mem=10.0),
    )


def test_conv_net_shapes_and_states():
    net = _conv_net()
    y, states = net(torch.rand(6, 5, 2, 8, 8))
    assert y.shape == (6, 5, 3)
    assert len(states) == len(net)
    assert states[0] is None and states[1].v.shape == (5, 4, 8, 8) and states[6].i.shape == (5, 10)


def test_sequential_chunking_equals_whole_sequence():
    net = _conv_net().eval()
    x = (torch.rand(10, 2, 2, 8, 8) < 0.4).float()
    whole, _ = net(x)
    first, states = net(x[:4])
    second, _ = net(x[4:], states)
    torch.testing.assert_close(torch.cat([first, second]), whole)


def test_neuron_module_matches_functional():
    x = torch.randn(7, 3, 5)
    spikes, state = LIF(tau_mem=4.0, estimator=ATan())(x)
    ref = neuron_scan(x, LIFParameters(tau_mem=4.0), ATan())
    assert torch.equal(spikes, ref.spikes) and torch.equal(state.v, ref.state.v)
    assert isinstance(CUBA().params, CUBAParameters)
    assert IF().params.mem_decay == 1.0
    assert "tau_mem=4.0" in repr(LIF(tau_mem=4.0))


def test_generic_neuron_takes_any_parameters():
    neuron = SpikingNeuron(CUBAParameters(tau_syn=2.0))
    spikes, state = neuron(torch.ones(3, 2, 4) * 2)
    assert spikes.shape == (3, 2, 4) and state.i is not None


def test_dropout_mask_is_fixed_over_time():
    drop = TimeFixedDropout(0.5).train()
    y = drop(torch.ones(20, 4, 50))
    dropped = y[0] == 0
    assert 0 < dropped.float().mean() < 1
    assert torch.equal(y == 0, dropped.expand_as(y))  # same units silent at every step
    torch.testing.assert_close(y[y != 0], torch.full_like(y[y != 0], 2.0))
    assert torch.equal(drop.eval()(torch.ones(3, 2, 5)), torch.ones(3, 2, 5))
    with pytest.raises(ConfigError):
        TimeFixedDropout(1.0)


def test_pooling_values():
    x = torch.arange(16.0).view(1, 1, 1, 4, 4)
    assert SumPool2d(2)(x).flatten().tolist() == [10.0, 18.0, 42.0, 50.0]
    assert AvgPool2d(2)(x).flatten().tolist() == [2.5, 4.5, 10.5, 12.5]
    assert SumPool2d(2, scale=1.1)(x).flatten()[0].item() == pytest.approx(11.0)


def test_leaky_integrator_values():
    trace, last = LeakyIntegrator(tau_mem=float("inf"))(torch.ones(4, 1, 1))
    assert trace.flatten().tolist() == [1.0, 2.0, 3.0, 4.0] and last.item() == 4.0


def test_layout_adapters():
    net = SNNSequential(Dense(5, 3), LIF())
    x_tf = torch.rand(6, 2, 5)
    ref, _ = net(x_tf)
    y_bf, _ = LayoutAdapter(net, Layout.BATCH_FIRST)(x_tf.transpose(0, 1))
    assert torch.equal(y_bf.transpose(0, 1), ref)
    y_tl, _ = LayoutAdapter(net, Layout.TIME_LAST)(x_tf.permute(1, 2, 0))  # SLAYER [B, C, T]
    assert torch.equal(y_tl.permute(2, 0, 1), ref)


def test_shape_errors_name_the_layer():
    with pytest.raises(ShapeError, match=r"Dense input: expected shape \[T, B, 5\]"):
        Dense(5, 3)(torch.rand(2, 2, 4))
    with pytest.raises(ShapeError, match="Conv2d input"):
        Conv2d(2, 4, 3)(torch.rand(2, 2, 3, 8, 8))
    with pytest.raises(ShapeError, match="LIF input"):
        LIF()(torch.rand(4))
    with pytest.raises(ShapeError, match="states"):
        SNNSequential(Dense(5, 3), LIF())(torch.rand(2, 2, 5), [None])


def test_training_step_reduces_loss():
    torch.manual_seed(1)
    net = SNNSequential(Dense(10, 20), LIF(tau_mem=5.0, threshold=0.5), Dense(20, 2), LeakyIntegrator(tau_mem=10.0))
    x = (torch.rand(15, 8, 10) < 0.3).float()
    target = torch.randn(15, 8, 2)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        out, _ = net(x)
        loss = ((out - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]

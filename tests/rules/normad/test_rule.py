"""Oracles B5.3 (normalization, sign) and B5.7 (reduction to single-layer NormAD)."""

import pytest
import torch

from spikegrad.errors import ConfigError, ShapeError
from spikegrad.rules.normad.kernel import membrane_response
from spikegrad.rules.normad.network import NormADNetwork
from spikegrad.rules.normad.rule import NormAD, NormADParameters, normad_direction

STEPS = 400  # 40 ms at 0.1 ms


def _inputs(n=6, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(STEPS, 1, n, generator=generator, dtype=torch.float64) < 0.01).to(torch.float64)


def _single(weights):
    net = NormADNetwork([len(weights), 1])
    with torch.no_grad():
        net.weights[0].copy_(torch.tensor([weights], dtype=torch.float64))
    return net


def _dhat(net, record, tau_ms=1.0):
    return membrane_response(record.layers[0].input_traces, net.kernel, tau_ms, 300.0, net.dt_ms)[:, 0, :]


def test_b5_3_one_missed_spike_moves_the_weights_by_r_along_dhat():
    net = _single([0.0] * 6)  # silent
    inputs = _inputs()
    desired = torch.zeros(STEPS, 1, 1, dtype=torch.float64)
    desired[300] = 1.0
    record = net(inputs)
    NormAD(net).accumulate(record, desired)
    dhat = _dhat(net, record)[300]
    assert dhat.norm() > 0
    torch.testing.assert_close(net.weights[0].grad[0], -dhat / dhat.norm(), rtol=1e-12, atol=0)
    before = net.weights[0].detach().clone()
    torch.optim.SGD(net.parameters(), lr=250.0).step()
    step = net.weights[0].detach() - before
    assert step.norm().item() == pytest.approx(250.0, rel=1e-12)
    assert (step[0] @ dhat).item() > 0


def test_b5_3_a_spurious_spike_pushes_the_other_way():
    net = _single([20000.0] + [0.0] * 5)
    inputs = torch.zeros(STEPS, 1, 6, dtype=torch.float64)
    inputs[50, 0, 0] = 1.0  # one strong input spike: exactly one output spike
    record = net(inputs)
    (spike_step,) = record.output[:, 0, 0].nonzero().flatten().tolist()
    NormAD(net).accumulate(record, torch.zeros_like(record.output))
    direction = -net.weights[0].grad[0]
    assert direction.norm().item() == pytest.approx(1.0, rel=1e-12)
    assert (direction @ _dhat(net, record)[spike_step]).item() < 0


def test_b5_3_matching_output_gives_zero_update():
    net = _single([30000.0] * 6)
    record = net(_inputs())
    assert record.output.sum() > 0
    NormAD(net).accumulate(record, record.output.clone())
    assert torch.equal(net.weights[0].grad, torch.zeros_like(net.weights[0]))


def test_normad_direction_by_hand():
    dhat = torch.tensor([[[3.0, 4.0]], [[0.0, 0.0]], [[1.0, 0.0]]], dtype=torch.float64)  # [T=3, B=1, J=2]
    error = torch.tensor([[[1.0]], [[-1.0]], [[-1.0]]], dtype=torch.float64)  # the zero-dhat instant is skipped
    assert normad_direction(error, dhat).tolist() == [[0.6 - 1.0, 0.8]]


def test_accumulate_adds_to_existing_gradients():
    net = _single([0.0] * 6)
    inputs, desired = _inputs(), torch.zeros(STEPS, 1, 1, dtype=torch.float64)
    desired[300] = 1.0
    rule = NormAD(net)
    rule.accumulate(net(inputs), desired)
    once = net.weights[0].grad.clone()
    rule.accumulate(net(inputs), desired)
    torch.testing.assert_close(net.weights[0].grad, 2 * once)


def test_b5_7_frozen_hidden_layer_reproduces_single_layer_normad_bit_for_bit():
    generator = torch.Generator().manual_seed(3)
    inputs = (torch.rand(600, 2, 20, generator=generator, dtype=torch.float64) < 0.02).to(torch.float64)
    desired = torch.zeros(600, 2, 2, dtype=torch.float64)
    desired[[200, 350, 500], :, 0] = 1.0
    desired[[260, 420], :, 1] = 1.0
    deep = NormADNetwork([20, 8, 2])
    with torch.no_grad():
        deep.weights[0].normal_(3000.0, 3000.0, generator=generator)
        deep.weights[1].normal_(3000.0, 3000.0, generator=generator)
    hidden_spikes = deep(inputs).layers[0].spikes
    assert hidden_spikes.sum() > 20
    shallow = NormADNetwork([8, 2])
    with torch.no_grad():
        shallow.weights[0].copy_(deep.weights[1])
    initial = shallow.weights[0].detach().clone()
    deep_rule, shallow_rule = NormAD(deep), NormAD(shallow, NormADParameters(hidden=None))
    deep_opt = torch.optim.SGD([{"params": [deep.weights[0]], "lr": 0.0}, {"params": [deep.weights[1]], "lr": 400.0}])
    shallow_opt = torch.optim.SGD(shallow.parameters(), lr=400.0)
    for _ in range(5):
        for net, rule, opt, x in ((deep, deep_rule, deep_opt, inputs), (shallow, shallow_rule, shallow_opt, hidden_spikes)):
            opt.zero_grad()
            record = net(x)
            rule.accumulate(record, desired)
            opt.step()
        assert torch.equal(deep.weights[1], shallow.weights[0])
    assert not torch.equal(shallow.weights[0], initial)  # it did learn
    assert deep.weights[0].grad.abs().sum() > 0  # the hidden direction was computed, and frozen by lr = 0


def test_rejects_bad_options_and_shapes():
    with pytest.raises(ConfigError, match="tau_prime_ms"):
        NormADParameters(tau_prime_ms=0.0)
    net = _single([0.0] * 6)
    with pytest.raises(ShapeError, match="desired"):
        NormAD(net).accumulate(net(_inputs()), torch.zeros(STEPS, 1, 2))

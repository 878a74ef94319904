"""Spiking layers with their own trainable decay, threshold and recurrent weights; ALIF; membrane recording."""

from __future__ import annotations

import pytest
import torch

from spikegrad.errors import ConfigError
from spikegrad.functional import ALIFParameters, IFParameters, LIFParameters, neuron_scan
from spikegrad.grad import ATan
from spikegrad.nn import ALIF, Dense, Granularity, OwnParameters, OwnWeights, SNNSequential, SpikingNeuron, recording

N = 6


def _layer(params=LIFParameters(tau_mem=5.0), **own) -> SpikingNeuron:
    return SpikingNeuron(params, ATan(), OwnWeights(OwnParameters(N, **own), params))


@pytest.mark.parametrize("granularity", list(Granularity))
def test_fresh_trainable_layer_starts_at_the_constants(granularity):
    params = LIFParameters(tau_mem=5.0, threshold=0.8)
    layer = _layer(params, decay=granularity, threshold=granularity, recurrent=True)
    weights = layer.own()
    shape = () if granularity is Granularity.LAYER else (N,)
    assert weights.decay.shape == weights.threshold.shape == shape
    torch.testing.assert_close(weights.decay, torch.full(shape, params.mem_decay))
    torch.testing.assert_close(weights.threshold, torch.full(shape, 0.8))
    assert torch.equal(weights.recurrent, torch.zeros(N, N))
    x = torch.randn(20, 3, N, generator=torch.Generator().manual_seed(0)) + 0.5
    spikes, _ = layer(x)
    assert torch.equal(spikes, neuron_scan(x, params, ATan()).spikes)


def test_transforms_keep_values_in_range_and_gradients_reach_the_raw_parameters():
    layer = _layer(decay=Granularity.NEURON, threshold=Granularity.NEURON, recurrent=True)
    with torch.no_grad():
        layer.own.raw_decay.copy_(torch.linspace(-30.0, 30.0, N))
        layer.own.raw_threshold.copy_(torch.linspace(-30.0, 30.0, N))
    weights = layer.own()
    assert ((weights.decay >= 0) & (weights.decay <= 1)).all() and (weights.threshold > 0).all()
    torch.manual_seed(0)
    spikes, state = layer(torch.randn(15, 4, N) * 2 + 1)
    (spikes.sum() + state.v.sum()).backward()
    for name, p in layer.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def test_a_training_step_moves_the_neurons_own_parameters():
    torch.manual_seed(0)
    net = SNNSequential(Dense(5, N), _layer(decay=Granularity.LAYER, threshold=Granularity.NEURON, recurrent=True))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    spikes, _ = net(torch.rand(10, 8, 5) * 2)
    (spikes.mean() - 0.3).pow(2).backward()
    opt.step()
    for key in ("1.own.raw_decay", "1.own.raw_threshold", "1.own.recurrent"):
        assert not torch.equal(net.state_dict()[key], before[key]), key


def test_chunked_recurrent_adaptive_network_equals_whole():
    torch.manual_seed(0)
    params = ALIFParameters(tau_mem=5.0, tau_adapt=20.0, adapt_strength=0.2)
    layer = _layer(params, decay=Granularity.NEURON, threshold=Granularity.LAYER, recurrent=True)
    with torch.no_grad():
        layer.own.recurrent.normal_(0, 0.5)
    net = SNNSequential(Dense(5, N), layer)
    x = torch.rand(16, 3, 5) * 2
    whole, _ = net(x)
    first, states = net(x[:7])
    second, _ = net(x[7:], states)
    assert torch.equal(torch.cat([first, second]), whole) and whole.sum() > 0


def test_alif_module_and_kind():
    layer = ALIF(tau_mem=5.0, tau_adapt=50.0, adapt_strength=0.3)
    assert layer.params.adaptation.strength == 0.3 and layer.family == "ALIF"
    spikes, state = layer(torch.rand(10, 2, 3) * 2)
    assert state.a.shape == (2, 3) and spikes.shape == (10, 2, 3)
    assert "recurrent weights" in _layer(recurrent=True).kind


def test_recording_keeps_the_membrane_of_every_layer():
    torch.manual_seed(0)
    net = SNNSequential(Dense(5, N), _layer(recurrent=True), Dense(N, 3), ALIF())
    x = torch.rand(9, 2, 5) * 2
    with recording(net) as layers:
        net(x)
        membranes = [layer.recorded_membrane for _, layer in layers]
    assert [m.shape for m in membranes] == [(9, 2, N), (9, 2, 3)]
    assert net[1].recorded_membrane is None  # released after the block


def test_invalid_own_parameters_raise_config_errors_naming_the_option():
    with pytest.raises(ConfigError, match="learn_decay"):
        OwnWeights(OwnParameters(N, decay=Granularity.LAYER), IFParameters())
    with pytest.raises(ConfigError, match="learn_threshold"):
        OwnParameters(N, threshold="channel")
    with pytest.raises(ConfigError, match="size"):
        OwnParameters(0, recurrent=True)
    assert OwnParameters(N, decay="neuron").decay is Granularity.NEURON

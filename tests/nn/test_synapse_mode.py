"""Dense synapses in each synapse mode: same numbers, the path ``auto`` picks, the run option."""

from __future__ import annotations

import pytest
import torch

from spikegrad.errors import ConfigError
from spikegrad.functional import LIFParameters
from spikegrad.grad.surrogates import FastSigmoid
from spikegrad.nn import Dense, SNNSequential, SpikingNeuron
from spikegrad.nn import synapse_mode as modes
from spikegrad.nn.synapse_mode import SynapseMode, event_path_share, sampled_density, set_synapse_mode, use_event_path


def sparse_input(density, shape=(20, 6, 40), seed=0):
    gen = torch.Generator().manual_seed(seed)
    return (torch.rand(shape, generator=gen) < density).float()


def network(mode):
    torch.manual_seed(0)
    params = LIFParameters.from_beta(0.9, threshold=0.5)
    return SNNSequential(Dense(40, 30, synapse_mode=mode), SpikingNeuron(params, FastSigmoid(10.0)),
                         Dense(30, 5, synapse_mode=mode))


@pytest.mark.parametrize("mode", ["event", "auto"])
def test_a_network_gives_the_dense_numbers_in_every_mode(mode):
    x = sparse_input(0.05)
    results = []
    for m in ("dense", mode):
        net = network(m)
        out, _ = net(x)
        out.square().sum().backward()
        results.append((out.detach(), [p.grad for p in net.parameters()]))
    torch.testing.assert_close(results[1][0], results[0][0], rtol=1e-5, atol=1e-5)
    for got, want in zip(results[1][1], results[0][1]):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_auto_takes_the_event_path_only_for_sparse_float_cpu_inputs_outside_autocast():
    sparse, dense = sparse_input(0.02), sparse_input(0.5)
    assert use_event_path(sparse, SynapseMode.AUTO)
    assert not use_event_path(dense, SynapseMode.AUTO)
    assert not use_event_path(sparse.bfloat16(), SynapseMode.AUTO)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert not use_event_path(sparse, SynapseMode.AUTO)
    assert use_event_path(dense, SynapseMode.EVENT) and not use_event_path(sparse, SynapseMode.DENSE)


def test_the_threshold_decides(monkeypatch):
    x = sparse_input(0.1)
    density = sampled_density(x)
    monkeypatch.setattr(modes, "EVENT_DENSITY_THRESHOLD", density - 1e-3)
    assert not use_event_path(x, SynapseMode.AUTO)
    monkeypatch.setattr(modes, "EVENT_DENSITY_THRESHOLD", density + 1e-3)
    assert use_event_path(x, SynapseMode.AUTO)


def test_sampled_density_estimates_the_fraction_of_non_zeros():
    x = sparse_input(0.07, shape=(200, 32, 128))
    assert abs(sampled_density(x) - 0.07) < 0.01
    assert sampled_density(torch.zeros(3, 2, 4)) == 0.0
    assert sampled_density(torch.ones(3, 2, 4)) == 1.0


def test_set_synapse_mode_reaches_every_dense_layer_and_counts_the_paths():
    net = network("dense")
    assert set_synapse_mode(net, "event") == 2
    assert all(m.synapse_mode is SynapseMode.EVENT for m in net.modules() if isinstance(m, Dense))
    assert event_path_share(net) is None  # no call yet
    net(sparse_input(0.05))
    assert event_path_share(net) == 1.0
    set_synapse_mode(net, "dense")
    net(sparse_input(0.05))
    assert event_path_share(net) == 0.5
    assert "synapse_mode=dense" in repr(net[0])


def test_an_unknown_mode_is_a_config_error():
    with pytest.raises(ConfigError, match="synapse_mode"):
        Dense(3, 2, synapse_mode="sparse")
    with pytest.raises(ConfigError, match="synapse_mode"):
        set_synapse_mode(network("auto"), "fast")

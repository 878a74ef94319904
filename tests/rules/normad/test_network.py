import pytest
import torch

from spikegrad.errors import ConfigError, ShapeError
from spikegrad.rules.normad.kernel import response_increment, synaptic_traces
from spikegrad.rules.normad.network import NormADNetwork
from spikegrad.rules.normad.neuron import continuous_lif_scan


def _net(sizes, seed=0, mean=4000.0):
    net = NormADNetwork(sizes)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for weight in net.weights:
            weight.normal_(mean, mean, generator=generator)
    return net


def _poisson(steps, batch, n, seed=1):
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(steps, batch, n, generator=generator, dtype=torch.float64) < 0.02).to(torch.float64)


def test_layer_is_traces_then_drive_then_scan():
    net, inputs = _net([10, 4]), _poisson(500, 2, 10)
    record = net(inputs)
    traces = synaptic_traces(inputs, net.kernel, net.dt_ms)
    drive = response_increment(traces, net.kernel, 10.0, 300.0, net.dt_ms) @ net.weights[0].detach().T
    expected = continuous_lif_scan(drive, net.neuron, net.dt_ms)
    assert torch.equal(record.output, expected.spikes) and record.output.sum() > 0
    assert torch.equal(record.layers[0].input_traces.slow, traces.slow)


def test_batch_elements_are_independent_and_layers_chain():
    net, inputs = _net([10, 6, 3]), _poisson(500, 3, 10)
    record = net(inputs)
    assert [tuple(layer.spikes.shape) for layer in record.layers] == [(500, 3, 6), (500, 3, 3)]
    alone = net(inputs[:, 1:2])
    assert torch.equal(alone.output, record.output[:, 1:2])
    assert torch.equal(record.layers[1].input_traces.slow, synaptic_traces(record.layers[0].spikes, net.kernel, net.dt_ms).slow)
    assert not record.output.requires_grad


def test_rejects_bad_sizes_and_inputs():
    with pytest.raises(ConfigError, match="sizes"):
        NormADNetwork([5])
    with pytest.raises(ConfigError, match="dt_ms"):
        NormADNetwork([5, 1], dt_ms=0.0)
    with pytest.raises(ShapeError, match="spikes"):
        NormADNetwork([5, 1])(torch.zeros(10, 1, 4))

"""SLAYER modules: SRM neuron, pooling, synapse factories, blocks in SNNSequential, the paper networks."""

import pytest
import torch

from spikegrad.errors import ConfigError
from spikegrad.functional.psp import FilterMethod
from spikegrad.nn import (
    IF,
    Flatten,
    Layout,
    LayoutAdapter,
    SNNSequential,
    TimeFixedDropout,
)
from spikegrad.rules.slayer import nets as slayer_nets
from spikegrad.rules.slayer.layers import (
    AxonalDelay,
    SLAYERBlock,
    SLAYERPool,
    SRMNeuron,
    slayer_conv,
    slayer_dense,
)
from spikegrad.rules.slayer.srm import SRMParameters

PARAMS = SRMParameters()


def _spikes(*shape, rate=0.1, seed=0):
    return (torch.rand(*shape, generator=torch.Generator().manual_seed(seed)) < rate).float()


def test_pool_one_input_spike_drives_exactly_one_spike():
    x = torch.zeros(40, 1, 1, 2, 2)
    x[0, 0, 0, 1, 1] = 1.0
    block = SLAYERBlock(SLAYERPool(2, PARAMS.theta), SRMNeuron(PARAMS))
    y, _ = block(x)
    assert y.shape == (40, 1, 1, 1, 1)
    assert y.flatten().nonzero().flatten().tolist() == [7]


def test_pool_pads_odd_sizes_and_has_fixed_weight():
    pool = SLAYERPool(2, theta=10.0)
    x = torch.ones(3, 2, 4, 11, 7)
    y = pool(x)
    assert y.shape == (3, 2, 4, 6, 4)
    assert y[0, 0, 0, 0, 0].item() == pytest.approx(44.0)  # four inputs times 1.1 theta
    assert y[0, 0, 0, 5, 3].item() == pytest.approx(11.0)  # corner: one real input, three zero pads
    assert not any(p.requires_grad for p in pool.parameters())


def test_pool_pads_by_size_modulo_kernel_as_the_original():
    """slayerPytorch pads ``H % k`` rows: k = 4 on 10 rows pads 2 and gives 3 rows (not 2)."""
    pool = SLAYERPool(4, theta=1.0)
    y = pool(torch.ones(1, 1, 1, 10, 9))  # W = 9: 9 % 4 = 1 column of padding -> 10 -> 2 columns
    assert y.shape == (1, 1, 1, 3, 2)
    assert y[0, 0, 0, 2, 0].item() == pytest.approx(8 * 1.1)  # last rows: 2 real x 4 columns, 2 padded rows


def test_synapse_factories_scale_default_init():
    torch.manual_seed(0)
    dense = slayer_dense(100, 50)
    bound = 10.0 / 100**0.5  # 10 x PyTorch's U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    assert dense.bias is None and dense.weight.abs().max() <= bound and dense.weight.abs().max() > 0.9 * bound
    conv = slayer_conv(2, 4, 3, padding=1)
    assert conv.bias is None and conv.weight.abs().max() <= 100.0 / 18**0.5


@pytest.mark.parametrize("method", list(FilterMethod))
def test_srm_neuron_chunks_equal_whole(method):
    neuron = SRMNeuron(PARAMS, method=method)
    x = _spikes(120, 2, 5) * 25.0
    whole, _ = neuron(x)
    parts, state = [], None
    for chunk in (x[:3], x[3:80], x[80:]):  # the first chunk is shorter than the kernel
        y, state = neuron(chunk, state)
        parts.append(y)
    assert torch.equal(torch.cat(parts), whole)
    assert whole.sum() > 0


def test_block_rejects_stateful_synapse():
    with pytest.raises(ConfigError, match="synapse"):
        SLAYERBlock(IF(), SRMNeuron(PARAMS))


def test_network_in_snn_sequential_chunks_and_trains():
    torch.manual_seed(1)
    net = SNNSequential(
        SLAYERBlock(slayer_conv(2, 4, 3), SRMNeuron(PARAMS), AxonalDelay((4, 1, 1), PARAMS.ts, init_max=4.0)),
        SLAYERBlock(SLAYERPool(2, PARAMS.theta), SRMNeuron(PARAMS)),
        Flatten(),
        TimeFixedDropout(0.2),
        SLAYERBlock(slayer_dense(4 * 4 * 4, 3), SRMNeuron(PARAMS), AxonalDelay((3,), PARAMS.ts, init_max=3.0)),
    ).eval()
    x = _spikes(50, 2, 2, 10, 10, rate=0.2)
    whole, _ = net(x)
    first, states = net(x[:17])
    second, _ = net(x[17:], states)
    assert torch.equal(torch.cat([first, second]), whole)
    net.train()
    out, _ = net(x)
    out.sum().backward()
    grads = {name: p.grad for name, p in net.named_parameters()}
    assert set(grads) == {"0.synapse.weight", "0.delay.delay", "4.synapse.weight", "4.delay.delay"}
    assert all(g is not None and torch.isfinite(g).all() and g.abs().sum() > 0 for g in grads.values())


def test_time_last_adapter():
    block = SLAYERBlock(slayer_dense(6, 3), SRMNeuron(PARAMS))
    x = _spikes(30, 2, 6, rate=0.3)
    y, _ = LayoutAdapter(block, Layout.TIME_LAST)(x.permute(1, 2, 0))
    assert torch.equal(y.permute(2, 0, 1), block(x)[0])


@pytest.mark.parametrize(("build", "shape", "classes"), [
    (slayer_nets.nmnist_cnn, (6, 1, 2, 34, 34), 10),
    (slayer_nets.nmnist_mlp, (6, 1, 2, 34, 34), 10),
    (slayer_nets.mnist_cnn, (6, 1, 1, 28, 28), 10),
    (slayer_nets.dvs_gesture_cnn, (3, 1, 2, 128, 128), 11),
    (slayer_nets.fsdd_mlp, (6, 2, 2, 32), 10),
])
def test_paper_networks_build_and_run(build, shape, classes):
    net = build()
    y, _ = net(_spikes(*shape))
    assert y.shape == (shape[0], shape[1], classes)

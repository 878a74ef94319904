"""NA layers (spikegrad.rules.na.layers) and the papers' networks (spikegrad.rules.na.nets)."""

from __future__ import annotations

import pytest
import torch

from spikegrad.errors import ConfigError, ShapeError
from spikegrad.grad import Sigmoid
from spikegrad.nn import Conv2d, Dense, SNNSequential, SumPool2d, TimeFixedDropout
from spikegrad.rules.bptt import BPTT
from spikegrad.rules.na import Faithful, LayerRescaling, LossChange, NAParameters, Paper
from spikegrad.rules.na import nets as na_nets
from spikegrad.rules.na.layers import NALIF, SynapticTrace
from spikegrad.rules.na.loss import trace_loss
from spikegrad.rules.na.plugin import NA

P = NAParameters()


@pytest.mark.parametrize("gradient", [Faithful(), Paper(LossChange.FIRST_ORDER), Sigmoid()])
def test_nalif_state_carry_equals_one_call(gradient):
    layer = NALIF(P, gradient)
    x = torch.randn(8, 2, 3) + 0.5
    whole, _ = layer(x)
    first, state = layer(x[:3])
    second, _ = layer(x[3:], state)
    torch.testing.assert_close(torch.cat([first, second]), whole)
    trace_filter = SynapticTrace(P)
    whole, _ = trace_filter(x)
    first, state = trace_filter(x[:5])
    torch.testing.assert_close(torch.cat([first, trace_filter(x[5:], state)[0]]), whole)


def test_nalif_refuses_bad_options():
    with pytest.raises(ConfigError, match="gradient"):
        NALIF(P, "na")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="output layer"):
        NALIF(P, Paper(LossChange.EXACT))
    assert NALIF(P, Paper(LossChange.EXACT), is_output=True).is_output
    with pytest.raises(ShapeError):
        NALIF(P)(torch.zeros(4))


def test_mnist_network_shapes_and_layers():
    net = na_nets.mnist_cnn(NA(Faithful()).layer)
    kinds = [type(m).__name__ for m in net]
    assert kinds == ["SynapticTrace", "Conv2d", "NALIF", "SumPool2d", "Conv2d", "NALIF", "SumPool2d", "Flatten",
                     "Dense", "NALIF", "Dense", "NALIF"]
    assert [m.is_output for m in net if isinstance(m, NALIF)] == [False, False, False, True]
    pools = [m for m in net if isinstance(m, SumPool2d)]
    assert all(p.scale == 1.1 and p.kernel_size == 2 for p in pools)
    dense = [m for m in net if isinstance(m, Dense)]
    assert dense[0].in_features == 640 and all(m.bias is None for m in dense)
    out, _ = net(torch.randn(3, 2, 1, 28, 28))
    assert out.shape == (3, 2, 10)


@pytest.mark.parametrize("builder, shape, flat", [
    (na_nets.fmnist_cnn, (1, 28, 28), 3136),
    (na_nets.cifar10_alexnet, (3, 32, 32), 16384),
    (na_nets.nmnist_cnn, (2, 34, 34), 2304),
])
def test_paper_networks_flatten_sizes(builder, shape, flat):
    net = builder(NA(Faithful()).layer)
    assert [m for m in net if isinstance(m, Dense)][0].in_features == flat
    if builder is na_nets.cifar10_alexnet:
        assert sum(isinstance(m, TimeFixedDropout) for m in net) == 7
        conv = [m for m in net if isinstance(m, Conv2d)][0]
        bound = 5 / 27**0.5  # PyTorch's default init U(-1/sqrt(fan_in), 1/sqrt(fan_in)) times 5
        assert 0.9 * bound < conv.weight.abs().max() <= bound


def test_architecture_errors():
    with pytest.raises(ConfigError, match="architecture"):
        na_nets.build_na_net("15C5-X-10", (1, 28, 28), P, NA(Faithful()).layer)
    with pytest.raises(ConfigError, match="dense"):
        na_nets.build_na_net("15C5-P2", (1, 28, 28), P, NA(Faithful()).layer)
    with pytest.raises(ConfigError, match="nothing"):
        na_nets.build_na_net("8C5-P2-8C5-P2-8C5-10", (1, 12, 12), P, NA(Faithful()).layer)
    with pytest.raises(ConfigError, match="after a dense"):
        na_nets.build_na_net("10-4C3-10", (1, 8, 8), P, NA(Faithful()).layer)


def test_every_weight_gets_a_gradient_and_the_clamp():
    torch.manual_seed(0)
    net = na_nets.build_na_net("4C3-P2-12-3", (1, 10, 10), P, NA(Faithful()).layer, conv_scale=3.0)
    out, _ = net(torch.randn(4, 5, 1, 10, 10).abs() * 3)
    trace_loss(out, torch.tensor([0, 1, 2, 0, 1]), P).backward()
    for name, weight in net.named_parameters():
        assert weight.grad is not None and weight.grad.abs().sum() > 0, name
    with torch.no_grad():
        for weight in net.parameters():
            weight.mul_(100)
    na_nets.clamp_weights_(net, 4.0)
    assert max(w.abs().max().item() for w in net.parameters()) == 4.0
    with pytest.raises(ConfigError):
        na_nets.clamp_weights_(net, 0.0)


def test_shared_rescaling_keys_layers_in_order():
    net = na_nets.build_na_net("4C3-P2-12-3", (1, 10, 10), P, NA(Faithful(rescale=True)).layer)
    layers = [m for m in net if isinstance(m, NALIF)]
    assert all(isinstance(m.rescaling, LayerRescaling) for m in layers)
    assert len({id(m.rescaling) for m in layers}) == 1 and [m.layer_key for m in layers] == [0, 1, 2]
    out, _ = net(torch.randn(4, 2, 1, 10, 10).abs() * 3)
    trace_loss(out, torch.tensor([0, 1]), P).backward()
    assert layers[0].rescaling.output_key == 2 and set(layers[0].rescaling.means) == {0, 1, 2}
    assert na_nets.share_rescaling(na_nets.mnist_cnn(NA(Faithful()).layer)) is None


def test_same_forward_for_na_and_surrogate_networks():
    torch.manual_seed(1)
    na = na_nets.mnist_cnn(NA(Faithful()).layer)
    torch.manual_seed(1)
    bptt = na_nets.mnist_cnn(BPTT(Sigmoid(5.0)).layer)
    x = torch.randn(5, 2, 1, 28, 28) * 2
    torch.testing.assert_close(na(x)[0], bptt(x)[0])
    assert isinstance(na, SNNSequential)

"""Lee layers and networks: output integrator, residual block against the reference code, dropout mask
(oracle A12.6), chunked inference, and the architectures (shapes, initialisation, no biases)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from spikegrad.errors import ConfigError
from spikegrad.nn import Dense, TimeFixedDropout
from spikegrad.rules.lee.layers import (
    IntegratingReadout,
    LeeLayerConfig,
    LeeResidualBlock,
)
from spikegrad.rules.lee.loss import lee_mse_loss
from spikegrad.rules.lee.nets import (
    build_lee_network,
    init_lee_weights,
    lee_lenet,
    lee_resnet11,
    lee_vgg9,
)
from spikegrad.rules.lee.scan import lee_integrate

F64 = torch.float64


def test_integrator_forward_leaks_backward_does_not():
    c = torch.tensor([1.0, 2.0, 3.0], dtype=F64).reshape(3, 1, 1).requires_grad_(True)
    trace = lee_integrate(c, 0.5)
    assert trace.flatten().tolist() == pytest.approx([0.5, 1.25, 2.125])  # M[t] = 0.5 (M[t-1] + c[t])
    trace[-1].sum().backward()
    assert c.grad.flatten().tolist() == [1.0, 1.0, 1.0]  # detached leak: every step counts fully


def test_readout_output_and_chunks():
    x = torch.randn(12, 2, 3, dtype=F64)
    readout = IntegratingReadout(leak=0.99, threshold=2.0)
    whole, state = readout(x)
    expected = sum(0.99 ** (12 - t + 1) * x[t - 1] for t in range(1, 13)) / (2.0 * 12)
    assert torch.allclose(whole[-1], expected, atol=1e-12)  # o = M[T] / (V_th T)
    first, mid = readout(x[:5])
    second, end = readout(x[5:], mid)
    assert torch.allclose(torch.cat([first, second]), whole, atol=1e-12) and end.steps == 12


def _reference_block(reference, x, weights, stride, shortcut):
    """The code's residual step: mem2 += conv2(s1) + shortcut(x_blk), LF hooks on both LIF layers."""
    first, second = reference.ReferenceLayer(), reference.ReferenceLayer()
    outs = []
    for t in range(x.shape[0]):
        s1 = first.step(F.conv2d(x[t], weights["conv1.weight"], padding=1))
        if shortcut == "conv":
            skip = F.conv2d(x[t], weights["shortcut.weight"], stride=stride)
        else:
            skip = F.avg_pool2d(x[t], kernel_size=1, stride=stride)
        outs.append(second.step(F.conv2d(s1, weights["conv2.weight"], stride=stride, padding=1) + skip))
    first.register_hooks()
    second.register_hooks()
    return torch.stack(outs)


@pytest.mark.parametrize("channels, stride, shortcut", [((4, 6), 1, "conv"), ((4, 6), 2, "conv"), ((5, 5), 2, "identity")])
def test_residual_block_equals_the_reference_code(reference, channels, stride, shortcut):
    torch.manual_seed(4)
    block = LeeResidualBlock(*channels, stride=stride).to(F64)
    init_lee_weights(block, gain=3.0)
    x = (torch.rand(14, 2, channels[0], 8, 8, dtype=F64) < 0.5).to(F64).requires_grad_(True)
    downstream = torch.randn(14, 2, channels[1], 8 // stride, 8 // stride, dtype=F64)
    out, _ = block(x)
    assert out.sum() > 0
    (out * downstream).sum().backward()
    weights = {n: p.detach().clone().requires_grad_(True) for n, p in block.named_parameters()}
    x_ref = x.detach().clone().requires_grad_(True)
    ref = _reference_block(reference, x_ref, weights, stride, shortcut)
    (ref * downstream).sum().backward()
    assert torch.allclose(out.detach(), ref.detach(), atol=1e-12)
    assert torch.allclose(x.grad, x_ref.grad, atol=1e-12)
    for name, param in block.named_parameters():
        assert torch.allclose(param.grad, weights[name].grad, atol=1e-12), name


def test_oracle_dropout_mask_fixed_over_time():
    """Oracle A12.6: the same mask at every step, redrawn per batch, survivors 1/(1-p), none in eval."""
    drop = TimeFixedDropout(0.25)
    ones = torch.ones(30, 4, 50)
    first = drop(ones)
    assert torch.all(first == first[0])  # identical at all T steps
    values = first.unique()
    assert len(values) == 2 and values[0] == 0.0 and values[1].item() == pytest.approx(1 / 0.75)
    assert not torch.equal(drop(ones)[0], first[0])  # re-drawn for the next batch
    drop.eval()
    assert torch.equal(drop(ones), ones)


def test_vgg9_dropout_is_fixed_per_sample_inside_the_network():
    torch.manual_seed(3)
    net = lee_vgg9(image_size=8, dropout=0.2)
    seen = []
    for module in net.modules():
        if isinstance(module, TimeFixedDropout):
            module.register_forward_hook(lambda m, args, out: seen.append((args[0], out)))
    net.train()
    net((torch.rand(12, 2, 3, 8, 8) < 0.5).float())
    assert len(seen) == 8  # after each of the 7 conv LIF layers and the FC LIF layer
    for spikes, out in seen:
        ratio = torch.where(spikes != 0, out / spikes.clamp(min=1e-9), torch.nan)
        high, low = ratio.nan_to_num(-1.0).amax(0), ratio.nan_to_num(9.0).amin(0)
        defined = (spikes != 0).any(0)
        assert torch.equal(high[defined], low[defined])  # one factor (0 or 1.25) per neuron for all steps


def test_chunked_inference_matches_one_window():
    torch.manual_seed(6)
    net = lee_lenet(image_size=8)
    x = (torch.rand(23, 2, 1, 8, 8) < 0.4).float()
    net.eval()
    with torch.no_grad():
        net.inference_chunk = 0
        whole, _ = net(x)
        net.inference_chunk = 5
        chunked, _ = net(x)
    assert torch.allclose(whole, chunked, atol=1e-6)


@pytest.mark.parametrize("name, image, channels, out_features", [
    ("lenet", 28, 1, 50 * 7 * 7), ("vgg9", 32, 3, 256 * 4 * 4), ("resnet11", 32, 3, 512 * 4 * 4),
    ("vgg7", 32, 3, 256 * 4 * 4), ("resnet7", 32, 3, 256 * 8 * 8),
])
def test_architectures(name, image, channels, out_features):
    net = build_lee_network(name, in_channels=channels, image_size=image)
    dense = [m for m in net.modules() if isinstance(m, Dense)]
    assert dense[0].in_features == out_features and dense[-1].out_features == 10
    assert all(getattr(m, "bias", None) is None for m in net.modules() if hasattr(m, "weight"))
    assert isinstance(net[-1], IntegratingReadout)


def test_known_layer_lists():
    convs = lambda net: [(m.in_channels, m.out_channels, m.kernel_size[0], m.stride[0])  # noqa: E731
                         for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs(lee_lenet()) == [(1, 20, 5, 1), (20, 50, 5, 1)]
    assert [c[1] for c in convs(lee_vgg9())] == [64, 64, 128, 128, 256, 256, 256]
    assert convs(lee_resnet11()) == [
        (3, 64, 3, 1),
        (64, 128, 3, 1), (128, 128, 3, 1), (64, 128, 1, 1),
        (128, 256, 3, 1), (256, 256, 3, 2), (128, 256, 1, 2),
        (256, 512, 3, 1), (512, 512, 3, 1), (256, 512, 1, 1),
        (512, 512, 3, 1), (512, 512, 3, 2),  # identity shortcut, subsampled by 2
    ]


@pytest.mark.parametrize("builder, gain", [(lee_vgg9, 2.0), (lee_resnet11, 1.0)])
def test_initialisation_std(builder, gain):
    torch.manual_seed(0)
    net = builder()
    for module in net.modules():
        if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)) and module.weight.numel() > 20000:
            fan_in = module.weight[0].numel()
            assert module.weight.std().item() == pytest.approx(math.sqrt(gain / fan_in), rel=0.05)


def test_untrained_lenet_fires_in_every_layer_and_trains_one_step():
    """The dead-neuron trap: He initialisation must make every hidden layer spike on real-looking input."""
    torch.manual_seed(0)
    net = lee_lenet()
    x = (torch.rand(30, 4, 1, 28, 28) < 0.1).float()
    out, _ = net(x)
    lee_mse_loss(out, torch.tensor([0, 1, 2, 3])).backward()
    assert all(p.grad.abs().sum() > 0 for p in net.parameters())


def test_bad_configs_raise():
    with pytest.raises(ConfigError, match="network"):
        build_lee_network("alexnet")
    with pytest.raises(ConfigError, match="image_size"):
        lee_vgg9(image_size=12)
    with pytest.raises(ConfigError, match="leak"):
        LeeLayerConfig(leak=1.2)
    with pytest.raises(ConfigError, match="bias"):
        init_lee_weights(torch.nn.Linear(3, 2))


def test_integrator_carries_its_initial_membrane_forward_and_backward():
    c = torch.tensor([1.0, 2.0], dtype=F64).reshape(2, 1, 1)
    m0 = torch.tensor([[4.0]], dtype=F64, requires_grad=True)
    trace = lee_integrate(c, 0.5, m0)
    assert trace.flatten().tolist() == pytest.approx([2.5, 2.25])  # 0.5 (4 + 1), 0.5 (2.5 + 2)
    trace.sum().backward()
    assert m0.grad.item() == 2.0  # dM[t]/dM[0] = 1 at both steps (leak detached), so chunks chain gradients

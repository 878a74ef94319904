r"""The networks of Lee et al. (2020), built from the shared blocks and :mod:`spikegrad.rules.lee.layers`.

Every network takes spike trains ``[T, B, C, H, W]`` and returns the readout trace ``[T, B, classes]``
whose last step is the output ``o = M[T] / (V_th T)``. No layer has a bias. Notation: ``20C5`` = a conv
with 20 output channels and a 5x5 kernel (stride 1, "same" padding), ``AP2`` = spiking 2x2 average
pooling (IF neurons, threshold 0.75), ``FC200`` = a dense layer of 200 LIF neurons, the last FC feeds the
non-spiking integrating output. Dropout (one mask per sample, fixed over the window) follows every LIF
layer when ``dropout > 0``.

| builder | layers | source |
|---|---|---|
| :func:`lee_lenet` | 20C5-AP2-50C5-AP2-FC200-FC10 (MNIST 28x28) | ``mnist_LeNet.py``, verified |
| :func:`lee_vgg9` | 64C3-64C3-AP2-128C3-128C3-AP2-256C3-256C3-256C3-AP2-FC1024-FC10 | ``cifar10_VGG9.py``, verified |
| :func:`lee_resnet11` | 64C3-AP2-[128,128]-[256,256 s2]-[512,512]-[512,512 s2]-FC1024-FC10 | ``cifar10_ResNet11.py``, verified |
| :func:`lee_vgg7` | 64C3-64C3-AP2-128C3-128C3-AP2-256C3-AP2-FC1024-FC10 | **UNVERIFIED** (paper's SVHN net; no code) |
| :func:`lee_resnet7` | 64C3-AP2-[128,128]-[256,256 s2]-FC1024-FC10 | **UNVERIFIED** (paper's SVHN net; no code) |

The SVHN networks are named in the paper (VGG7: 96.06 %, ResNet7: 96.21 %, both from memory) but
their layer lists could not be read (the paper text was unavailable and the code has no SVHN script).
The lists above are this library's choice: the CIFAR-10 networks shortened to seven weight layers in
the paper's naming (convs + FCs, shortcuts not counted), keeping the code's building rules.

Initialisation (:func:`init_lee_weights`): :math:`W \sim \mathcal N(0, \sqrt{g/n_{in}})` with fan-in
:math:`n_{in}` (``k^2 C_in`` or the number of columns); ``g = 2`` (He) for LeNet and VGG9, ``g = 1`` for
ResNet11, whose code uses variance ``1/n`` for every conv (1x1 shortcuts included) and FC.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from spikegrad.errors import ConfigError
from spikegrad.functional.neuron import IFParameters, Reset
from spikegrad.nn.dropout import TimeFixedDropout
from spikegrad.nn.spec import NeuronSpec, ReadoutSpec, Realize, Role
from spikegrad.nn.synapses import Conv2d, Dense, Flatten
from spikegrad.rules.lee.layers import (
    LeeLayerConfig,
    LeeNetwork,
    LeeResidualBlock,
    SpikingAvgPool2d,
    lee_neuron_parameters,
)


def init_lee_weights(model: nn.Module, gain: float = 2.0, generator: torch.Generator | None = None) -> nn.Module:
    """Draw every conv and dense weight from ``N(0, sqrt(gain / fan_in))``; biases must be absent."""
    if not gain > 0:
        raise ConfigError("init_gain", f"must be > 0, got {gain!r}")
    for name, module in model.named_modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            if module.bias is not None:
                raise ConfigError("bias", f"Lee's networks have no biases; layer {name!r} has one")
            fan_in = module.weight[0].numel()
            with torch.no_grad():
                module.weight.normal_(0.0, math.sqrt(gain / fan_in), generator=generator)
    return model


def lif_spec(config: LeeLayerConfig) -> NeuronSpec:
    """The slot of a LIF layer: leak ``lambda``, threshold ``V_th``, reset to zero, strict threshold."""
    return NeuronSpec(lee_neuron_parameters(config.leak, config.threshold))


def pool_spec(config: LeeLayerConfig) -> NeuronSpec:
    """The slot of the spiking average-pooling neurons: IF, threshold 0.75, reset to zero, strict threshold."""
    return NeuronSpec(IFParameters(threshold=config.pool_threshold, reset=Reset.ZERO, strict=True), Role.POOL)


def _conv_lif(layers: list[nn.Module], c_in: int, c_out: int, kernel: int, dropout: float,
              config: LeeLayerConfig, layer: Realize) -> None:
    layers += [Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False), layer(lif_spec(config))]
    if dropout > 0:
        layers.append(TimeFixedDropout(dropout))


def _pool(config: LeeLayerConfig, layer: Realize) -> SpikingAvgPool2d:
    return SpikingAvgPool2d(2, neuron=layer(pool_spec(config)))


def _head(layers: list[nn.Module], features: int, hidden: int, classes: int, dropout: float,
          config: LeeLayerConfig, layer: Realize) -> None:
    layers += [Flatten(), Dense(features, hidden, bias=False), layer(lif_spec(config))]
    if dropout > 0:
        layers.append(TimeFixedDropout(dropout))
    layers += [Dense(hidden, classes, bias=False), layer(ReadoutSpec(config.output_leak, config.output_threshold))]


def _lee(config: LeeLayerConfig, layer: Realize | None) -> Realize:
    """The rule's modules, Lee's own (with ``config.gradient``) by default."""
    from spikegrad.rules.lee.plugin import Lee

    return layer if layer is not None else Lee(config.gradient).layer


def _check(image_size: int, factor: int) -> int:
    if image_size < factor or image_size % factor:
        raise ConfigError("image_size", f"must be a positive multiple of {factor} for this network, got {image_size}")
    return image_size // factor


def lee_lenet(config: LeeLayerConfig = LeeLayerConfig(), in_channels: int = 1, image_size: int = 28,
              classes: int = 10, dropout: float = 0.0, init_gain: float = 2.0, layer: Realize | None = None) -> LeeNetwork:
    """LeNet of ``mnist_LeNet.py``: 20C5(p2)-AP2-50C5(p2)-AP2-FC200-FC10, no dropout in the code."""
    layer = _lee(config, layer)
    side = _check(image_size, 4)
    layers: list[nn.Module] = []
    _conv_lif(layers, in_channels, 20, 5, dropout, config, layer)
    layers.append(_pool(config, layer))
    _conv_lif(layers, 20, 50, 5, dropout, config, layer)
    layers.append(_pool(config, layer))
    _head(layers, 50 * side * side, 200, classes, dropout, config, layer)
    return init_lee_weights(LeeNetwork(*layers), init_gain)


def _vgg(plan: list[int | str], config: LeeLayerConfig, in_channels: int, image_size: int, classes: int,
         dropout: float, init_gain: float, layer: Realize | None) -> LeeNetwork:
    layer = _lee(config, layer)
    pools = plan.count("A")
    side = _check(image_size, 2**pools)
    layers: list[nn.Module] = []
    channels = in_channels
    for item in plan:
        if item == "A":
            layers.append(_pool(config, layer))
        else:
            _conv_lif(layers, channels, int(item), 3, dropout, config, layer)
            channels = int(item)
    _head(layers, channels * side * side, 1024, classes, dropout, config, layer)
    return init_lee_weights(LeeNetwork(*layers), init_gain)


def lee_vgg9(config: LeeLayerConfig = LeeLayerConfig(), in_channels: int = 3, image_size: int = 32,
             classes: int = 10, dropout: float = 0.2, init_gain: float = 2.0, layer: Realize | None = None) -> LeeNetwork:
    """VGG9 of ``cifar10_VGG9.py``; dropout 0.2 after every LIF layer (conv and FC)."""
    plan: list[int | str] = [64, 64, "A", 128, 128, "A", 256, 256, 256, "A"]
    return _vgg(plan, config, in_channels, image_size, classes, dropout, init_gain, layer)


def lee_vgg7(config: LeeLayerConfig = LeeLayerConfig(), in_channels: int = 3, image_size: int = 32,
             classes: int = 10, dropout: float = 0.2, init_gain: float = 2.0, layer: Realize | None = None) -> LeeNetwork:
    """VGG7 for SVHN, **UNVERIFIED** layer list (see the module docstring)."""
    plan: list[int | str] = [64, 64, "A", 128, 128, "A", 256, "A"]
    return _vgg(plan, config, in_channels, image_size, classes, dropout, init_gain, layer)


def _resnet(blocks: list[tuple[int, int]], config: LeeLayerConfig, in_channels: int, image_size: int,
            classes: int, dropout: float, init_gain: float, layer: Realize | None) -> LeeNetwork:
    layer = _lee(config, layer)
    strides = math.prod(stride for _, stride in blocks)
    side = _check(image_size, 2 * strides)
    layers: list[nn.Module] = []
    _conv_lif(layers, in_channels, 64, 3, dropout, config, layer)
    layers.append(_pool(config, layer))
    channels = 64
    for out_channels, stride in blocks:
        layers.append(LeeResidualBlock(channels, out_channels, stride, dropout, config, layer))
        channels = out_channels
    _head(layers, channels * side * side, 1024, classes, dropout, config, layer)
    return init_lee_weights(LeeNetwork(*layers), init_gain)


def lee_resnet11(config: LeeLayerConfig = LeeLayerConfig(), in_channels: int = 3, image_size: int = 32,
                 classes: int = 10, dropout: float = 0.25, init_gain: float = 1.0, layer: Realize | None = None) -> LeeNetwork:
    """ResNet11 of ``cifar10_ResNet11.py``: stem 64C3-AP2, four residual blocks, FC1024; dropout 0.25."""
    return _resnet([(128, 1), (256, 2), (512, 1), (512, 2)], config, in_channels, image_size, classes,
                   dropout, init_gain, layer)


def lee_resnet7(config: LeeLayerConfig = LeeLayerConfig(), in_channels: int = 3, image_size: int = 32,
                classes: int = 10, dropout: float = 0.25, init_gain: float = 1.0, layer: Realize | None = None) -> LeeNetwork:
    """ResNet7 for SVHN, **UNVERIFIED** layer list: the first two blocks of ResNet11."""
    return _resnet([(128, 1), (256, 2)], config, in_channels, image_size, classes, dropout, init_gain, layer)


NETWORKS = {
    "lenet": lee_lenet,
    "vgg9": lee_vgg9,
    "resnet11": lee_resnet11,
    "vgg7": lee_vgg7,
    "resnet7": lee_resnet7,
}
"""Builders by name, as the recipes' ``network`` setting names them."""


def build_lee_network(name: str, **kwargs) -> LeeNetwork:
    """Build the network ``name`` (one of :data:`NETWORKS`) with keyword arguments of its builder."""
    if name not in NETWORKS:
        raise ConfigError("network", f"unknown network {name!r}; expected one of {', '.join(NETWORKS)}")
    return NETWORKS[name](**kwargs)

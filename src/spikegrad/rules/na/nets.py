"""The NA paper's networks (Yang, Zhang & Li 2021), built from :mod:`spikegrad.rules.na.layers` layers.

Networks are written as in the papers: ``15C5`` = 15 conv filters 5x5 followed by spiking neurons
(``12C5p1``: with zero padding 1 instead of the network's default),
``P2`` = 2x2 fixed sum-pooling of the traces with weight 1.1 (4.4x average pooling, not spiking: its
output current feeds the next synapse), ``D`` = dropout (mask fixed over time), ``300`` = dense layer of
300 spiking neurons; the last dense layer is the output layer. Every layer's input is the previous
layer's synaptic trace; the input image (repeated over time) first goes through the same synaptic filter.

Weights (methods note B5): no biases; convolutions use PyTorch's default init times ``conv_scale``
(MNIST 1, CIFAR10 5); dense layers ``kaiming_normal_`` times ``dense_scale`` (1).
"""

from __future__ import annotations

import math
import re

import torch
from torch import nn

from spikegrad.errors import ConfigError
from spikegrad.nn import (
    Conv2d,
    Dense,
    Flatten,
    SNNSequential,
    SumPool2d,
    TimeFixedDropout,
)
from spikegrad.nn.filters import SynapticTrace
from spikegrad.nn.spec import NeuronSpec, Realize, Role
from spikegrad.rules.na.layers import NALIF
from spikegrad.rules.na.modes import Faithful, LayerRescaling
from spikegrad.rules.na.neuron import NAParameters

POOL_WEIGHT = 1.1  # the fixed weight of every 2x2 pooling synapse (TSSL-BP/NA `theta` default)

MNIST_CNN = "15C5-P2-40C5-P2-300-10"  # NA MNIST_CNN.yaml, no padding (28-24-12-8-4)
FMNIST_CNN = "32C5-P2-64C5-P2-1024-10"  # TSSL-BP FashionMNIST_CNN.yaml, padding 2 (28-28-14-14-7)
CIFAR10_ALEXNET = "96C3-D-256C3-P2-D-384C3-P2-D-384C3-D-256C3-D-1024-D-1024-D-10"  # NA CIFAR10.yaml, padding 1
NMNIST_CNN = "12C5p1-P2-64C5-P2-D-10"  # NA NMNIST_CNN.yaml (2x34x34 input: 34-32-16-12-6)

_TOKEN = re.compile(r"^(?:(?P<conv>\d+)C(?P<k>\d+)(?:p(?P<pad>\d+))?|P(?P<pool>\d+)|(?P<drop>D)|(?P<dense>\d+))$")


def build_na_net(
    architecture: str,
    in_shape: tuple[int, int, int],
    params: NAParameters,
    layer: Realize,
    *,
    padding: int = 0,
    dropout: float = 0.0,
    conv_scale: float = 1.0,
    dense_scale: float = 1.0,
) -> SNNSequential:
    """Build ``architecture`` (e.g. ``"15C5-P2-40C5-P2-300-10"``) for inputs ``[T, B, *in_shape]``.

    Args:
        architecture: dash-separated layers (see the module docstring); must end with a dense layer.
        in_shape: ``(channels, height, width)`` of one input frame.
        params: the neurons' constants (every layer shares them, as in the NA code).
        layer: a learning rule's module for each neuron slot (:meth:`spikegrad.rules.plugin.Rule.layer`;
            :class:`~spikegrad.rules.na.plugin.NA` for NA itself): the slots are the shared LIF with NA's options handing on
            synaptic traces (:attr:`NAParameters.neuron`, ``trace_tau = tau_s``).
        padding: zero padding of every convolution.
        dropout: probability of every ``D`` layer (0 removes them).
        conv_scale: weight-initialisation factor of the convolutions.
        dense_scale: weight-initialisation factor of the dense layers.

    Returns:
        An :class:`~spikegrad.nn.SNNSequential` mapping ``[T, B, *in_shape]`` to output traces ``[T, B, classes]``.
    """
    tokens = [token.strip() for token in architecture.split("-")]
    matches = [_TOKEN.match(token) for token in tokens]
    if not tokens or any(m is None for m in matches) or matches[-1]["dense"] is None:  # type: ignore[index]
        raise ConfigError("architecture", f"expected tokens like 15C5, P2, D, 300 ending with a dense layer, got {architecture!r}")
    channels, height, width = in_shape
    flat: int | None = None
    last_dense = max(i for i, m in enumerate(matches) if m["dense"] is not None)  # type: ignore[index]
    layers: list[nn.Module] = [SynapticTrace(params.tau_s)]

    def neuron(is_output: bool = False) -> nn.Module:
        return layer(NeuronSpec(params.neuron, Role.OUTPUT if is_output else Role.HIDDEN, params.tau_s))

    for index, m in enumerate(matches):
        assert m is not None
        if m["conv"] is not None:
            if flat is not None:
                raise ConfigError("architecture", f"convolution {tokens[index]} after a dense layer in {architecture!r}")
            out, k = int(m["conv"]), int(m["k"])
            pad = padding if m["pad"] is None else int(m["pad"])
            conv = Conv2d(channels, out, k, padding=pad, bias=False)
            with torch.no_grad():
                conv.weight.mul_(conv_scale)
            layers += [conv, neuron()]
            channels, height, width = out, height + 2 * pad - k + 1, width + 2 * pad - k + 1
        elif m["pool"] is not None:
            k = int(m["pool"])
            layers.append(SumPool2d(k, scale=POOL_WEIGHT))
            height, width = height // k, width // k
        elif m["drop"] is not None:
            if dropout > 0:
                layers.append(TimeFixedDropout(dropout))
        else:
            if flat is None:
                layers.append(Flatten())
                flat = channels * height * width
            out = int(m["dense"])
            dense = Dense(flat, out, bias=False)
            with torch.no_grad():
                nn.init.kaiming_normal_(dense.weight)
                dense.weight.mul_(dense_scale)
            layers += [dense, neuron(is_output=index == last_dense)]
            flat = out
        if min(height, width) < 1:
            raise ConfigError("architecture", f"{architecture!r} shrinks a {in_shape} input to nothing at {tokens[index]}")
    model = SNNSequential(*layers)
    share_rescaling(model)
    return model


def share_rescaling(model: nn.Module) -> LayerRescaling | None:
    """Give every NA layer of ``model`` using ``Faithful(rescale=True)`` one shared
    :class:`~spikegrad.rules.na.LayerRescaling` and its index as key (the original's global dict, per model)."""
    layers = [m for m in model.modules() if isinstance(m, NALIF) and isinstance(m.gradient, Faithful) and m.gradient.rescale]
    if not layers:
        return None
    shared = LayerRescaling()
    for key, layer in enumerate(layers):
        layer.rescaling, layer.layer_key = shared, key
    return shared


@torch.no_grad()
def clamp_weights_(model: nn.Module, limit: float) -> None:
    """Clamp every trainable synapse weight to ``[-limit, limit]`` (the NA code does it after each step)."""
    if not (math.isfinite(limit) and limit > 0):
        raise ConfigError("weight_clamp", f"must be a finite number > 0, got {limit!r}")
    for module in model.modules():
        if isinstance(module, (Dense, Conv2d)):
            module.weight.clamp_(-limit, limit)


def mnist_cnn(layer: Realize, params: NAParameters = NAParameters(5.0, 2.0), **kw) -> SNNSequential:
    """MNIST: 28x28-15C5-P2-40C5-P2-300-10, no padding (poster: 99.69 % at T = 5)."""
    return build_na_net(MNIST_CNN, (1, 28, 28), params, layer, **kw)


def fmnist_cnn(layer: Realize, params: NAParameters = NAParameters(5.0, 2.0), **kw) -> SNNSequential:
    """Fashion-MNIST: 28x28-32C5-P2-64C5-P2-1024-10 with padding 2 (TSSL-BP config; NA number UNVERIFIED)."""
    kw.setdefault("padding", 2)
    return build_na_net(FMNIST_CNN, (1, 28, 28), params, layer, **kw)


def cifar10_alexnet(layer: Realize, params: NAParameters = NAParameters(5.0, 2.0), dropout: float = 0.2,
                    **kw) -> SNNSequential:
    """CIFAR10 "AlexNet" 96C3-256C3-P2-384C3-P2-384C3-256C3-1024-1024-10, padding 1, dropout 0.2 after conv1,
    pool1, pool2, conv4, conv5, FC1, FC2, conv weights x5 (poster: 91.76 % at T = 5)."""
    kw.setdefault("padding", 1)
    kw.setdefault("conv_scale", 5.0)
    return build_na_net(CIFAR10_ALEXNET, (3, 32, 32), params, layer, dropout=dropout, **kw)


def nmnist_cnn(layer: Realize, params: NAParameters = NAParameters(8.0, 4.0), dropout: float = 0.2,
               **kw) -> SNNSequential:
    """N-MNIST: 2x34x34-12C5(pad 1)-P2-64C5-P2-D-10 (NA NMNIST_CNN.yaml: tau_m 8, tau_s 4, T = 30, dropout 0.2;
    that file still names the TSSL-BP rule, methods note B8)."""
    return build_na_net(NMNIST_CNN, (2, 34, 34), params, layer, dropout=dropout, **kw)

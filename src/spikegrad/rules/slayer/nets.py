"""The SLAYER paper's networks (Shrestha & Orchard, NeurIPS 2018), built from :mod:`spikegrad.rules.slayer.layers` blocks.

Notation as in the paper: ``12c5`` = 12 conv filters 5x5, ``2a`` = 2x2 sum-pooling (fixed weight
``1.1 theta``), ``500`` = dense layer, ``d`` = learnable axonal delays, ``10o`` = output layer.
Every synapse is bias-free with PyTorch's default init times SLAYER's ``weightScale`` (10 dense, 100 conv).
Inputs are 0/1 spike tensors ``[T, B, C, H, W]``; outputs ``[T, B, classes]`` spikes, classified by
:func:`spikegrad.rules.slayer.loss.predict_class` and trained with :class:`~spikegrad.rules.slayer.loss.NumSpikesLoss`.

Neuron constants default to slayerPytorch's NMNIST example YAML (:class:`SRMParameters` defaults:
theta 10, tauSr 10 ms, tauRef 1 ms, scaleRef 2, tauRho 1, scaleRho 1, Ts 1 ms). The paper's numbers came
from the C++ SLAYER with unpublished hyper-parameters; sample lengths and count targets are the recipes'
(:mod:`spikegrad.train.recipes.slayer`).
"""

from __future__ import annotations

from torch import nn

from spikegrad.functional.psp import FilterMethod
from spikegrad.nn import AxonalDelay, Flatten, SNNSequential, TimeFixedDropout
from spikegrad.rules.slayer.layers import (
    SLAYERBlock,
    SLAYERPool,
    SRMSpec,
    slayer_conv,
    slayer_dense,
)
from spikegrad.rules.slayer.plugin import SLAYER
from spikegrad.rules.slayer.srm import SRMParameters


def _srm(params: SRMParameters, method: FilterMethod) -> nn.Module:
    return SLAYER().layer(SRMSpec(params, method))


def _dense(n_in: int, n_out: int, params: SRMParameters, method: FilterMethod, delay: bool = False) -> SLAYERBlock:
    delay_module = AxonalDelay((n_out,), params.ts) if delay else None  # one delay per neuron
    return SLAYERBlock(slayer_dense(n_in, n_out), _srm(params, method), delay_module)


def _conv(
    c_in: int,
    c_out: int,
    kernel: int,
    params: SRMParameters,
    method: FilterMethod,
    padding: int = 0,
    delay: bool = False,
) -> SLAYERBlock:
    delay_module = AxonalDelay((c_out, 1, 1), params.ts) if delay else None  # one delay per channel
    return SLAYERBlock(slayer_conv(c_in, c_out, kernel, padding=padding), _srm(params, method), delay_module)


def _pool(kernel: int, params: SRMParameters, method: FilterMethod) -> SLAYERBlock:
    return SLAYERBlock(SLAYERPool(kernel, params.theta), _srm(params, method))


def _dropout(p: float) -> list[nn.Module]:
    return [TimeFixedDropout(p)] if p > 0 else []


def nmnist_cnn(params: SRMParameters = SRMParameters(), method: FilterMethod = FilterMethod.IIR) -> SNNSequential:
    """N-MNIST CNN ``34x34x2-12c5-2a-64c5-2a-10o`` (paper: 99.20 %). Input ``[T, B, 2, 34, 34]``.

    Sizes: 34 -> 30 (12c5) -> 15 (2a) -> 11 (64c5) -> 6 (2a, odd size padded) -> 2 304 -> 10.
    """
    return SNNSequential(
        _conv(2, 12, 5, params, method), _pool(2, params, method),
        _conv(12, 64, 5, params, method), _pool(2, params, method),
        Flatten(), _dense(64 * 6 * 6, 10, params, method),
    )  # fmt: skip


def nmnist_mlp(params: SRMParameters = SRMParameters(), method: FilterMethod = FilterMethod.IIR) -> SNNSequential:
    """N-MNIST MLP ``34x34x2-500-500-10`` (paper: 98.89 %). Input ``[T, B, 2, 34, 34]``."""
    return SNNSequential(
        Flatten(),
        _dense(2 * 34 * 34, 500, params, method),
        _dense(500, 500, params, method),
        _dense(500, 10, params, method),
    )


def mnist_cnn(params: SRMParameters = SRMParameters(), method: FilterMethod = FilterMethod.IIR) -> SNNSequential:
    """MNIST CNN ``28x28-12c5-2a-64c5-2a-10o`` (paper: 99.36 %) on spike-encoded images ``[T, B, 1, 28, 28]``.

    Sizes: 28 -> 24 -> 12 -> 8 -> 4 -> 1 024 -> 10. The paper encoded images as 25 ms spike trains.
    """
    return SNNSequential(
        _conv(1, 12, 5, params, method), _pool(2, params, method),
        _conv(12, 64, 5, params, method), _pool(2, params, method),
        Flatten(), _dense(64 * 4 * 4, 10, params, method),
    )  # fmt: skip


def dvs_gesture_cnn(
    params: SRMParameters = SRMParameters(), dropout: float = 0.1, method: FilterMethod = FilterMethod.IIR
) -> SNNSequential:
    """DVS Gesture ``128x128x2-4a-16c5d-2a-32c3d-2a-512d-11`` with learnable delays (paper: 93.64 %).

    Input ``[T, B, 2, 128, 128]``. Sizes as slayerPytorch's IBM Gesture example (same-padded convs):
    128 -> 32 (4a) -> 32 (16c5) -> 16 (2a) -> 16 (32c3) -> 8 (2a) -> 2 048 -> 512 -> 11. Delays: one per
    channel after each conv, one per neuron after the 512 layer. ``dropout`` (example: 0.1) drops whole
    neurons for the whole sample before the convs and the dense layers.
    """
    return SNNSequential(
        _pool(4, params, method),
        *_dropout(dropout), _conv(2, 16, 5, params, method, padding=2, delay=True), _pool(2, params, method),
        *_dropout(dropout), _conv(16, 32, 3, params, method, padding=1, delay=True), _pool(2, params, method),
        Flatten(), *_dropout(dropout), _dense(32 * 8 * 8, 512, params, method, delay=True),
        *_dropout(dropout), _dense(512, 11, params, method),
    )  # fmt: skip


def fsdd_mlp(
    in_features: int = 64,
    hidden: int = 256,
    params: SRMParameters = SRMParameters(),
    method: FilterMethod = FilterMethod.IIR,
) -> SNNSequential:
    """Fully connected net for spoken digits: ``[T, B, 2, n_mels]`` ON/OFF spikes -> ``hidden`` -> 10.

    The paper's TIDIGITS net was fully connected on a different encoding (MFCC + SOM); its sizes are not
    published, so ``hidden`` is a free choice. ``in_features = 2 * n_mels`` of the
    :class:`~spikegrad.data.audio.MelSpikeEncoder`.
    """
    return SNNSequential(Flatten(), _dense(in_features, hidden, params, method), _dense(hidden, 10, params, method))

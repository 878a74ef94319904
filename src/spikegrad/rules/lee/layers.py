r"""Layers of Lee et al. (2020) spike-based backpropagation networks, time-first ``[T, B, ...]``.

- :class:`LeeNeuron` / :class:`LeeLIF`: spiking neurons with hard reset and Lee's gradient path
  (:func:`spikegrad.rules.lee.scan.lee_neuron_scan`).
- :class:`SpikingAvgPool2d`: average pooling feeding IF neurons (threshold 0.75, no leak, hard reset).
- :class:`IntegratingReadout`: the non-spiking output layer, ``o = M[T] / (V_th T)``.
- :class:`LeeResidualBlock`: conv -> LIF -> dropout -> conv (+ shortcut current into the membrane) -> LIF
  -> dropout.
- :class:`LeeNetwork`: an :class:`~spikegrad.nn.SNNSequential` that runs inference in time chunks.

Every layer returns ``(output, state)``; the state continues the sequence. Training must see the whole
window in one call (the gradient factor is computed from the window's spikes), which
:class:`LeeNetwork` does; at inference, chunks give identical numbers with bounded memory.
Dropout between layers is :class:`~spikegrad.nn.TimeFixedDropout` (one mask per sample, fixed over all
steps, survivors scaled by ``1/(1-p)``), as in the paper and the code.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import torch
from torch import nn

from spikegrad.errors import ConfigError, ShapeError
from spikegrad.functional.neuron import (
    IFParameters,
    LIFParameters,
    NeuronParameters,
    NeuronState,
    Reset,
)
from spikegrad.nn.base import SpikingLayer, StatefulModule
from spikegrad.nn.dropout import TimeFixedDropout
from spikegrad.nn.sequential import SNNSequential
from spikegrad.nn.spec import NeuronSpec, Realize
from spikegrad.nn.synapses import AvgPool2d, Conv2d
from spikegrad.rules.lee.derivative import LeakCorrectedDerivative
from spikegrad.rules.lee.scan import LeeGradientPath, lee_integrate, lee_neuron_scan
from spikegrad.types import check_time_first


@dataclasses.dataclass(frozen=True)
class LeeLayerConfig:
    """The neuron constants of a Lee network (defaults: every original script).

    Attributes:
        leak: per-step membrane leak factor of the LIF layers (``lambda = 0.99``).
        threshold: firing threshold of the LIF layers (1).
        pool_threshold: firing threshold of the spiking average-pooling IF neurons (0.75).
        output_leak: leak of the non-spiking output integrator (0.99, forward only).
        output_threshold: the output is divided by it (1).
        gradient: :class:`~spikegrad.rules.lee.scan.LeeGradientPath` (``CODE`` = the reference code's).
    """

    leak: float = 0.99
    threshold: float = 1.0
    pool_threshold: float = 0.75
    output_leak: float = 0.99
    output_threshold: float = 1.0
    gradient: LeeGradientPath = LeeGradientPath.CODE

    def __post_init__(self) -> None:
        object.__setattr__(self, "gradient", LeeGradientPath.parse(self.gradient))
        for name in ("leak", "output_leak"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                raise ConfigError(name, f"must lie in (0, 1], got {value!r}")
        for name in ("threshold", "pool_threshold", "output_threshold"):
            if not getattr(self, name) > 0:
                raise ConfigError(name, f"must be > 0, got {getattr(self, name)!r}")


def lee_neuron_parameters(leak: float, threshold: float) -> NeuronParameters:
    """Lee's neuron: LIF with ``beta = leak`` (or IF when ``leak == 1``), strict threshold, reset to zero."""
    if leak == 1.0:
        return IFParameters(threshold=threshold, reset=Reset.ZERO, strict=True)
    return LIFParameters.from_beta(leak, threshold=threshold, reset=Reset.ZERO, strict=True)


class LeeNeuron(SpikingLayer):
    """Spiking neurons with hard reset trained by Lee's rule (:func:`~spikegrad.rules.lee.scan.lee_neuron_scan`).

    Args:
        params: the neuron (must reset to zero).
        derivative: the per-neuron gradient factor computed from the window's output spikes.
        gradient: :class:`~spikegrad.rules.lee.scan.LeeGradientPath`.

    Shape: input currents ``[T, B, *features]``; output 0/1 spikes of the same shape; state
    :class:`~spikegrad.functional.NeuronState` with ``v[B, *features]``.
    """

    def __init__(self, params: NeuronParameters, derivative: LeakCorrectedDerivative,
                 gradient: LeeGradientPath | str = LeeGradientPath.CODE):
        super().__init__()
        self.params, self.derivative = params, derivative
        self.gradient = LeeGradientPath.parse(gradient)

    def forward(self, x: torch.Tensor, state: NeuronState | None = None) -> tuple[torch.Tensor, NeuronState]:
        check_time_first(x, type(self).__name__ + " input", min_dims=2)  # the scan checks dtype and values
        out = lee_neuron_scan(x, self.params, self.derivative, self.gradient, state, keep_membrane=self.recording)
        self.keep(out.spikes, out.membrane)
        return out.spikes, out.state

    @property
    def kind(self) -> str:
        leaky = self.params.mem_decay < 1.0
        return f"{'LIF' if leaky else 'IF'} (V_th {self.params.threshold:g})"

    def extra_repr(self) -> str:
        return (f"threshold={self.params.threshold}, leak={self.params.mem_decay:.4g}, "
                f"gradient={self.gradient.value}, derivative={self.derivative}")


class LeeLIF(LeeNeuron):
    """Lee's LIF neurons: leak ``lambda``, threshold ``V_th``, hard reset; gradient factor ``NG / V_th``."""

    def __init__(self, leak: float = 0.99, threshold: float = 1.0,
                 gradient: LeeGradientPath | str = LeeGradientPath.CODE):
        super().__init__(lee_neuron_parameters(leak, threshold), LeakCorrectedDerivative(leak, threshold), gradient)


class SpikingAvgPool2d(StatefulModule):
    """Spatial average pooling feeding IF neurons: ``P[t] = P[t-1](1 - q[t-1]) + avgpool(s)[t]``,
    ``q[t] = H(P[t] - threshold)`` (strict), as the reference code's ``Pooling_sNeuron``.

    With binary inputs and a 2x2 kernel each spike is worth 0.25, so at threshold 0.75 a pooling neuron
    needs four input spikes (three when dropout scales spikes by 1.25). Gradient: spike-gated, leak-free
    and reset-gated like the LIF layers, but with no ``1/V_th`` scaling and no leak correction (the
    code registers no hook on pooling spikes): factor 1 for a pooling neuron that fired, else 0.

    ``neuron`` replaces the pooling neurons by another rule's module of the same slot.

    Shape: ``[T, B, C, H, W]`` -> ``[T, B, C, H/k, W/k]``.
    """

    def __init__(self, kernel_size: int = 2, threshold: float = 0.75,
                 gradient: LeeGradientPath | str = LeeGradientPath.CODE, neuron: nn.Module | None = None):
        super().__init__()
        self.pool = AvgPool2d(kernel_size)
        self.neuron = neuron if neuron is not None else LeeNeuron(
            IFParameters(threshold=threshold, reset=Reset.ZERO, strict=True), LeakCorrectedDerivative(leak=1.0, threshold=1.0),
            gradient)

    def forward(self, x: torch.Tensor, state: NeuronState | None = None) -> tuple[torch.Tensor, NeuronState]:
        return self.neuron(self.pool(x), state)


class IntegratorState(NamedTuple):
    """State of :class:`IntegratingReadout`: membrane ``M[B, ...]`` and the number of steps seen."""

    membrane: torch.Tensor
    steps: int


class IntegratingReadout(StatefulModule):
    r"""Non-spiking output layer: ``M[t] = leak (M[t-1] + c[t])``; output trace ``M[t] / (V_th n_t)``.

    ``n_t`` counts the steps seen so far (including earlier chunks), so the last step of a window of
    ``T`` steps is the network output ``o = M[T] / (V_th T)`` of the reference code. The leak acts in the
    forward pass only (:func:`~spikegrad.rules.lee.scan.lee_integrate`): backward, ``do/dc[t] = 1/(V_th T)``
    at every step.

    Shape: input currents ``[T, B, C]`` (e.g. from a bias-free :class:`~spikegrad.nn.Dense`); output
    ``[T, B, C]``.
    """

    def __init__(self, leak: float = 0.99, threshold: float = 1.0):
        super().__init__()
        if not threshold > 0:
            raise ConfigError("output_threshold", f"must be > 0, got {threshold!r}")
        self.leak, self.threshold = leak, threshold

    def forward(self, x: torch.Tensor, state: IntegratorState | None = None) -> tuple[torch.Tensor, IntegratorState]:
        check_time_first(x, "IntegratingReadout input", min_dims=2)
        seen = 0 if state is None else state.steps
        membrane = lee_integrate(x, self.leak, None if state is None else state.membrane)
        count = torch.arange(seen + 1, seen + x.shape[0] + 1, device=x.device, dtype=x.dtype)
        output = membrane / (self.threshold * count.reshape(-1, *([1] * (x.dim() - 1))))
        return output, IntegratorState(membrane[-1], seen + x.shape[0])

    def extra_repr(self) -> str:
        return f"leak={self.leak}, threshold={self.threshold}"


class LeeResidualBlock(StatefulModule):
    r"""Residual block of the reference ResNet11: the shortcut adds *current* into the second membrane.

    .. math::
        s_1 = \mathrm{LIF}_1(\mathrm{conv}_1(x)) \odot m_1,\qquad
        s_2 = \mathrm{LIF}_2(\mathrm{conv}_2(s_1) + \mathrm{shortcut}(x)) \odot m_2

    with 3x3 convolutions (padding 1, no bias), the stride on ``conv_2``, dropout masks :math:`m` fixed
    over the window, and ``shortcut`` a trainable 1x1 convolution (same stride) when the channel count
    changes, else the identity subsampled by ``stride`` (the code's ``AvgPool2d(kernel 1, stride 2)``).
    ``x`` is the block input as given (already masked by the previous block's dropout).

    ``layer`` builds the two LIF layers of another rule (default: Lee's).

    Shape: ``[T, B, C_in, H, W]`` -> ``[T, B, C_out, H/stride, W/stride]``; state ``(state_1, state_2)``.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, dropout: float = 0.0,
                 config: LeeLayerConfig = LeeLayerConfig(), layer: Realize | None = None):
        super().__init__()
        if stride < 1:
            raise ConfigError("stride", f"must be >= 1, got {stride}")

        def lif() -> nn.Module:
            if layer is None:
                return LeeLIF(config.leak, config.threshold, config.gradient)
            return layer(NeuronSpec(lee_neuron_parameters(config.leak, config.threshold)))

        self.conv1 = Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
        self.lif1 = lif()
        self.drop1 = TimeFixedDropout(dropout)
        self.conv2 = Conv2d(out_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        if in_channels != out_channels:
            self.shortcut: nn.Module = Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)
        elif stride > 1:
            self.shortcut = AvgPool2d(1, stride)
        else:
            self.shortcut = nn.Identity()
        self.lif2 = lif()
        self.drop2 = TimeFixedDropout(dropout)

    def forward(self, x: torch.Tensor, state: tuple[Any, Any] | None = None) -> tuple[torch.Tensor, tuple[Any, Any]]:
        if x.dim() != 5:
            raise ShapeError("LeeResidualBlock input", "[T, B, C, H, W]", tuple(x.shape))
        first, second = (None, None) if state is None else state
        hidden, first = self.lif1(self.conv1(x), first)
        hidden = self.drop1(hidden)
        out, second = self.lif2(self.conv2(hidden) + self.shortcut(x), second)
        return self.drop2(out), (first, second)


class LeeNetwork(SNNSequential):
    """:class:`~spikegrad.nn.SNNSequential` that, at inference (eval mode, no autograd), runs the window
    in chunks of ``inference_chunk`` steps carrying every layer's state.

    The numbers are those of one call on the whole window; only peak memory changes (a VGG9 on a
    CIFAR batch of 256 at ``T = 100`` would otherwise hold 6.7 GB per layer). Training, and any call with
    autograd enabled, sees the whole window at once, as Lee's rule requires.
    """

    def __init__(self, *layers: nn.Module, inference_chunk: int = 10):
        super().__init__(*layers)
        if inference_chunk < 0:
            raise ConfigError("inference_chunk", f"must be >= 0 (0 = no chunking), got {inference_chunk}")
        self.inference_chunk = inference_chunk

    def forward(self, x: torch.Tensor, states: list[Any] | None = None) -> tuple[torch.Tensor, list[Any]]:  # type: ignore[override]
        chunk = self.inference_chunk
        if self.training or torch.is_grad_enabled() or chunk == 0 or x.shape[0] <= chunk:
            return super().forward(x, states)
        outputs = []
        for start in range(0, x.shape[0], chunk):
            y, states = super().forward(x[start:start + chunk], states)
            outputs.append(y)
        return torch.cat(outputs), states  # type: ignore[return-value]

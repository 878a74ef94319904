"""Synapse layers for time-first spike tensors ``[T, B, ...]``.

Stateless layers act on every time step independently, so they fold time into the batch and run as one
large operation (one GEMM or convolution for the whole sequence) instead of T small ones.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from spikegrad.errors import ConfigError, ShapeError
from spikegrad.functional.event_linear import event_linear
from spikegrad.nn.synapse_mode import SynapseMode, use_event_path


def fold_time(x: torch.Tensor, layer: nn.Module, name: str, image_dims: int) -> torch.Tensor:
    """Apply a per-step ``layer`` to ``x[T, B, *image]`` by folding T into B."""
    if x.dim() != 2 + image_dims:
        raise ShapeError(name + " input", f"[T, B] + {image_dims} feature dims", tuple(x.shape))
    steps, batch = x.shape[:2]
    y = layer(x.reshape(steps * batch, *x.shape[2:]))
    return y.reshape(steps, batch, *y.shape[1:])


class Dense(nn.Linear):
    """Fully connected synapses: ``y_t = W x_t (+ b)`` for every step; input ``[T, B, in]``, output ``[T, B, out]``.

    ``synapse_mode`` (:class:`~spikegrad.nn.synapse_mode.SynapseMode`): ``dense`` multiplies the whole
    input, ``event`` sums the weights of its non-zeros only
    (:func:`~spikegrad.functional.event_linear.event_linear`, same numbers to float rounding), ``auto``
    (default) picks the event path for sparse CPU inputs.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 synapse_mode: SynapseMode | str = SynapseMode.AUTO, **factory):
        super().__init__(in_features, out_features, bias, **factory)
        self.synapse_mode = SynapseMode.parse(synapse_mode)
        self.path_calls = {"event": 0, "dense": 0}  # forward calls per path, for run summaries

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 3 or x.shape[-1] != self.in_features:
            raise ShapeError("Dense input", f"[T, B, {self.in_features}]", tuple(x.shape))
        event = use_event_path(x, self.synapse_mode)
        self.path_calls["event" if event else "dense"] += 1
        return event_linear(x, self.weight, self.bias) if event else F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", synapse_mode={self.synapse_mode.value}"


class Conv2d(nn.Conv2d):
    """2-D convolutional synapses applied at every step: input ``[T, B, C, H, W]`` -> ``[T, B, C', H', W']``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        if x.dim() != 5 or x.shape[2] != self.in_channels:
            raise ShapeError("Conv2d input", f"[T, B, {self.in_channels}, H, W]", tuple(x.shape))
        return fold_time(x, super().forward, "Conv2d", 3)


class AvgPool2d(nn.Module):
    """Spatial average pooling at every step: ``[T, B, C, H, W]`` -> ``[T, B, C, H/k, W/k]``."""

    def __init__(self, kernel_size: int, stride: int | None = None):
        super().__init__()
        if kernel_size < 1:
            raise ConfigError("kernel_size", f"must be >= 1, got {kernel_size}")
        self.kernel_size, self.stride = kernel_size, stride or kernel_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fold_time(x, lambda y: F.avg_pool2d(y, self.kernel_size, self.stride), "AvgPool2d", 3)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}"


class SumPool2d(AvgPool2d):
    """Spatial sum pooling at every step (average pooling times ``kernel_size**2``), optionally scaled.

    ``scale`` multiplies the sum (SLAYER pools with a fixed weight ``1.1 * theta``).
    """

    def __init__(self, kernel_size: int, stride: int | None = None, scale: float = 1.0):
        super().__init__(kernel_size, stride)
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x) * (self.scale * self.kernel_size**2)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", scale={self.scale}"


class Flatten(nn.Module):
    """Flatten the features of ``[T, B, ...]`` into ``[T, B, F]``; time and batch are kept."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 3:
            raise ShapeError("Flatten input", "[T, B, features...]", tuple(x.shape))
        return x.flatten(2)

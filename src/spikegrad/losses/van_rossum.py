r"""The van Rossum loss between output and desired spike trains (van Rossum 2001), differentiable.

.. math:: L = \frac{1}{2} \sum_{t, b, i} \big((h * (o - d))_{t,b,i}\big)^2, \qquad h_n = e^{-n\,dt/\tau}

with the causal exponential filter :math:`h` (``tau_ms`` over the grid step ``dt_ms``), summed over time,
batch and neurons: the squared van Rossum distance up to the factor ``(1 - e^{-2 dt/tau}) / 2``
(:func:`spikegrad.analysis.spike_metrics.van_rossum_distance`). The standard loss of surrogate-gradient
training on spike times.
"""

from __future__ import annotations

import math

import torch

from spikegrad.errors import ConfigError, ShapeError
from spikegrad.functional.recursive_filter import exponential_filter


def van_rossum_loss(output: torch.Tensor, desired: torch.Tensor, dt_ms: float, tau_ms: float = 5.0) -> torch.Tensor:
    """``L`` above for spike trains ``[T, B, ...]`` of equal shape."""
    if output.shape != desired.shape or output.dim() < 2:
        got = f"{tuple(output.shape)} and {tuple(desired.shape)}"
        raise ShapeError("van_rossum_loss output/desired", "two equal shapes [T, B, ...]", got)
    if not (dt_ms > 0 and tau_ms > 0):
        raise ConfigError("tau_ms", f"need dt_ms > 0 and tau_ms > 0, got {dt_ms!r}, {tau_ms!r}")
    difference = exponential_filter(output - desired.to(output.dtype), math.exp(-dt_ms / tau_ms))
    return 0.5 * difference.square().sum()

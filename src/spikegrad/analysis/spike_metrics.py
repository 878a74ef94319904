r"""Distances and similarities between spike trains on a time grid ``[T, B, n]`` (0/1, step ``dt_ms``).

*Correlation* (the NormAD papers' measure): both trains are low-pass filtered with a kernel :math:`k`,
:math:`L = k * S`, and

.. math:: \mathcal C = \frac{\langle L_d, L_o\rangle}{\lVert L_d\rVert\,\lVert L_o\rVert}\in[0, 1]

(1 for identical trains, near 0 for trains far apart compared with the kernel's width, independent of the
kernel's amplitude). By convention :math:`\mathcal C = 1` when both trains are empty and 0 when only one is.
Kernels: causal exponential :math:`e^{-t/\tau}` (the group's code, :math:`\tau = 5` ms) or a Gaussian of
width :math:`\sigma` (Schreiber et al.; which one the paper used is UNVERIFIED).

*van Rossum distance*: with :math:`f = e^{-t/\tau}H(t) * S` (dimensionless),

.. math:: D = \Big(\frac{1}{\tau}\int_0^{T} (f_d - f_o)^2\,dt\Big)^{1/2},

so one unmatched spike far from the end gives :math:`D = 1/\sqrt2`. Between grid points
:math:`f_d - f_o` decays exactly as :math:`e^{-t/\tau}`, so the integral is summed exactly per step.
"""

from __future__ import annotations

import dataclasses
import math

import torch

from spikegrad.errors import ConfigError, ShapeError
from spikegrad.functional.recursive_filter import exponential_filter
from spikegrad.types import check_time_first


@dataclasses.dataclass(frozen=True)
class ExponentialKernel:
    """Causal filter :math:`e^{-t/\\tau}` for :math:`t \\ge 0` (``tau_ms`` in ms)."""

    tau_ms: float = 5.0

    def filter(self, trains: torch.Tensor, dt_ms: float) -> torch.Tensor:
        return exponential_filter(trains, math.exp(-dt_ms / self.tau_ms))


@dataclasses.dataclass(frozen=True)
class GaussianKernel:
    """Symmetric filter :math:`e^{-t^2/(2\\sigma^2)}`, truncated at ``4 sigma`` (``sigma_ms`` in ms)."""

    sigma_ms: float = 2.0

    def filter(self, trains: torch.Tensor, dt_ms: float) -> torch.Tensor:
        half = max(1, math.ceil(4 * self.sigma_ms / dt_ms))
        lags = torch.arange(-half, half + 1, dtype=trains.dtype, device=trains.device) * dt_ms
        weights = torch.exp(-0.5 * (lags / self.sigma_ms) ** 2)
        columns = trains.flatten(1).T.unsqueeze(1)  # [B*n, 1, T]
        smooth = torch.nn.functional.conv1d(columns, weights.view(1, 1, -1), padding=half)
        return smooth.squeeze(1).T.reshape(trains.shape)


FilterKernel = ExponentialKernel | GaussianKernel


def _check_pair(desired: torch.Tensor, observed: torch.Tensor, dt_ms: float) -> None:
    check_time_first(desired, "desired")
    if observed.shape != desired.shape:
        raise ShapeError("observed", f"{list(desired.shape)} (the desired trains' shape)", tuple(observed.shape))
    if not dt_ms > 0:
        raise ConfigError("dt_ms", f"time step must be > 0 ms, got {dt_ms!r}")


def spike_correlation(
    desired: torch.Tensor, observed: torch.Tensor, dt_ms: float, kernel: FilterKernel = ExponentialKernel()
) -> torch.Tensor:
    """Correlation :math:`\\mathcal C` per train, ``[B, n]``, of trains ``[T, B, n]`` (module docstring)."""
    _check_pair(desired, observed, dt_ms)
    filtered_d = kernel.filter(desired.to(torch.float64), dt_ms)
    filtered_o = kernel.filter(observed.to(torch.float64), dt_ms)
    inner = (filtered_d * filtered_o).sum(0)
    norm_d, norm_o = filtered_d.norm(dim=0), filtered_o.norm(dim=0)
    both_empty = (norm_d == 0) & (norm_o == 0)
    ratio = inner / (norm_d * norm_o).clamp(min=torch.finfo(torch.float64).tiny)
    return torch.where(both_empty, 1.0, ratio)


def van_rossum_distance(desired: torch.Tensor, observed: torch.Tensor, dt_ms: float, tau_ms: float = 5.0) -> torch.Tensor:
    """van Rossum distance per train, ``[B, n]`` (dimensionless), of trains ``[T, B, n]`` (module docstring)."""
    _check_pair(desired, observed, dt_ms)
    if not tau_ms > 0:
        raise ConfigError("tau_ms", f"must be > 0 ms, got {tau_ms!r}")
    decay = math.exp(-dt_ms / tau_ms)
    difference = exponential_filter((desired.to(torch.float64) - observed.to(torch.float64)), decay)
    return ((difference**2).sum(0) * (1.0 - decay**2) / 2.0).sqrt()

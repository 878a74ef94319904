r"""Rate coding: intensities become Bernoulli (Poisson-process) spike trains.

For an intensity :math:`p \in [0, 1]` (spike probability per step; ``p = rate * dt``), each step draws
:math:`s_t \sim \mathrm{Bernoulli}(p)` independently. The *signed* variant (Lee et al. 2020) codes
:math:`x \in [-1, 1]` as :math:`s_t = \mathrm{sign}(x)\,\mathrm{Bernoulli}(|x|)`, i.e. spikes of -1 or +1.
"""

from __future__ import annotations

import torch

from spikegrad.errors import ConfigError, ShapeError


def _check(intensity: torch.Tensor, steps: int, low: float) -> None:
    if steps < 1:
        raise ConfigError("steps", f"number of time steps must be >= 1, got {steps}")
    if intensity.numel() and (intensity.min() < low or intensity.max() > 1.0 or not torch.isfinite(intensity).all()):
        raise ShapeError("intensity", f"values in [{low:g}, 1]", f"range [{intensity.min():g}, {intensity.max():g}]")


def poisson_encode(intensity: torch.Tensor, steps: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Spike trains ``[steps, *intensity.shape]`` with ``P(s_t = 1) = intensity`` at every step."""
    _check(intensity, steps, 0.0)
    noise = torch.rand((steps, *intensity.shape), generator=generator, device=intensity.device, dtype=intensity.dtype)
    return (noise < intensity).to(intensity.dtype)


def signed_poisson_encode(value: torch.Tensor, steps: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Signed spike trains ``[steps, *value.shape]`` in {-1, 0, 1}: ``sign(value) * Bernoulli(|value|)``."""
    _check(value, steps, -1.0)
    return poisson_encode(value.abs(), steps, generator) * torch.sign(value)

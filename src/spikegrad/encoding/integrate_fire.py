r"""Deterministic integrate-and-fire coding of static intensities (SLAYER's MNIST input).

Each value drives a non-leaky integrator with constant input ``gain * p`` per step, spiking when the
integral reaches 1 and resetting by subtraction:

.. math:: s_n = \lfloor (n + 1)\, g\, p \rfloor - \lfloor n\, g\, p \rfloor \in \{0, 1\}\quad(g\,p \le 1)

so a value ``p`` in [0, 1] gives ``floor(T g p)`` regularly spaced spikes in ``T`` steps. A stand-in for the
SLAYER paper's "generalized integrate-and-fire" encoding, whose parameters are unpublished.
"""

from __future__ import annotations

import torch

from spikegrad.errors import ConfigError


def integrate_and_fire_encode(intensity: torch.Tensor, steps: int, gain: float) -> torch.Tensor:
    """Spike trains ``[steps, *intensity.shape]`` of intensities in [0, 1] (see the module docstring)."""
    if steps < 1:
        raise ConfigError("steps", f"must be >= 1, got {steps}")
    if not gain > 0:
        raise ConfigError("if_gain", f"must be > 0, got {gain!r}")
    level = torch.arange(1, steps + 1, dtype=intensity.dtype, device=intensity.device).view(-1, *([1] * intensity.dim()))
    level = level * (gain * intensity)
    count = torch.floor(level + 1e-6)
    return torch.diff(count, dim=0, prepend=torch.zeros_like(count[:1])).clamp_(0, 1)

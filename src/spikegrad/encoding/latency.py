r"""Latency (time-to-first-spike) coding: stronger inputs spike earlier, each input at most once.

Linear code: an intensity :math:`p \in (0, 1]` fires once at step
:math:`t = \mathrm{round}\big((1 - p)\,(T - 1)\big)`; intensities at or below ``threshold`` never fire.
"""

from __future__ import annotations

import torch

from spikegrad.errors import ConfigError, ShapeError


def latency_encode(intensity: torch.Tensor, steps: int, threshold: float = 0.0) -> torch.Tensor:
    """One-spike trains ``[steps, *intensity.shape]``: intensity 1 fires at step 0, intensity -> 0 at ``steps - 1``."""
    if steps < 1:
        raise ConfigError("steps", f"number of time steps must be >= 1, got {steps}")
    if intensity.numel() and (intensity.min() < 0 or intensity.max() > 1 or not torch.isfinite(intensity).all()):
        raise ShapeError("intensity", "values in [0, 1]", f"range [{intensity.min():g}, {intensity.max():g}]")
    fire_step = torch.round((1.0 - intensity) * (steps - 1)).long()
    spikes = torch.zeros((steps, *intensity.shape), dtype=intensity.dtype, device=intensity.device)
    fires = intensity > threshold
    spikes.scatter_(0, fire_step.unsqueeze(0), fires.unsqueeze(0).to(intensity.dtype))
    return spikes

"""RGB <-> HSV conversion of image batches ``[B, 3, H, W]`` (for hue jitter)."""

from __future__ import annotations

import torch


def rgb_to_hsv(rgb: torch.Tensor) -> torch.Tensor:
    """RGB ``[B, 3, H, W]`` in [0, 1] to HSV with hue, saturation and value in [0, 1] (hue in turns)."""
    r, g, b = rgb.unbind(1)
    high, argmax = rgb.max(1)
    low = rgb.min(1).values
    span = high - low
    safe = torch.where(span > 0, span, torch.ones_like(span))
    hue = torch.stack([((g - b) / safe) % 6, (b - r) / safe + 2, (r - g) / safe + 4], 1).gather(1, argmax.unsqueeze(1)).squeeze(1)
    hue = torch.where(span > 0, hue / 6, torch.zeros_like(hue))
    sat = torch.where(high > 0, span / torch.where(high > 0, high, torch.ones_like(high)), torch.zeros_like(high))
    return torch.stack([hue, sat, high], 1)


def hsv_to_rgb(hsv: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`rgb_to_hsv`: HSV ``[B, 3, H, W]`` in [0, 1] to RGB in [0, 1]."""
    hue, sat, val = hsv.unbind(1)
    k = torch.stack([(5 + hue * 6) % 6, (3 + hue * 6) % 6, (1 + hue * 6) % 6], 1)
    return val.unsqueeze(1) - (val * sat).unsqueeze(1) * torch.clamp(torch.minimum(k, 4 - k), 0, 1)

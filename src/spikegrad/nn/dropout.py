"""Dropout whose mask is drawn once per sample and kept for every time step."""

from __future__ import annotations

import torch
from torch import nn

from spikegrad.errors import ConfigError, ShapeError


class TimeFixedDropout(nn.Module):
    """Drop each unit with probability ``p`` for the whole sequence; scale survivors by ``1/(1-p)``.

    One Bernoulli mask of shape ``[1, B, *features]`` is drawn per forward call and broadcast over time,
    so a dropped neuron stays silent for the whole sample (Lee et al. 2020; SLAYER's ``dropout3d``).
    Identity in eval mode. Input ``[T, B, ...]``.
    """

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ConfigError("dropout", f"probability must lie in [0, 1), got {p!r}")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 3:
            raise ShapeError("TimeFixedDropout input", "[T, B, features...]", tuple(x.shape))
        if not self.training or self.p == 0.0:
            return x
        keep = torch.empty((1, *x.shape[1:]), dtype=x.dtype, device=x.device).bernoulli_(1.0 - self.p)
        return x * keep / (1.0 - self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"

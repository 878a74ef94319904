r"""Non-spiking leaky integrator, the usual readout of a spiking network.

.. math:: v_t = \beta\, v_{t-1} + x_t,\qquad \beta = e^{-dt/\tau}

(``beta = 1`` gives a plain integrator). Inputs ``x[T, B, ...]``; returns the trace ``v[T, B, ...]``,
computed by the chunked recursive filter :func:`~spikegrad.functional.recursive_filter.exponential_filter`
(autograd-friendly, O(T) sequential depth / 64).
"""

from __future__ import annotations

import torch

from spikegrad.errors import ConfigError, ShapeError
from spikegrad.functional.recursive_filter import exponential_filter


def leaky_integrate(x: torch.Tensor, beta: float, v0: torch.Tensor | None = None) -> torch.Tensor:
    """Membrane trace of a leaky integrator driven by ``x[T, B, ...]`` from ``v0`` (zeros if None)."""
    if not 0.0 <= beta <= 1.0:
        raise ConfigError("beta", f"leak factor must lie in [0, 1], got {beta!r}")
    if x.dim() < 2:
        raise ShapeError("x", "[T, B, ...] (time first)", tuple(x.shape))
    return exponential_filter(x, beta, v0)

r"""First-order recursive filter along time, vectorized over the time axis.

.. math:: y_n = a\,y_{n-1} + x_n,\qquad y_{-1} = y_0^{\text{carry}}

along dim 0 of ``x[T, ...]`` (``a`` in [0, 1], dimensionless). Instead of ``T`` sequential steps the
sequence is cut into chunks of ``L`` steps: inside a chunk the response is one matrix product with the
lower-triangular Toeplitz matrix :math:`A_{ij} = a^{i-j}`, and the chunk ends, a sequence ``L`` times
shorter, are filtered recursively with :math:`a^L` and carried into the next chunk. Cost
:math:`O(T L)` multiply-adds per channel and about :math:`\log_L T` sequential levels; only powers
:math:`a^k \le 1` appear, so the result is as accurate as the plain recursion.
"""

from __future__ import annotations

import math

import torch

from spikegrad.errors import ConfigError, ShapeError

CHUNK_STEPS = 64


def exponential_filter(x: torch.Tensor, decay: float, initial: torch.Tensor | None = None) -> torch.Tensor:
    """Filter ``x[T, ...]`` with ``y_n = decay * y_{n-1} + x_n`` from ``y_{-1} = initial`` (zeros if None)."""
    if not 0.0 <= decay <= 1.0:
        raise ConfigError("decay", f"must lie in [0, 1], got {decay!r}")
    if x.dim() < 1:
        raise ShapeError("x", "[T, ...] (time first)", tuple(x.shape))
    if initial is not None and initial.shape != x.shape[1:]:
        raise ShapeError("initial", f"{list(x.shape[1:])} (one time step of x)", tuple(initial.shape))
    steps = x.shape[0]
    flat = x.reshape(steps, -1)
    chunks = max(1, math.ceil(steps / CHUNK_STEPS))
    length = min(steps, CHUNK_STEPS)
    padded = torch.nn.functional.pad(flat, (0, 0, 0, chunks * length - steps)).view(chunks, length, -1)
    lag = torch.arange(length, device=x.device, dtype=x.dtype)
    powers = decay ** lag  # a^0 .. a^(L-1)
    toeplitz = torch.tril((decay ** (lag[:, None] - lag[None, :]).clamp(min=0)))
    local = toeplitz @ padded  # [chunks, L, M]: response within each chunk from zero state
    start = flat.new_zeros(1, flat.shape[1]) if initial is None else initial.reshape(1, -1).to(x.dtype)
    if chunks > 1:  # the true chunk ends, filtered with a^L; each chunk starts from its predecessor's end
        ends = exponential_filter(local[:, -1], decay**length, start[0])
        start = torch.cat([start, ends[:-1]])
    y = local + (decay * powers)[None, :, None] * start[:, None, :]
    return y.reshape(chunks * length, -1)[:steps].reshape(x.shape)


def synaptic_trace(x: torch.Tensor, tau: float, initial: torch.Tensor | None = None) -> torch.Tensor:
    r"""First-order synaptic trace of ``x[T, ...]`` with time constant ``tau`` (in steps, >= 1):

    .. math:: a_n = a_{n-1} + (x_n - a_{n-1}) / \tau = (1 - 1/\tau)\,a_{n-1} + x_n / \tau

    (the TSSL-BP/NA code's post-synaptic current; a spike adds ``1/tau``, a constant input ``x`` ramps to
    ``x``). :func:`exponential_filter` of ``x / tau``; differentiable.
    """
    if not (math.isfinite(tau) and tau >= 1.0):
        raise ConfigError("tau_s", f"trace time constant must be a finite number >= 1 (steps), got {tau!r}")
    return exponential_filter(x / tau, 1.0 - 1.0 / tau, initial)

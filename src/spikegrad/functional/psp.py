r"""SLAYER's post-synaptic-potential (PSP) filter and its adjoint, the correlation that reassigns error in time.

On time-first tensors ``x[T, ...]`` (each trailing position is an independent neuron):

.. math::
    \text{filter:}\quad y[n] = \sum_{k=0}^{K-1} h[k]\, x[n-k], \qquad
    \text{adjoint:}\quad z[n] = \sum_{k=0}^{K-1} h[k]\, g[n+k]

(zero outside ``0..T-1``), so that :math:`\langle \mathrm{filter}(x), g\rangle = \langle x, \mathrm{adjoint}(g)\rangle`.
The autograd backward of each is the other, which is SLAYER's temporal credit assignment: an error at
time ``n`` reaches every earlier input whose response still acts at ``n``.

**The 1/Ts convention.** slayerPytorch stores a spike as amplitude ``1/Ts`` and filters with
``a[n] = Ts * sum_k h[k] s[n-k]``. spikegrad's spikes are 0/1 (``x = Ts * s``), so the same ``a`` is
``sum_k h[k] x[n-k]``: one input spike gives exactly the sampled kernel, for any ``Ts``. The ``Ts`` factors
live in the SLAYER spike op and losses, not here.

Two implementations, chosen by :class:`FilterMethod` (one dispatch point, :func:`psp`):

- ``FIR``: the reference, ``y = H x`` with the banded Toeplitz matrix ``H[n, m] = h[n - m]``; any kernel.
- ``IIR``: exact O(T) recursion for an :class:`~spikegrad.functional.alpha_kernel.AlphaKernel`
  ``h[k] = c k r^k`` (``k < K``). With :math:`e = \sum_m r^m x[n-m]` and the untruncated alpha response
  :math:`y_\infty[n] = c\,r\,(w[n])`, :math:`w[n] = r\,w[n-1] + e[n-1]`, the truncated FIR is
  :math:`y[n] = y_\infty[n] - r^K\big(y_\infty[n-K] + cK\,e[n-K]\big)` (the IIR minus its delayed tail).
  Two first-order scans and one subtraction; equal to ``FIR`` to float32 rounding (tested).
"""

from __future__ import annotations

import enum
from typing import Any, Callable

import torch

from spikegrad.errors import ShapeError
from spikegrad.functional.alpha_kernel import AlphaKernel
from spikegrad.kernels import kernel_for


class FilterMethod(enum.Enum):
    """How :func:`psp` evaluates the alpha-kernel filter."""

    FIR = "fir"  # Toeplitz product with the sampled kernel: O(T^2) per neuron, any kernel, the reference
    IIR = "iir"  # recursion, O(T) per neuron, alpha kernels only


def _toeplitz(kernel: torch.Tensor, steps: int) -> torch.Tensor:
    """``H[n, m] = h[n - m]`` for ``0 <= n - m < K``, else 0; shape ``[steps, steps]``."""
    lag = torch.arange(steps, device=kernel.device)
    lag = lag[:, None] - lag[None, :]
    inside = (lag >= 0) & (lag < kernel.numel())
    return torch.where(inside, kernel[lag.clamp(0, kernel.numel() - 1)], kernel.new_zeros(()))


def _fir(x: torch.Tensor, kernel: torch.Tensor, adjoint: bool) -> torch.Tensor:
    matrix = _toeplitz(kernel.to(dtype=x.dtype, device=x.device), x.shape[0])
    if adjoint:
        matrix = matrix.t()
    return (matrix @ x.reshape(x.shape[0], -1)).reshape(x.shape)


def alpha_recursion(x: torch.Tensor, decay: float, adjoint: bool) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The two first-order scans of the IIR filter over ``x[T, ...]`` (backwards in time with ``adjoint``).

    Returns ``(e, w)``: :math:`e[n] = x[n] + r\,e[n-1]` (``e[first] = x[first]``) and
    :math:`w[n] = e[n-1] + r\,w[n-1]` (``w[first] = 0``), with ``r = decay`` (dimensionless) and ``n - 1``
    read as ``n + 1`` in the adjoint. The reference of the kernel ``alpha_recursion``
    (:mod:`spikegrad.kernels.alpha_recursion`).
    """
    steps, r = x.shape[0], decay
    order = range(steps - 1, -1, -1) if adjoint else range(steps)
    xs = x.unbind(0)
    e = torch.empty_like(x)  # exponential trace sum_m r^m x[n-m]
    w = torch.empty_like(x)  # (alpha response) / (c r), before truncation
    es, ws = e.unbind(0), w.unbind(0)
    first = order[0]
    es[first].copy_(xs[first])
    ws[first].zero_()
    for prev, cur in zip(order[:-1], order[1:]):
        torch.add(xs[cur], es[prev], alpha=r, out=es[cur])
        torch.add(es[prev], ws[prev], alpha=r, out=ws[cur])
    return e, w


def _alpha(x: torch.Tensor, kernel: AlphaKernel, adjoint: bool) -> torch.Tensor:
    """Filter (or, with ``adjoint``, correlate) ``x[T, ...]`` with ``kernel`` by the recursion above.

    The adjoint is the same recursion run backwards in time. The scans dispatch through
    :func:`spikegrad.kernels.kernel_for` (a fused Triton kernel for supported CUDA tensors).
    """
    steps, taps, r, c = x.shape[0], kernel.length, kernel.decay, kernel.gain
    e, w = (kernel_for("alpha_recursion", x, r, adjoint) or alpha_recursion)(x, r, adjoint)
    w.mul_(c * r)
    if taps < steps:  # subtract the tail k >= K: r^K (y_inf[n-K] + c K e[n-K]) (n+K in the adjoint)
        source = slice(taps, None) if adjoint else slice(0, steps - taps)
        target = slice(0, steps - taps) if adjoint else slice(taps, None)
        tail = e[source].mul_(c * taps).add_(w[source])
        w[target].sub_(tail, alpha=r**taps)
    return w


class _LinearFilter(torch.autograd.Function):
    """``implementation(x, kernel, adjoint)`` (:func:`_fir` or :func:`_alpha`); its backward is the adjoint."""

    @staticmethod
    def forward(x: torch.Tensor, implementation: Callable, kernel: Any, adjoint: bool) -> torch.Tensor:  # type: ignore[override]
        return implementation(x, kernel, adjoint)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: torch.Tensor) -> None:
        _, ctx.implementation, ctx.kernel, ctx.adjoint = inputs

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor):  # type: ignore[override]
        return _LinearFilter.apply(grad, ctx.implementation, ctx.kernel, not ctx.adjoint), None, None, None


def _check(x: torch.Tensor, name: str) -> None:
    if x.dim() < 1 or x.shape[0] == 0:
        raise ShapeError(name, "[T, ...] (time first, T >= 1)", tuple(x.shape))


def fir_filter(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Causal filter ``y[n] = sum_k h[k] x[n-k]`` of ``x[T, ...]`` with a fixed 1-D ``kernel`` ``h[K]``.

    The kernel is a constant (no gradient flows to it). Backward: :func:`fir_correlate`.
    """
    _check(x, "fir_filter input")
    if kernel.dim() != 1:
        raise ShapeError("fir_filter kernel", "[K]", tuple(kernel.shape))
    return _LinearFilter.apply(x, _fir, kernel.detach(), False)


def fir_correlate(g: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Anti-causal correlation ``z[n] = sum_k h[k] g[n+k]``, the adjoint of :func:`fir_filter`."""
    _check(g, "fir_correlate input")
    if kernel.dim() != 1:
        raise ShapeError("fir_correlate kernel", "[K]", tuple(kernel.shape))
    return _LinearFilter.apply(g, _fir, kernel.detach(), True)


def psp(x: torch.Tensor, kernel: AlphaKernel, method: FilterMethod = FilterMethod.IIR) -> torch.Tensor:
    """SLAYER's PSP: filter ``x[T, ...]`` (0/1 spikes or weighted spikes per bin) with the alpha ``kernel``.

    ``a[n] = sum_k eps[k] x[n-k]`` (membrane units per unit of ``x``), equal to slayerPytorch's
    ``psp(s) = Ts sum_k eps[k] s[n-k]`` for ``s = x / Ts``. Backward: :func:`psp_adjoint`.
    """
    _check(x, "psp input")
    if method is FilterMethod.IIR:
        return _LinearFilter.apply(x, _alpha, kernel, False)
    return _LinearFilter.apply(x, _fir, kernel.tensor(x.dtype, x.device), False)


def psp_adjoint(g: torch.Tensor, kernel: AlphaKernel, method: FilterMethod = FilterMethod.IIR) -> torch.Tensor:
    """SLAYER's error reassignment ``(eps ⊙ g)[n] = sum_k eps[k] g[n+k]``, the adjoint of :func:`psp`."""
    _check(g, "psp_adjoint input")
    if method is FilterMethod.IIR:
        return _LinearFilter.apply(g, _alpha, kernel, True)
    return _LinearFilter.apply(g, _fir, kernel.tensor(g.dtype, g.device), True)

r"""Axonal delay: an integer time shift per neuron (or per channel) with SLAYER's delay gradient.

For ``x[T, B, *features]`` and delays ``d`` (ms, any shape broadcastable to ``features``):

.. math::
    k = \operatorname{trunc}(d / T_s), \qquad y[n] = x[n - k] \quad (0 \text{ outside } 0..T-1)

**Gradients** (slayerPytorch's ``_delayFunction``, kept exactly):

- to ``x``: the shift by ``-k``;
- to ``d``: :math:`\partial E/\partial d = \sum_{n,b}\, g[n]\,(y[n-1] - y[n])` (``y[-1] = 0``), summed over
  time, batch and every feature position that shares the delay. This is the backward difference of the
  *delayed* signal, i.e. the right derivative of a linearly interpolated shift with respect to the delay
  measured **in bins**; it equals ``Ts`` times the derivative with respect to ``d`` in ms (the original
  multiplies by ``Ts`` after dividing the difference by ``Ts``). The forward is piecewise constant in ``d``;
  this gradient is its linearisation.

Delays are causal: NaN, inf and negative delays are refused (:class:`~spikegrad.errors.InputError`);
:class:`spikegrad.nn.AxonalDelay` keeps its parameter in ``[0, max_delay]``.
"""

from __future__ import annotations

from typing import Any

import torch

from spikegrad.errors import ConfigError, InputError, ShapeError
from spikegrad.kernels import kernel_for


def delay_bins(delay: torch.Tensor, ts: float) -> torch.Tensor:
    """Integer shifts ``trunc(d / Ts)`` (int64, shape of ``delay``), truncating toward zero like a C cast."""
    return torch.trunc(delay.detach() / ts).to(torch.int64)


def shift(x: torch.Tensor, bins: torch.Tensor) -> torch.Tensor:
    """``y[n] = x[n - k]`` along dim 0 with zero fill; ``bins`` (int) broadcasts to ``x.shape[2:]``.

    One pass over ``x`` per distinct shift value (delays take few distinct values).
    """
    steps = x.shape[0]
    values = bins.unique().tolist()
    if len(values) == 1:
        return _shifted(x, values[0])
    out = torch.zeros_like(x)
    for k in values:
        if abs(k) >= steps:
            continue
        mask = (bins == k).to(x.dtype)
        if k >= 0:
            out[k:].addcmul_(x[: steps - k], mask)
        else:
            out[:k].addcmul_(x[-k:], mask)
    return out


def _shifted(x: torch.Tensor, k: int) -> torch.Tensor:
    """Uniform shift by ``k`` bins with zero fill."""
    if k == 0:
        return x.clone()
    out = torch.zeros_like(x)
    if abs(k) < x.shape[0]:
        if k > 0:
            out[k:] = x[:-k]
        else:
            out[:k] = x[-k:]
    return out


class _Delay(torch.autograd.Function):
    @staticmethod
    def forward(x: torch.Tensor, delay: torch.Tensor, ts: float) -> torch.Tensor:  # type: ignore[override]
        return shift(x, delay_bins(delay, ts))

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: torch.Tensor) -> None:
        _, delay, ts = inputs
        ctx.save_for_backward(output)
        ctx.bins = delay_bins(delay, ts)
        ctx.delay_shape = delay.shape

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor):  # type: ignore[override]
        (output,) = ctx.saved_tensors
        grad_x = shift(grad, -ctx.bins) if ctx.needs_input_grad[0] else None
        grad_d = None
        if ctx.needs_input_grad[1]:
            per_neuron = (grad[1:] * output[:-1]).sum((0, 1)) - (grad * output).sum((0, 1))
            grad_d = per_neuron.sum_to_size(ctx.delay_shape)
        return grad_x, grad_d, None


def axonal_delay(x: torch.Tensor, delay: torch.Tensor, ts: float) -> torch.Tensor:
    """Delay ``x[T, B, *features]`` by ``delay`` ms (broadcast to ``features``), in whole bins of ``ts`` ms.

    See the module docstring for the forward shift and the gradients to ``x`` and ``delay``. Dispatch: the
    Triton kernel (:mod:`spikegrad.kernels.axonal_delay`) for supported CUDA calls, this reference elsewhere.
    """
    if x.dim() < 3:
        raise ShapeError("axonal_delay input", "[T, B, features...]", tuple(x.shape))
    if not ts > 0:
        raise ConfigError("Ts", f"must be > 0 ms, got {ts!r}")
    try:
        torch.broadcast_shapes(delay.shape, x.shape[2:])
    except RuntimeError:
        raise ShapeError("delay", f"broadcastable to the features {list(x.shape[2:])}", tuple(delay.shape)) from None
    if delay.dim() > x.dim() - 2:
        raise ShapeError("delay", f"at most {x.dim() - 2} dims (one per feature dim)", tuple(delay.shape))
    if not bool(((delay >= 0) & torch.isfinite(delay)).all()):  # one reduction over the (small) delay tensor
        raise InputError("delay", "every delay must be a finite number >= 0 ms (a negative delay would read "
                         f"input from the future); got min {delay.min().item()}, max {delay.max().item()}")
    return (kernel_for("axonal_delay", x, delay, ts) or _Delay.apply)(x, delay, ts)

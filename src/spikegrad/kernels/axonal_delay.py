r"""Fused Triton kernels of the axonal delay (:func:`spikegrad.functional.delay.axonal_delay`): the per-neuron
shift and SLAYER's delay gradient, registered as the torch custom op ``spikegrad::axonal_delay`` with autograd.

For ``x[T, B, *features]`` flattened to ``[T, N]`` (``N = B * F``) and integer shifts ``k_f = trunc(d_f / Ts)``
(``d`` in ms, broadcast to the features):

.. math::
    y[n] = x[n - k_f]\ (0 \text{ outside } 0..T-1),\qquad
    \frac{\partial E}{\partial x}[n] = g[n + k_f],\qquad
    \frac{\partial E}{\partial d_f} = \sum_{n,b} y[n]\,(g[n+1] - g[n])\quad (g[T] = 0)

The shift is one gather per element, a program per (time step, block of neurons), whatever the number of
distinct delays (the reference makes one pass per distinct value). The delay gradient walks time once per
neuron and the batch sum and the broadcast reduction to ``delay``'s shape are torch sums. float32 ``x``.
"""

from __future__ import annotations

from typing import Any

import torch
import triton
import triton.language as tl

BLOCK = 128  # neurons per program: one per thread of 4 warps
INTERPRETED = bool(triton.knobs.runtime.interpret)  # the kernels below were built for Triton's interpreter


@triton.jit(do_not_specialize=["steps", "n", "features"])
def _shift_kernel(x_ptr, bins_ptr, y_ptr, steps, n, features, SIGN: tl.constexpr, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    step = tl.program_id(1)
    source = step - SIGN * tl.load(bins_ptr + offs % features, mask=mask, other=0)
    inside = mask & (source >= 0) & (source < steps)
    value = tl.load(x_ptr + source.to(tl.int64) * n + offs, mask=inside, other=0.0)
    tl.store(y_ptr + step.to(tl.int64) * n + offs, value, mask=mask)


@triton.jit(do_not_specialize=["steps", "n"])
def _delay_gradient_kernel(g_ptr, y_ptr, out_ptr, steps, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    gs, ys = g_ptr + offs, y_ptr + offs
    g = tl.load(gs, mask=mask, other=0.0)
    total = tl.zeros([BLOCK], tl.float32)
    for _ in range(steps - 1):
        following = tl.load(gs + n, mask=mask, other=0.0)
        total += tl.load(ys, mask=mask, other=0.0) * (following - g)
        g = following
        gs += n
        ys += n
    total -= tl.load(ys, mask=mask, other=0.0) * g  # the last step: g[T] = 0
    tl.store(out_ptr + offs, total, mask=mask)


def _bins(x: torch.Tensor, delay: torch.Tensor, ts: float) -> torch.Tensor:
    """``trunc(d / Ts)`` broadcast to the features, flattened, int32, on ``x``'s device."""
    bins = torch.trunc(delay.detach() / ts).to(torch.int32)
    return bins.expand(x.shape[2:]).contiguous().view(-1)


@torch.library.custom_op("spikegrad::delay_shift", mutates_args=())
def shift_op(x: torch.Tensor, bins: torch.Tensor, sign: int) -> torch.Tensor:
    """``y[n] = x[n - sign * bins[f]]`` with zero fill; ``bins`` int32, one per feature (flattened)."""
    x = x.contiguous()
    steps, n = x.shape[0], x[0].numel()
    y = torch.empty_like(x)
    _shift_kernel[(triton.cdiv(n, BLOCK), steps)](x, bins, y, steps, n, bins.numel(), SIGN=sign, BLOCK=BLOCK,
                                                  num_warps=4)
    return y


@shift_op.register_fake
def _(x, bins, sign):
    return torch.empty_like(x.contiguous())


@torch.library.custom_op("spikegrad::axonal_delay", mutates_args=())
def axonal_delay_op(x: torch.Tensor, delay: torch.Tensor, ts: float) -> torch.Tensor:
    """``y[n] = x[n - trunc(d / Ts)]`` with zero fill, for ``x[T, B, *features]`` (float32) and ``delay`` (ms)."""
    return shift_op(x, _bins(x, delay, ts), 1)


@axonal_delay_op.register_fake
def _(x, delay, ts):
    return torch.empty_like(x.contiguous())


@torch.library.custom_op("spikegrad::axonal_delay_gradient", mutates_args=())
def delay_gradient_op(grad: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
    """``sum_n output[n] (grad[n+1] - grad[n])`` per neuron of ``[T, N...]`` tensors (``grad[T] = 0``)."""
    grad, output = grad.contiguous(), output.contiguous()
    steps, n = output.shape[0], output[0].numel()
    out = torch.empty_like(output[0])
    _delay_gradient_kernel[(triton.cdiv(n, BLOCK),)](grad, output, out, steps, n, BLOCK=BLOCK, num_warps=4)
    return out


@delay_gradient_op.register_fake
def _(grad, output):
    return torch.empty_like(output[0].contiguous())


def _setup_context(ctx: Any, inputs: tuple, output: torch.Tensor) -> None:
    x, delay, ts = inputs
    ctx.save_for_backward(output)
    ctx.bins = _bins(x, delay, ts)
    ctx.delay_shape = delay.shape


def _backward(ctx: Any, grad: torch.Tensor):
    (output,) = ctx.saved_tensors
    grad_x = shift_op(grad, ctx.bins, -1) if ctx.needs_input_grad[0] else None
    grad_d = None
    if ctx.needs_input_grad[1]:
        grad_d = delay_gradient_op(grad, output).sum(0).sum_to_size(ctx.delay_shape)
    return grad_x, grad_d, None


axonal_delay_op.register_autograd(_backward, setup_context=_setup_context)


def supports(x: torch.Tensor, delay: torch.Tensor, ts: float) -> str | None:
    """Why the kernel cannot run this call (a sentence), or None when it can."""
    if x.dtype != torch.float32:
        return f"kernels run float32 only, got {x.dtype}"
    if delay.device != x.device:
        return "input and delay are on different devices"
    if x[0].numel() == 0:
        return "no neurons (an empty feature axis)"
    if x.shape[0] > 65535:  # the shift's grid has one program row per time step (CUDA's grid limit in y)
        return f"at most 65535 time steps, got {x.shape[0]}"
    return None


def apply(x: torch.Tensor, delay: torch.Tensor, ts: float) -> torch.Tensor:
    """The delayed ``x``, differentiable in ``x`` and ``delay`` as the reference ``_Delay`` is."""
    return axonal_delay_op(x, delay, ts)

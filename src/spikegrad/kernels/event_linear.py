r"""Fused Triton kernels of the event-driven synapse (:func:`spikegrad.functional.event_linear.event_linear`):
the gather forward and the weight gradient over the active inputs, registered as the torch custom op
``spikegrad::event_linear`` with its autograd.

For ``x[N, in]`` (leading axes flattened) with active inputs :math:`A_n = \{i : x_{n,i} \neq 0\}`, weight
``W[out, in]`` and output gradient :math:`g = \partial L / \partial y`:

.. math::
    y_{n,:} = b + \sum_{i \in A_n} x_{n,i}\, W_{:,i},\qquad
    \frac{\partial L}{\partial W_{:,i}} = \sum_{n:\, i \in A_n} x_{n,i}\, g_{n,:},\qquad
    \frac{\partial L}{\partial x} = g\, W,\qquad \frac{\partial L}{\partial b} = \sum_n g_{n,:}

Forward: one program per (row ``n``, block of ``BLOCK`` outputs) walks the row's active inputs in CSR order
(the reference's coordinates, :class:`~spikegrad.functional.event_linear.ActiveInputs`) and accumulates the
gathered rows of :math:`W^T` in registers, bias added at the end. Weight gradient: the coordinates re-sorted
column-major (CSC, one stable sort), one program per (input column ``i``, block of outputs) walks that
column's active entries and accumulates the gathered rows of ``g``; every element is written by exactly one
program in a fixed order, so the result is deterministic (no atomics). The input gradient is a dense product
(torch), skipped when the input needs none; the bias gradient a torch sum. Only the coordinates (and the
values unless they are all 1) are saved for backward, not the input. float32; units: those of ``x * W``.
"""

from __future__ import annotations

from typing import Any

import torch
import triton
import triton.language as tl

from spikegrad.functional.event_linear import ActiveInputs

BLOCK = 128  # outputs per program: one per thread of 4 warps
INTERPRETED = bool(triton.knobs.runtime.interpret)  # the kernels below were built for Triton's interpreter


@triton.jit(do_not_specialize=["n_out"])
def _gather_kernel(start_ptr, index_ptr, value_ptr, table_ptr, bias_ptr, out_ptr, n_out,
                   HAS_VALUES: tl.constexpr, HAS_BIAS: tl.constexpr, BLOCK: tl.constexpr):
    """``out[p, :] = bias + sum_{j in start[p]..start[p+1]} value[j] * table[index[j], :]`` for one block."""
    p = tl.program_id(0)
    offs = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n_out
    total = tl.zeros([BLOCK], tl.float32)
    for j in range(tl.load(start_ptr + p), tl.load(start_ptr + p + 1)):
        line = tl.load(table_ptr + tl.load(index_ptr + j).to(tl.int64) * n_out + offs, mask=mask, other=0.0)
        if HAS_VALUES:
            line *= tl.load(value_ptr + j)
        total += line
    if HAS_BIAS:
        total += tl.load(bias_ptr + offs, mask=mask, other=0.0)
    tl.store(out_ptr + p.to(tl.int64) * n_out + offs, total, mask=mask)


def _gather(start: torch.Tensor, index: torch.Tensor, values: torch.Tensor | None, table: torch.Tensor,
            bias: torch.Tensor | None) -> torch.Tensor:
    """``[len(start) - 1, table.shape[1]]``: per segment of ``index``, the (weighted) sum of its table rows."""
    n_seg, n_out = start.numel() - 1, table.shape[1]
    out = table.new_empty(n_seg, n_out)
    _gather_kernel[(n_seg, triton.cdiv(n_out, BLOCK))](
        start, index, index if values is None else values, table, table if bias is None else bias, out, n_out,
        HAS_VALUES=values is not None, HAS_BIAS=bias is not None, BLOCK=BLOCK, num_warps=4)
    return out


@torch.library.custom_op("spikegrad::event_linear", mutates_args=())
def event_linear_op(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, rows: torch.Tensor,
                    cols: torch.Tensor, row_start: torch.Tensor, values: torch.Tensor | None) -> torch.Tensor:
    """``x W^T + b`` from the coordinates of ``x``'s non-zeros (``rows``, ``cols``, ``row_start``, ``values``: those of
    :class:`~spikegrad.functional.event_linear.ActiveInputs` of ``x`` flattened to ``[N, in]``); ``x`` gives
    the shape and is differentiated through, its entries are not read."""
    out = _gather(row_start, cols, values, weight.t().contiguous(), None if bias is None else bias.contiguous())
    return out.view(*x.shape[:-1], weight.shape[0])


@event_linear_op.register_fake
def _(x, weight, bias, rows, cols, row_start, values):
    return x.new_empty(*x.shape[:-1], weight.shape[0])


@torch.library.custom_op("spikegrad::event_weight_gradient", mutates_args=())
def weight_gradient_op(grad: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor, values: torch.Tensor | None,
                       in_features: int) -> torch.Tensor:
    """``[out, in]``: ``sum_n x[n, i] g[n, :]`` over the active ``(n, i)`` (row-major ``rows``, ``cols``, ``values``)
    of ``grad[N, out]``, column by column in CSC order."""
    sorted_cols, order = torch.sort(cols, stable=True)
    col_ids = torch.arange(in_features + 1, dtype=cols.dtype, device=cols.device)
    col_start = torch.searchsorted(sorted_cols, col_ids, out_int32=cols.dtype == torch.int32)
    csc_values = None if values is None else values[order]
    return _gather(col_start, rows[order], csc_values, grad.contiguous(), None).t().contiguous()


@weight_gradient_op.register_fake
def _(grad, rows, cols, values, in_features):
    return grad.new_empty(grad.shape[1], in_features)


def _setup_context(ctx: Any, inputs: tuple, output: torch.Tensor) -> None:
    x, weight, bias, rows, cols, _row_start, values = inputs
    ctx.save_for_backward(weight, rows, cols, values)
    ctx.x_shape, ctx.has_bias = x.shape, bias is not None


def _backward(ctx: Any, grad_out: torch.Tensor):
    weight, rows, cols, values = ctx.saved_tensors
    grad = grad_out.reshape(-1, weight.shape[0])
    grad_x = (grad @ weight).view(ctx.x_shape) if ctx.needs_input_grad[0] else None
    grad_w = weight_gradient_op(grad, rows, cols, values, weight.shape[1]) if ctx.needs_input_grad[1] else None
    grad_b = grad.sum(0) if ctx.has_bias and ctx.needs_input_grad[2] else None
    return grad_x, grad_w, grad_b, None, None, None, None


event_linear_op.register_autograd(_backward, setup_context=_setup_context)


def supports(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> str | None:
    """Why the kernel cannot run this call (a sentence), or None when it can."""
    if x.dtype != torch.float32:
        return f"kernels run float32 only, got {x.dtype}"
    if weight.device != x.device or (bias is not None and bias.device != x.device):
        return "input and weight (or bias) are on different devices"
    if x.numel() == 0 or weight.numel() == 0:
        return "an empty input or weight"
    if triton.cdiv(weight.shape[0], BLOCK) > 65535:  # the grids' second axis: blocks of outputs (CUDA's limit in y)
        return f"at most {65535 * BLOCK} outputs, got {weight.shape[0]}"
    return None


def apply(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``x W^T + b`` on the event path, differentiable in ``x``, ``weight`` and ``bias`` as the reference is."""
    active = ActiveInputs(x.reshape(-1, x.shape[-1]))
    return event_linear_op(x, weight, bias, active.rows, active.cols, active.row_start, active.values)
